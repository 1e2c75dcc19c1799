from decimal import Decimal
from unittest.mock import patch

import pytest
from django.core.exceptions import ValidationError

from apps.catalog.models import ProductVariant, StockMovement
from apps.delivery import codes, services
from apps.delivery.models import (
    _MOVES,
    REASSIGNABLE,
    Delivery,
    DeliveryEvent,
    DeliveryStatus,
)
from apps.notifications.models import Notification
from apps.orders import services as order_services
from apps.orders.models import OrderEvent, OrderStatus
from apps.payments.models import PaymentStatus
from tests.catalog.factories import service_variant
from tests.delivery.factories import (
    agent,
    card_order,
    cash_order,
    delivery_of,
    fresh,
    start,
    walk,
    world,
)
from tests.orders.factories import ADDRESS, NO_ADDRESS, place_order, variant

S = DeliveryStatus
ALLOWED = [(before, after) for before in S for after in S if after in _MOVES[before]]
# Every move the state machine refuses that some operation asks for. Nothing asks for
# UNASSIGNED, and assigning a delivery the goods of which are with a courier hands it to
# another one without moving it (test_reassigning_keeps_the_status_and_changes_the_agent).
REFUSED = [
    (before, after)
    for before in S
    for after in S
    if after not in _MOVES[before]
    and after != S.UNASSIGNED
    and not (after == S.ASSIGNED and before in REASSIGNABLE)
]
AGENT_STEPS = {S.PICKED_UP, S.OUT_FOR_DELIVERY, S.DELIVERED, S.FAILED}


def codes_of(error: pytest.ExceptionInfo) -> dict[str | None, list[str]]:
    """The codes of a ValidationError by field (``None`` for an error of the whole input)."""
    value = error.value
    if hasattr(value, "error_dict"):
        return {field: [e.code for e in errors] for field, errors in value.error_dict.items()}
    return {None: [e.code for e in value.error_list]}


def move(delivery: Delivery, to: str, *, courier, code: str | None):
    """Ask for the move of ``delivery`` to ``to``, as the operation that makes it does."""
    if to == S.ASSIGNED:
        return services.delivery_assign(delivery=delivery, agent=courier)
    if to == S.PICKED_UP:
        return services.delivery_pick_up(delivery=delivery, agent=courier)
    if to == S.OUT_FOR_DELIVERY:
        return services.delivery_start(delivery=delivery, agent=courier)
    if to == S.DELIVERED:
        return services.delivery_complete(
            delivery=delivery,
            agent=courier,
            code=code or "000000",
            cash_collected=delivery.cash_to_collect,
        )
    if to == S.FAILED:
        return services.delivery_fail(delivery=delivery, agent=courier, reason="NOBODY_HOME")
    if to == S.RETURNED:
        return services.delivery_return(delivery=delivery)
    assert to == S.CANCELLED
    return order_services.order_cancel(order=delivery.order, actor=None, as_staff=True)


def walked(status: str, **order_kwargs):
    """A cash order's delivery taken to ``status``; with its courier and last code."""
    delivery = delivery_of(cash_order(lines=[(variant(), 1)], **order_kwargs))
    courier, code = walk(delivery, status)
    return fresh(delivery), courier or agent(first_name="Alex"), code


def _start_with(delivery: Delivery, courier, code: str) -> str:
    """Set the delivery out with the code ``code``: two attempts with codes known apart."""
    with patch.object(codes, "new_code", return_value=code):
        services.delivery_start(delivery=delivery, agent=courier)
    return code


def statuses(delivery: Delivery) -> list[str]:
    return list(delivery.events.values_list("status", flat=True))


def order_moves(order) -> list[tuple[str, str, int | None, str]]:
    return list(
        OrderEvent.objects.filter(order=order)
        .order_by("pk")
        .values_list("from_status", "to_status", "actor_id", "note")
    )


# --- created with the order -------------------------------------------------------------------


def test_an_order_with_goods_gets_an_unassigned_delivery_when_placed(db):
    order = card_order(paid=False)

    delivery = delivery_of(order)
    assert (delivery.status, delivery.agent, delivery.attempts) == (S.UNASSIGNED, None, 0)
    assert delivery.cash_to_collect == Decimal("0.00")
    assert (delivery.cash_collected, delivery.code_hash, delivery.code_failures) == (None, "", 0)
    assert (delivery.latitude, delivery.longitude, delivery.located_at) == (None, None, None)
    assert statuses(delivery) == []


