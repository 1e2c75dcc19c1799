"""seed_demo's couriers and its live demo deliveries (apps/demo/delivery.py): made through the
delivery services, one in each state, and made once."""

import re
from decimal import Decimal
from io import StringIO

from django.contrib.auth import authenticate
from django.core import mail
from django.core.management import call_command

from apps.accounts.models import User
from apps.catalog.models import ProductVariant, StockMovement
from apps.delivery import codes
from apps.delivery.models import (
    CashHandIn,
    Delivery,
    DeliveryAgent,
    DeliveryEvent,
    DeliveryStatus,
    FailureReason,
)
from apps.demo.delivery import COURIERS, DELIVERIES, codes_made
from apps.demo.management.commands.seed_demo import DEMO_CUSTOMER
from apps.notifications.models import Notification
from apps.orders.models import Order, OrderStatus
from apps.payments.models import PaymentMethod, PaymentStatus
from tests.conftest import GraphQLClient

DEMO = {"order__email__endswith": "@delivery.silkcart.test"}
S = DeliveryStatus
# The events each demo delivery has, in order: the steps it was taken through.
EVENTS = {
    S.UNASSIGNED: [],
    S.ASSIGNED: [S.ASSIGNED],
    S.PICKED_UP: [S.ASSIGNED, S.PICKED_UP],
    S.OUT_FOR_DELIVERY: [S.ASSIGNED, S.PICKED_UP, S.OUT_FOR_DELIVERY],
    S.DELIVERED: [S.ASSIGNED, S.PICKED_UP, S.OUT_FOR_DELIVERY, S.DELIVERED],
    S.FAILED: [S.ASSIGNED, S.PICKED_UP, S.OUT_FOR_DELIVERY, S.FAILED],
    S.RETURNED: [S.ASSIGNED, S.PICKED_UP, S.OUT_FOR_DELIVERY, S.FAILED, S.RETURNED],
    S.CANCELLED: [S.ASSIGNED, S.CANCELLED],
}
ORDER_STATUS = {
    S.UNASSIGNED: OrderStatus.PAID,
    S.PICKED_UP: OrderStatus.SHIPPED,
    S.OUT_FOR_DELIVERY: OrderStatus.SHIPPED,
    S.DELIVERED: OrderStatus.DELIVERED,
    S.FAILED: OrderStatus.SHIPPED,
    S.RETURNED: OrderStatus.REFUNDED,  # paid by card: refunded as the goods came back
    S.CANCELLED: OrderStatus.CANCELLED,
}
LOGIN = """
mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) { __typename ... on User { email } }
}
"""
MY_DELIVERIES = "{ myDeliveries { totalCount edges { node { status } } } }"


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_the_demo_couriers_can_sign_in_and_see_their_deliveries(db):
    output = seed()

    for demo in COURIERS:
        assert f"courier:  {demo.email} / {demo.password}" in output
        user = authenticate(email=demo.email, password=demo.password)
        assert user is not None
        assert (user.first_name, user.last_name) == (demo.first_name, demo.last_name)
        assert (user.is_staff, user.is_superuser) == (False, False)
        assert list(user.groups.values_list("name", flat=True)) == ["Delivery agent"]
        assert user.has_perm("delivery.deliver")
        agent = DeliveryAgent.objects.get(user=user)
        assert (agent.phone, agent.vehicle, agent.is_active) == (demo.phone, demo.vehicle, True)

        client = GraphQLClient()
        signed_in = client(LOGIN, {"email": demo.email, "password": demo.password})
        assert signed_in.data["login"] == {"__typename": "User", "email": demo.email}
        mine = client(MY_DELIVERIES).data["myDeliveries"]
        assert mine["totalCount"] == Delivery.objects.filter(agent=agent).count() > 0
    assert DeliveryAgent.objects.count() == 2
    assert "deliveries: 2 couriers, 9 demo orders (9 placed now)" in output


