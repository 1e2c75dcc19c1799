import pytest
from django.contrib.admin import helpers
from django.contrib.messages import get_messages
from django.core import mail
from django.test import Client

from apps.catalog.models import ProductVariant
from apps.orders.models import Order, OrderStatus
from apps.payments.models import PaymentStatus
from tests.accounts.factories import UserFactory
from tests.orders.factories import advance, place_order, variant, world

CHANGELIST = "/admin/orders/order/"


@pytest.fixture
def root(db):
    return UserFactory(email="root@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(root) -> Client:
    client = Client()
    client.force_login(root)
    return client


def run_action(client: Client, action: str, *orders: Order) -> list[tuple[str, str]]:
    """Run an action of the order list on ``orders``; return the messages shown, with level."""
    response = client.post(
        CHANGELIST,
        {
            "action": action,
            helpers.ACTION_CHECKBOX_NAME: [order.pk for order in orders],
            "index": "0",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == CHANGELIST
    return [(message.level_tag, message.message) for message in get_messages(response.wsgi_request)]


def test_the_order_list_offers_a_status_action_per_status(admin_client):
    place_order()

    response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    choices = [name for name, _ in response.context["action_form"].fields["action"].choices]
    assert choices == [
        "",
        "mark_paid",
        "mark_processing",
        "mark_shipped",
        "mark_delivered",
        "mark_cancelled",
        "mark_refunded",
    ]


def test_an_order_page_shows_its_lines_payment_and_events(admin_client):
    order = advance(place_order(), OrderStatus.PAID)

    response = admin_client.get(f"{CHANGELIST}{order.pk}/change/")

    assert response.status_code == 200
    content = response.content.decode()
    assert order.number in content
    assert order.lines.get().sku in content
    assert order.payment.reference in content
    assert "Status changed" in content


def test_an_allowed_action_moves_the_order_through_the_service(
    admin_client, root, django_capture_on_commit_callbacks
):
    order = place_order(email="guest@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        shown = run_action(admin_client, "mark_paid", order)

    order.refresh_from_db()
    assert shown == [("success", "1 order(s) marked PAID.")]
    assert order.status == OrderStatus.PAID
    assert order.paid_at is not None
    assert order.payment.status == PaymentStatus.CAPTURED
    event = order.events.last()
    assert (event.type, event.from_status, event.to_status, event.note, event.actor) == (
        "STATUS_CHANGED",
        "PENDING",
        "PAID",
        "Changed in the admin.",
        root,
    )
    assert [(m.subject, m.to) for m in mail.outbox] == [
        (f"Payment received: order {order.number}", ["guest@example.com"])
    ]


def test_cancelling_in_the_admin_returns_the_stock(admin_client):
    mug = variant(stock=5)
    order = advance(place_order(lines=[(mug, 3)]), OrderStatus.PROCESSING)

    shown = run_action(admin_client, "mark_cancelled", order)

    assert shown == [("success", "1 order(s) marked CANCELLED.")]
    assert ProductVariant.objects.get(pk=mug.pk).stock_quantity == 5
    assert Order.objects.get(pk=order.pk).payment.status == PaymentStatus.REFUNDED
    assert order.events.last().type == "CANCELLED"


def test_a_forbidden_action_shows_an_error_and_changes_nothing(
    admin_client, django_capture_on_commit_callbacks
):
    order = place_order()
    before = world()

    with django_capture_on_commit_callbacks(execute=True):
        shown = run_action(admin_client, "mark_shipped", order)

    assert shown == [("error", f"{order.number}: An order cannot go from PENDING to SHIPPED.")]
    assert world() == before


def test_an_action_on_several_orders_moves_those_it_may(admin_client):
    pending = place_order(key="a")
    delivered = advance(place_order(key="b"), OrderStatus.DELIVERED)
    paid = advance(place_order(key="c"), OrderStatus.PAID)
    events_of_delivered = list(delivered.events.values_list("pk", flat=True))

    shown = run_action(admin_client, "mark_paid", pending, delivered, paid)

    assert sorted(shown) == sorted(
        [
            ("error", f"{delivered.number}: An order cannot go from DELIVERED to PAID."),
            ("error", f"{paid.number}: An order cannot go from PAID to PAID."),
            ("success", "1 order(s) marked PAID."),
        ]
    )
    assert Order.objects.get(pk=pending.pk).status == OrderStatus.PAID
    assert Order.objects.get(pk=delivered.pk).status == OrderStatus.DELIVERED
    assert list(delivered.events.values_list("pk", flat=True)) == events_of_delivered


def test_staff_without_the_change_permission_have_no_status_actions(db):
    from django.contrib.auth.models import Permission

    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
    client = Client()
    client.force_login(viewer)
    order = place_order()
    before = world()

    listing = client.get(CHANGELIST)
    response = client.post(
        CHANGELIST,
        {"action": "mark_paid", helpers.ACTION_CHECKBOX_NAME: [order.pk], "index": "0"},
    )

    assert listing.status_code == 200
    assert listing.context["action_form"] is None
    assert response.status_code == 200
    assert world() == before


def test_a_store_admin_finds_an_order_by_email_and_ships_it(db, django_capture_on_commit_callbacks):
    from django.contrib.auth.models import Group

    clerk = UserFactory(email="clerk@example.com", is_staff=True)
    clerk.groups.add(Group.objects.get(name="Store admin"))
    client = Client()
    client.force_login(clerk)
    order = advance(place_order(email="find.me@example.com"), OrderStatus.PROCESSING)
    place_order(email="someone.else@example.com", key="other")

    found = client.get(CHANGELIST, {"q": "find.me@"})
    assert found.status_code == 200
    assert list(found.context["cl"].result_list) == [order]

    with django_capture_on_commit_callbacks(execute=True):
        messages = run_action(client, "mark_shipped", order)
    assert messages == [("success", "1 order(s) marked SHIPPED.")]
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    assert order.events.last().actor == clerk
    assert "Order shipped: order" in mail.outbox[-1].subject