def test_a_cash_order_delivery_collects_the_order_total(db):
    order = cash_order(lines=[(variant(price="12.50"), 2)])

    assert order.total == Decimal("30.00")  # 25.00 and 5.00 of shipping
    assert delivery_of(order).cash_to_collect == Decimal("30.00")


def test_an_order_of_services_only_has_no_delivery(db):
    order = place_order(lines=[(service_variant(), 1)], shipping=NO_ADDRESS, billing=ADDRESS)

    assert order.requires_shipping is False
    assert Delivery.objects.count() == 0


def test_an_order_of_goods_and_services_gets_one_delivery(db):
    order = place_order(lines=[(variant(), 1), (service_variant(), 1)])

    assert list(Delivery.objects.values_list("order_id", flat=True)) == [order.pk]


# --- the state machine ------------------------------------------------------------------------


@pytest.mark.parametrize(("before", "after"), ALLOWED)
def test_every_allowed_move_is_made_with_its_event(db, before, after):
    delivery, courier, code = walked(before)
    events = statuses(delivery)

    move(delivery, after, courier=courier, code=code)

    delivery = fresh(delivery)
    assert delivery.status == after
    assert statuses(delivery) == [*events, after]


@pytest.mark.parametrize(("before", "after"), REFUSED)
def test_every_refused_move_changes_nothing(db, before, after):
    delivery, courier, code = walked(before)
    snapshot = world()

    with pytest.raises(ValidationError) as error:
        move(delivery, after, courier=courier, code=code)

    # An UNASSIGNED delivery is nobody's: to any courier it is not found.
    expected = "not_found" if before == S.UNASSIGNED and after in AGENT_STEPS else None
    if expected:
        assert codes_of(error) == {"id": ["not_found"]}
    else:
        assert list(codes_of(error).values()) == [["invalid_transition"]]
    assert world() == snapshot


@pytest.mark.parametrize("status", sorted(REASSIGNABLE))
def test_reassigning_keeps_the_status_and_changes_the_agent(db, status):
    delivery, courier, _code = walked(status)
    other = agent(first_name="Robin", last_name="Vale")

    services.delivery_assign(delivery=delivery, agent=other)

    delivery = fresh(delivery)
    assert (delivery.status, delivery.agent) == (status, other)
    event = delivery.events.last()
    assert (event.status, event.note) == (status, "Reassigned from Dana Rider to Robin Vale.")
    assert Notification.objects.filter(
        user=other.user, kind=Notification.Kind.DELIVERY_ASSIGNED
    ).exists()
    with pytest.raises(ValidationError) as error:  # the first courier's no more
        services.delivery_fail(delivery=delivery, agent=courier, reason="OTHER")
    assert codes_of(error) == {"id": ["not_found"]}


def test_assigning_again_to_the_same_agent_changes_nothing(db):
    delivery, courier, _code = walked(S.ASSIGNED)
    snapshot = world()

    services.delivery_assign(delivery=delivery, agent=courier)

    assert world() == snapshot


def test_assigning_tells_the_agent(db):
    order = card_order()
    courier = agent()

    services.delivery_assign(delivery=delivery_of(order), agent=courier)

    notification = Notification.objects.get(user=courier.user)
    assert (notification.kind, notification.title, notification.body) == (
        Notification.Kind.DELIVERY_ASSIGNED,
        "A delivery for you",
        f"Order {order.number}, to Paris.",
    )
    assert statuses(delivery_of(order)) == [S.ASSIGNED]
    assert delivery_of(order).events.get().note == "Assigned to Dana Rider."


# --- the order follows ------------------------------------------------------------------------


def test_picking_up_ships_a_paid_order_through_processing(db):
    order = card_order()
    delivery = delivery_of(order)
    courier, _ = walk(delivery, S.ASSIGNED)

    services.delivery_pick_up(delivery=delivery, agent=courier)

    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    assert order_moves(order)[-2:] == [
        (OrderStatus.PAID, OrderStatus.PROCESSING, courier.user_id, "Picked up."),
        (OrderStatus.PROCESSING, OrderStatus.SHIPPED, courier.user_id, "Picked up."),
    ]
    event = fresh(delivery).events.last()
    assert (event.status, event.actor_id) == (S.PICKED_UP, courier.user_id)