def test_seed_demo_has_a_demo_delivery_in_each_state_with_its_events(
    db, django_capture_on_commit_callbacks
):
    # Each demo delivery is walked in a transaction of its own, and its emails are jobs that
    # run once it commits: the test's transaction never does, so run them as it would.
    with django_capture_on_commit_callbacks(execute=True):
        seed()

    deliveries = list(Delivery.objects.filter(**DEMO).select_related("order__payment", "agent"))
    assert sorted(d.status for d in deliveries) == sorted(demo.status for demo in DELIVERIES)
    assert {d.status for d in deliveries} == set(DeliveryStatus.values)
    couriers = set(DeliveryAgent.objects.filter(user__email__in=[c.email for c in COURIERS]))
    for delivery in deliveries:
        order = delivery.order
        events = list(delivery.events.order_by("created_at", "pk"))
        assert [e.status for e in events] == EVENTS[delivery.status], delivery.status
        # Placed through checkout: a real order number, its PLACED event, its buyer's account.
        assert order.number.startswith("SC-")
        assert order.events.filter(type="PLACED").exists()
        assert order.user.email == order.email
        assert order.requires_shipping and order.shipping_address["city"] == "Paris"
        if delivery.status == S.UNASSIGNED:
            assert delivery.agent is None
        else:
            assert delivery.agent in couriers
        expected = ORDER_STATUS.get(delivery.status)
        if delivery.status == S.ASSIGNED:  # cash on delivery: ships unpaid, nothing moved yet
            expected = OrderStatus.PENDING
        assert order.status == expected, delivery.status
        # The code of an attempt is kept only while it is under way (a keyed hash).
        assert bool(delivery.code_hash) == (delivery.status == S.OUT_FOR_DELIVERY)
        assert delivery.attempts == (
            1 if delivery.status in (S.OUT_FOR_DELIVERY, S.DELIVERED, S.FAILED, S.RETURNED) else 0
        )
        if delivery.status in (S.PICKED_UP, S.OUT_FOR_DELIVERY, S.DELIVERED, S.FAILED):
            assert None not in (delivery.latitude, delivery.longitude, delivery.located_at)
        if delivery.status == S.CANCELLED:  # by its buyer, a paid card order: refunded
            assert order.payment.status == PaymentStatus.REFUNDED
            assert events[-1].note == "Order cancelled."

    out = next(d for d in deliveries if d.status == S.OUT_FOR_DELIVERY)
    assert (round(out.latitude, 4), round(out.longitude, 4)) == (48.8584, 2.3030)
    failed = next(d for d in deliveries if d.status == S.FAILED)
    assert failed.failure_reason == FailureReason.NOBODY_HOME
    assert failed.events.get(status=S.FAILED).note == "Rang twice and called: nobody answered."
    returned = next(d for d in deliveries if d.status == S.RETURNED)
    assert returned.failure_reason == FailureReason.WRONG_ADDRESS

    delivered = {d.order.payment.method: d for d in deliveries if d.status == S.DELIVERED}
    assert set(delivered) == {PaymentMethod.CARD_PLACEHOLDER, PaymentMethod.CASH_ON_DELIVERY}
    card, cash = (
        delivered[PaymentMethod.CARD_PLACEHOLDER],
        delivered[PaymentMethod.CASH_ON_DELIVERY],
    )
    assert (card.cash_to_collect, card.cash_collected) == (Decimal("0.00"), None)
    # Cash on delivery: exactly the total collected, the order paid as it was delivered, the
    # cash still with the courier (the tour hands it in).
    assert cash.order.pays_on_delivery
    assert cash.cash_collected == cash.cash_to_collect == cash.order.total
    assert cash.order.paid_at is not None and cash.order.payment.status == PaymentStatus.CAPTURED
    assert cash.hand_in is None
    for each in (card, cash):
        assert each.delivered_at is not None
        assert each.recipient_name == f"{each.order.user.first_name} {each.order.user.last_name}"
        picked_up = each.events.get(status=S.PICKED_UP).created_at
        assert picked_up <= each.delivered_at
        handed_over = each.events.get(status=S.DELIVERED)
        assert (handed_over.latitude, handed_over.longitude) == (each.latitude, each.longitude)
    assert "Cash collected: " in cash.events.get(status=S.DELIVERED).note

    # Each attempt's code went to its buyer in the app; the email goes once the step commits,
    # to an attempt still under way: the one out for delivery, whose code opens it.
    started = DeliveryEvent.objects.filter(
        status=S.OUT_FOR_DELIVERY, delivery__order__email__endswith="@delivery.silkcart.test"
    )
    assert started.count() == 5
    assert Notification.objects.filter(kind="DELIVERY_ON_THE_WAY").count() == 5
    assert Notification.objects.filter(kind="DELIVERY_ASSIGNED").count() == 8
    assert Notification.objects.filter(kind="DELIVERY_CANCELLED").count() == 1
    sent = [m for m in mail.outbox if m.to == [out.order.email] and "code" in m.body.lower()]
    assert len(sent) == 1
    code = re.search(r"\b(\d{6})\b", sent[0].body).group(1)
    assert codes.code_matches(
        delivery_id=out.pk, attempt=out.attempts, code=code, stored=out.code_hash
    )


def test_a_second_seed_adds_no_courier_delivery_or_order(db):
    seed()

    def counts() -> dict[str, int]:
        return {
            model.__name__: model.objects.count()
            for model in (
                User,
                DeliveryAgent,
                Delivery,
                DeliveryEvent,
                CashHandIn,
                Order,
                Notification,
                StockMovement,
            )
        }

    before = counts()
    deliveries = list(Delivery.objects.order_by("pk").values())
    stock = dict(ProductVariant.objects.values_list("sku", "stock_quantity"))
    agent = DeliveryAgent.objects.get(user__email=COURIERS[0].email)
    DeliveryAgent.objects.filter(pk=agent.pk).update(phone="+1 555 0100", is_active=False)
    User.objects.filter(pk=agent.user_id).update(password="!")

    output = seed()

    assert counts() == before
    assert list(Delivery.objects.order_by("pk").values()) == deliveries
    assert dict(ProductVariant.objects.values_list("sku", "stock_quantity")) == stock
    assert "deliveries: 2 couriers, 9 demo orders (0 placed now)" in output
    agent.refresh_from_db()
    assert (agent.phone, agent.is_active) == (COURIERS[0].phone, True)
    assert authenticate(email=COURIERS[0].email, password=COURIERS[0].password) is not None


def test_the_demo_deliveries_leave_the_tour_data_as_it_was(db):
    seed()

    # The demo customer bought nothing; the stock is the catalog's (what the orders took was
    # put back, as a movement of its own).
    assert not Order.objects.filter(user__email=DEMO_CUSTOMER[0]).exists()
    restocked = StockMovement.objects.filter(reason="Demo deliveries: restocked")
    assert restocked.exists()
    teapot = ProductVariant.objects.get(sku="HERITAGE-TEAPOT-IVORY")
    assert teapot.stock_quantity == 15


def test_codes_made_records_the_codes_and_puts_the_generator_back():
    real = codes.new_code
    with codes_made() as made:
        first, second = codes.new_code(), codes.new_code()
    assert made == [first, second]
    assert all(len(code) == 6 and code.isdigit() for code in made)
    assert codes.new_code is real
