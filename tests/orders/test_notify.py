"""What an order's buyer hears: in-app notifications, emails, and events for its followers."""

import pytest
from django.core import mail

from apps.core import events
from apps.notifications.models import Notification
from apps.orders import services
from apps.orders.messages import EMAILED_STATUSES, STATUS_MESSAGES, status_message
from apps.orders.models import Order
from tests.orders.factories import place_order


def with_status(order: Order, status: str) -> Order:
    Order.objects.filter(pk=order.pk).update(status=status)
    return Order.objects.get(pk=order.pk)


def notifications() -> list[tuple]:
    return list(
        Notification.objects.values_list(
            "user", "target_type__model", "target_id", "kind", "title", "body"
        )
    )


# --- notify_order_placed ----------------------------------------------------------------------


def test_an_order_placed_by_a_customer_notifies_them_and_emails_after_commit(
    db, customer, django_capture_on_commit_callbacks
):
    order = place_order(user=customer)
    Notification.objects.all().delete()

    with django_capture_on_commit_callbacks() as callbacks:
        services.notify_order_placed(order=order)
        assert mail.outbox == []

    assert notifications() == [
        (
            customer.pk,
            "order",
            order.pk,
            "ORDER_PLACED",
            "Order received",
            f"Thank you! We received order {order.number}.",
        )
    ]
    assert mail.outbox == []
    for callback in callbacks:
        callback()
    assert [(m.subject, m.to) for m in mail.outbox] == [
        (f"Your SilkCart order {order.number}", ["casey@example.com"])
    ]


def test_an_order_placed_by_a_guest_is_only_emailed(db, django_capture_on_commit_callbacks):
    order = place_order(email="guest@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        services.notify_order_placed(order=order)

    assert Notification.objects.count() == 0
    assert [m.to for m in mail.outbox] == [["guest@example.com"]]


# --- notify_order_status ----------------------------------------------------------------------


@pytest.mark.parametrize("status", sorted(STATUS_MESSAGES))
def test_a_status_change_notifies_the_customer_and_emails_the_important_ones(
    db, customer, status, django_capture_on_commit_callbacks
):
    order = with_status(place_order(user=customer), status)
    Notification.objects.all().delete()

    with django_capture_on_commit_callbacks(execute=True):
        services.notify_order_status(order=order)

    title, body = STATUS_MESSAGES[status]
    assert notifications() == [
        (customer.pk, "order", order.pk, f"ORDER_{status}", title, body.format(number=order.number))
    ]
    emailed = status in {"PAID", "SHIPPED", "DELIVERED", "CANCELLED", "REFUNDED"}
    assert [(m.subject, m.to) for m in mail.outbox] == (
        [(f"{title}: order {order.number}", ["casey@example.com"])] if emailed else []
    )


def test_the_emailed_statuses_are_those_of_the_api():
    assert {"PAID", "SHIPPED", "DELIVERED", "CANCELLED", "REFUNDED"} == EMAILED_STATUSES
    assert set(STATUS_MESSAGES) == EMAILED_STATUSES | {"PROCESSING"}


def test_a_pending_order_has_no_status_message(
    db, customer, published, django_capture_on_commit_callbacks
):
    order = place_order(user=customer)
    Notification.objects.all().delete()
    mail.outbox.clear()
    published.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.notify_order_status(order=order)

    assert Notification.objects.count() == 0
    assert mail.outbox == []
    # Its followers still hear that it changed.
    assert [(event.type, event.groups) for event in published] == [
        ("order.updated", (f"order:{order.pk}",))
    ]


def test_every_status_change_tells_the_order_s_followers_after_commit(
    db, customer, published, django_capture_on_commit_callbacks
):
    order = place_order(user=customer)
    published.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.order_transition(order=order, status="PAID")
        assert [event.type for event in published] == []

    assert [event for event in published if event.type == "order.updated"] == [
        events.Event(
            type="order.updated",
            groups=(f"order:{order.pk}",),
            payload={"order_id": order.pk, "status": "PAID"},
        )
    ]


def test_an_order_with_nothing_to_ship_is_complete_when_delivered(db, customer):
    order = with_status(place_order(user=customer), "DELIVERED")
    Order.objects.filter(pk=order.pk).update(requires_shipping=False, shipping_address=None)
    order.refresh_from_db()

    message = status_message(order, "DELIVERED")

    assert (message.label, message.title, message.body) == (
        "Complete",
        "Order complete",
        f"Order {order.number} is complete. Thank you!",
    )