def test_picking_up_ships_a_cash_order_unpaid(db):
    order = cash_order()
    delivery = delivery_of(order)

    walk(delivery, S.PICKED_UP)

    order.refresh_from_db()
    assert (order.status, order.paid_at, order.payment.status) == (
        OrderStatus.SHIPPED,
        None,
        PaymentStatus.PENDING,
    )
    assert [(f, t) for f, t, _actor, _note in order_moves(order)] == [
        ("", OrderStatus.PENDING),
        (OrderStatus.PENDING, OrderStatus.PROCESSING),
        (OrderStatus.PROCESSING, OrderStatus.SHIPPED),
    ]


def test_an_unpaid_card_order_cannot_be_picked_up(db):
    order = card_order(paid=False)
    delivery = delivery_of(order)
    courier, _ = walk(delivery, S.ASSIGNED)
    snapshot = world()

    with pytest.raises(ValidationError) as error:
        services.delivery_pick_up(delivery=delivery, agent=courier)

    assert codes_of(error) == {None: ["invalid_transition"]}
    assert error.value.messages == [f"Order {order.number} is pending: it cannot ship yet."]
    assert world() == snapshot


def test_delivering_a_paid_order_delivers_it(db):
    order = card_order()
    paid_at = order.paid_at
    delivery = delivery_of(order)

    walk(delivery, S.DELIVERED)

    order.refresh_from_db()
    assert (order.status, order.paid_at, order.payment.status) == (
        OrderStatus.DELIVERED,
        paid_at,
        PaymentStatus.CAPTURED,
    )
    delivery = fresh(delivery)
    assert (delivery.cash_collected, delivery.code_hash) == (None, "")
    assert delivery.delivered_at is not None


def test_delivering_a_cash_order_pays_it(db):
    order = cash_order()
    delivery = delivery_of(order)
    courier, _ = walk(delivery, S.PICKED_UP)
    code = start(delivery, courier)
    assert order.paid_at is None

    services.delivery_complete(
        delivery=delivery,
        agent=courier,
        code=code,
        cash_collected=order.total,
        recipient_name="  Casey  ",
    )

    order.refresh_from_db()
    delivery = fresh(delivery)
    assert order.status == OrderStatus.DELIVERED
    assert order.paid_at is not None
    assert order.payment.status == PaymentStatus.CAPTURED
    assert (delivery.status, delivery.cash_collected, delivery.recipient_name) == (
        S.DELIVERED,
        order.total,
        "Casey",
    )
    event = delivery.events.last()
    assert (event.status, event.note, event.actor_id) == (
        S.DELIVERED,
        f"Received by Casey. Cash collected: {order.total} USD.",
        courier.user_id,
    )
    assert [t for _f, t, _a, _n in order_moves(order)][-1:] == [OrderStatus.DELIVERED]


def test_returning_a_paid_order_restocks_it_and_refunds_it(db):
    mug = variant(stock=10)
    order = card_order(lines=[(mug, 2)])
    delivery = delivery_of(order)
    walk(delivery, S.FAILED)
    assert ProductVariant.objects.get(pk=mug.pk).stock_quantity == 8

    services.delivery_return(delivery=delivery, note="  Back on the shelf  ")

    order.refresh_from_db()
    assert (order.status, order.payment.status) == (OrderStatus.REFUNDED, PaymentStatus.REFUNDED)
    assert ProductVariant.objects.get(pk=mug.pk).stock_quantity == 10
    assert list(
        StockMovement.objects.filter(variant=mug).order_by("pk").values_list("kind", "delta")
    ) == [("sale", -2), ("return", 2)]
    delivery = fresh(delivery)
    assert (delivery.status, delivery.events.last().note) == (S.RETURNED, "Back on the shelf")


def test_returning_a_cash_order_restocks_it_and_cancels_it(db):
    mug = variant(stock=10)
    order = cash_order(lines=[(mug, 3)])
    delivery = delivery_of(order)
    walk(delivery, S.FAILED)

    services.delivery_return(delivery=delivery)

    order.refresh_from_db()
    assert (order.status, order.paid_at, order.payment.status) == (
        OrderStatus.CANCELLED,
        None,
        PaymentStatus.VOIDED,
    )
    assert ProductVariant.objects.get(pk=mug.pk).stock_quantity == 10
    delivery = fresh(delivery)
    assert (delivery.status, delivery.events.last().note) == (S.RETURNED, "Returned to the shop.")


