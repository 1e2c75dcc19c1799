from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from apps.notifications import services
from apps.notifications.models import EMAILED_STATUSES, STATUS_MESSAGES, Notification
from apps.orders.models import Order
from tests.accounts.factories import UserFactory
from tests.orders.factories import place_order


def make_notifications(user, count: int, **kwargs) -> list[Notification]:
    return [
        Notification.objects.create(user=user, kind="NEWS", title=f"Note {n}", **kwargs)
        for n in range(count)
    ]


def read_states(user) -> list[tuple[str, bool]]:
    return [
        (note.title, note.read_at is not None)
        for note in Notification.objects.filter(user=user).order_by("title")
    ]


def with_status(order: Order, status: str) -> Order:
    Order.objects.filter(pk=order.pk).update(status=status)
    return Order.objects.get(pk=order.pk)


# --- notify_order_placed ----------------------------------------------------------------------


def test_an_order_placed_by_a_customer_notifies_them_and_emails_after_commit(
    db, customer, django_capture_on_commit_callbacks
):
    order = place_order(user=customer)
    Notification.objects.all().delete()

    with django_capture_on_commit_callbacks() as callbacks:
        services.notify_order_placed(order=order)
        assert mail.outbox == []

    assert list(Notification.objects.values_list("user", "order", "kind", "title", "body")) == [
        (
            customer.pk,
            order.pk,
            "ORDER_PLACED",
            "Order received",
            f"Thank you! We received order {order.number}.",
        )
    ]
    assert len(callbacks) == 1
    assert mail.outbox == []
    callbacks[0]()
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

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.notify_order_status(order=order)

    title, body = STATUS_MESSAGES[status]
    assert list(Notification.objects.values_list("user", "order", "kind", "title", "body")) == [
        (customer.pk, order.pk, f"ORDER_{status}", title, body.format(number=order.number))
    ]
    emailed = status in {"PAID", "SHIPPED", "DELIVERED", "CANCELLED", "REFUNDED"}
    assert len(callbacks) == (1 if emailed else 0)
    assert [(m.subject, m.to) for m in mail.outbox] == (
        [(f"{title}: order {order.number}", ["casey@example.com"])] if emailed else []
    )


def test_the_emailed_statuses_are_those_of_the_api():
    assert {"PAID", "SHIPPED", "DELIVERED", "CANCELLED", "REFUNDED"} == EMAILED_STATUSES
    assert set(STATUS_MESSAGES) == EMAILED_STATUSES | {"PROCESSING"}


def test_a_pending_order_has_no_status_message(db, customer, django_capture_on_commit_callbacks):
    order = place_order(user=customer)
    Notification.objects.all().delete()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.notify_order_status(order=order)

    assert Notification.objects.count() == 0
    assert callbacks == []
    assert mail.outbox == []


# --- notifications_mark_read ------------------------------------------------------------------


def test_mark_read_marks_the_given_notifications_of_the_user(db, customer):
    first, _, third = make_notifications(customer, 3)
    start = timezone.now()

    count = services.notifications_mark_read(user=customer, ids=[first.pk, third.pk])

    assert count == 2
    assert read_states(customer) == [("Note 0", True), ("Note 1", False), ("Note 2", True)]
    first.refresh_from_db()
    assert start <= first.read_at <= timezone.now()


def test_mark_read_never_touches_another_users_notifications(db, customer):
    other = UserFactory()
    (theirs,) = make_notifications(other, 1)
    make_notifications(customer, 2)

    count = services.notifications_mark_read(user=customer, ids=[theirs.pk, 999999])

    assert count == 0
    assert read_states(other) == [("Note 0", False)]
    assert read_states(customer) == [("Note 0", False), ("Note 1", False)]


def test_mark_read_without_ids_marks_all_of_the_users_notifications(db, customer):
    other = UserFactory()
    make_notifications(other, 2)
    make_notifications(customer, 3)

    assert services.notifications_mark_read(user=customer) == 3

    assert read_states(customer) == [("Note 0", True), ("Note 1", True), ("Note 2", True)]
    assert read_states(other) == [("Note 0", False), ("Note 1", False)]


def test_mark_read_keeps_the_first_read_time(db, customer):
    earlier = timezone.now() - timedelta(days=2)
    (read,) = make_notifications(customer, 1, read_at=earlier)

    assert services.notifications_mark_read(user=customer, ids=[read.pk]) == 0
    assert services.notifications_mark_read(user=customer) == 0

    read.refresh_from_db()
    assert read.read_at == earlier


def test_mark_read_with_no_ids_given_as_a_list_marks_nothing(db, customer):
    make_notifications(customer, 2)

    assert services.notifications_mark_read(user=customer, ids=[]) == 0
    assert read_states(customer) == [("Note 0", False), ("Note 1", False)]