# --- the order's own changes ------------------------------------------------------------------


@pytest.mark.parametrize("status", [S.ASSIGNED, S.PICKED_UP, S.OUT_FOR_DELIVERY, S.FAILED])
def test_cancelling_the_order_cancels_the_delivery_and_tells_its_agent(db, status):
    delivery, courier, _code = walked(status)
    order = delivery.order

    order_services.order_cancel(order=order, actor=None, as_staff=True, reason="Out of stock")

    delivery = fresh(delivery)
    assert (delivery.status, delivery.code_hash, delivery.agent) == (S.CANCELLED, "", courier)
    event = delivery.events.last()
    assert (event.status, event.note) == (S.CANCELLED, "Order cancelled.")
    told = Notification.objects.filter(user=courier.user, kind=Notification.Kind.DELIVERY_CANCELLED)
    assert [(n.title, n.body) for n in told] == [
        (
            "Delivery cancelled",
            f"Order {order.number} was cancelled: bring its goods back to the shop.",
        )
    ]


def test_cancelling_an_order_not_yet_assigned_cancels_its_delivery_and_tells_no_agent(db):
    order = card_order()

    order_services.order_cancel(order=order, actor=None, as_staff=True)

    delivery = delivery_of(order)
    assert delivery.status == S.CANCELLED
    assert statuses(delivery) == [S.CANCELLED]
    assert not Notification.objects.filter(kind=Notification.Kind.DELIVERY_CANCELLED).exists()


def test_refunding_a_shipped_order_cancels_its_delivery(db):
    order = card_order()
    delivery = delivery_of(order)
    walk(delivery, S.PICKED_UP)

    order_services.order_transition(order=order, status=OrderStatus.REFUNDED)

    delivery = fresh(delivery)
    assert delivery.status == S.CANCELLED
    assert delivery.events.last().note == "Order refunded."


def test_refunding_a_delivered_order_leaves_its_delivery_alone(db):
    order = card_order()
    delivery = delivery_of(order)
    walk(delivery, S.DELIVERED)
    before = list(Delivery.objects.values())
    events = list(DeliveryEvent.objects.values())

    order_services.order_transition(order=order, status=OrderStatus.REFUNDED)

    assert list(Delivery.objects.values()) == before
    assert list(DeliveryEvent.objects.values()) == events


# --- attempts ---------------------------------------------------------------------------------


def test_a_failed_attempt_can_start_again_with_a_new_code(db):
    delivery, courier, _ = walked(S.ASSIGNED)
    services.delivery_pick_up(delivery=delivery, agent=courier)
    first = _start_with(delivery, courier, "111111")
    first_hash = fresh(delivery).code_hash
    services.delivery_fail(delivery=delivery, agent=courier, reason="NOBODY_HOME")
    assert fresh(delivery).code_hash == ""  # the first code opens nothing any more

    second = _start_with(delivery, courier, "222222")

    delivery = fresh(delivery)
    assert (delivery.status, delivery.attempts, delivery.failure_reason) == (
        S.OUT_FOR_DELIVERY,
        2,
        "",
    )
    assert delivery.code_hash not in ("", first_hash)
    assert [e.note for e in delivery.events.filter(status=S.OUT_FOR_DELIVERY)] == [
        "Attempt 1.",
        "Attempt 2.",
    ]
    with pytest.raises(ValidationError) as error:
        services.delivery_complete(
            delivery=delivery, agent=courier, code=first, cash_collected=delivery.cash_to_collect
        )
    assert codes_of(error) == {"code": ["delivery_code_invalid"]}
    services.delivery_complete(
        delivery=delivery, agent=courier, code=second, cash_collected=delivery.cash_to_collect
    )
    assert fresh(delivery).status == S.DELIVERED


def test_the_same_digits_on_another_attempt_have_another_hash(db):
    delivery, courier, _ = walked(S.PICKED_UP)
    _start_with(delivery, courier, "424242")
    first_hash = fresh(delivery).code_hash
    services.delivery_fail(delivery=delivery, agent=courier, reason="REFUSED")

    _start_with(delivery, courier, "424242")

    assert fresh(delivery).code_hash != first_hash
    assert fresh(delivery).code_hash == codes.code_hash(
        delivery_id=delivery.pk, attempt=2, code="424242"
    )


def test_no_attempt_beyond_the_maximum(db, settings):
    settings.DELIVERY_MAX_ATTEMPTS = 2
    delivery, courier, _ = walked(S.FAILED)
    start(delivery, courier)
    services.delivery_fail(delivery=delivery, agent=courier, reason="NOBODY_HOME")
    snapshot = world()

    with pytest.raises(ValidationError) as error:
        services.delivery_start(delivery=delivery, agent=courier)

    assert codes_of(error) == {None: ["invalid_transition"]}
    assert error.value.messages == ["2 attempts were made: the shop decides what happens next."]
    assert world() == snapshot
    services.delivery_return(delivery=delivery)  # what the shop may do
    assert fresh(delivery).status == S.RETURNED


def test_a_failed_attempt_keeps_its_reason_and_tells_the_buyer(db, customer):
    delivery, courier, _ = walked(S.OUT_FOR_DELIVERY, user=customer)

    services.delivery_fail(delivery=delivery, agent=courier, reason="WRONG_ADDRESS", note="")

    delivery = fresh(delivery)
    assert (delivery.status, delivery.failure_reason, delivery.code_hash) == (
        S.FAILED,
        "WRONG_ADDRESS",
        "",
    )
    assert delivery.events.last().note == "Wrong address"
    told = Notification.objects.get(user=customer, kind=Notification.Kind.DELIVERY_FAILED)
    assert told.body == (
        f"We could not deliver order {delivery.order.number} (wrong address). We will be in touch."
    )


# --- reassigning, inactive agents -------------------------------------------------------------


def test_reassigning_resets_the_wrong_code_count(db):
    delivery, courier, code = walked(S.OUT_FOR_DELIVERY)
    for _ in range(2):
        with pytest.raises(ValidationError):
            services.delivery_complete(delivery=delivery, agent=courier, code="not-it")
    assert fresh(delivery).code_failures == 2
    other = agent(first_name="Robin", last_name="Vale")

    services.delivery_assign(delivery=delivery, agent=other)

    assert fresh(delivery).code_failures == 0
    services.delivery_complete(
        delivery=delivery, agent=other, code=code, cash_collected=delivery.cash_to_collect
    )
    assert fresh(delivery).status == S.DELIVERED


def test_reassigning_a_locked_delivery_to_its_agent_unlocks_it(db, settings):
    delivery, courier, code = walked(S.OUT_FOR_DELIVERY)
    for _ in range(settings.DELIVERY_CODE_MAX_FAILURES):
        with pytest.raises(ValidationError):
            services.delivery_complete(delivery=delivery, agent=courier, code="not-it")
    assert fresh(delivery).is_locked

    services.delivery_assign(delivery=delivery, agent=courier)

    delivery = fresh(delivery)
    assert (delivery.is_locked, delivery.code_failures) == (False, 0)
    assert delivery.events.last().note == "Unlocked for Dana Rider."
    services.delivery_complete(
        delivery=delivery, agent=courier, code=code, cash_collected=delivery.cash_to_collect
    )
    assert fresh(delivery).status == S.DELIVERED


@pytest.mark.parametrize("status", [S.UNASSIGNED, S.ASSIGNED, S.PICKED_UP])
def test_an_inactive_agent_cannot_be_assigned(db, status):
    delivery, _courier, _code = walked(status)
    idle = services.agent_update(agent=agent(first_name="Idle"), is_active=False)
    snapshot = world()

    with pytest.raises(ValidationError) as error:
        services.delivery_assign(delivery=delivery, agent=idle)

    assert codes_of(error) == {"agentId": ["agent_inactive"]}
    assert world() == snapshot


@pytest.mark.parametrize("status", [S.DELIVERED, S.RETURNED, S.CANCELLED])
def test_a_finished_delivery_cannot_be_assigned(db, status):
    delivery, _courier, _code = walked(status)
    late = agent(first_name="Late")
    snapshot = world()

    with pytest.raises(ValidationError) as error:
        services.delivery_assign(delivery=delivery, agent=late)

    assert codes_of(error) == {None: ["invalid_transition"]}
    assert world() == snapshot
