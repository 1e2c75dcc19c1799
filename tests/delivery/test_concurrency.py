"""Deliveries under real concurrency: threads, each on its own PostgreSQL connection.

Every scenario commits for real (``transaction=True``): the row locks of the order and the
delivery only show their effect between separate transactions. Waits are bounded, so a
deadlock or a lost lock fails the test instead of hanging it.
"""

from functools import partial
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import OperationalError
from django.utils import timezone

from apps.delivery import services
from apps.delivery.models import (
    CashHandIn,
    Delivery,
    DeliveryAgent,
    DeliveryEvent,
    DeliveryStatus,
    FailureReason,
)
from apps.orders import services as order_services
from apps.orders.models import Order, OrderEvent, OrderStatus
from apps.payments.models import PaymentStatus
from apps.payments.providers import PlaceholderProvider
from tests.delivery.factories import agent, card_order, cash_order, delivery_of, fresh, walk
from tests.orders.factories import variant
from tests.threads import error_codes, run_together

S = DeliveryStatus


def outcome(result: Any) -> str:
    """What a step answered: ``done``, or the codes of its refusal."""
    if isinstance(result, Delivery | Order | services.AgentCash):
        return "done"
    if isinstance(result, ValidationError):
        return ",".join(error_codes(result))
    return repr(result)  # anything else (a deadlock, a crash) fails the assertions


def events_of(delivery: Delivery) -> list[tuple[str, int | None, str]]:
    return list(
        DeliveryEvent.objects.filter(delivery=delivery)
        .order_by("pk")
        .values_list("status", "actor_id", "note")
    )


def out_for_delivery(order: Order) -> tuple[Delivery, DeliveryAgent, str]:
    delivery = delivery_of(order)
    courier, code = walk(delivery, S.OUT_FOR_DELIVERY)
    return fresh(delivery), courier, code


# --- one hand-over ----------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_completions_with_the_right_code_deliver_once(monkeypatch):
    captures = []
    capture = PlaceholderProvider.capture
    monkeypatch.setattr(
        PlaceholderProvider,
        "capture",
        lambda self, *, payment: captures.append(payment.pk) or capture(self, payment=payment),
    )
    order = cash_order(lines=[(variant(price="17.50"), 1)])
    delivery, courier, code = out_for_delivery(order)
    complete = partial(
        services.delivery_complete,
        delivery=delivery,
        agent=courier,
        code=code,
        cash_collected=order.total,
    )

    outcomes = run_together([complete, complete])

    assert sorted(map(outcome, outcomes)) == ["done", "invalid_transition"]
    delivery = fresh(delivery)
    assert (delivery.status, delivery.cash_collected) == (S.DELIVERED, order.total)
    assert [e for e in events_of(delivery) if e[0] == S.DELIVERED] == [
        (S.DELIVERED, courier.user_id, "Cash collected: 22.50 USD.")
    ]
    order.refresh_from_db()
    assert (order.status, order.payment.status) == (OrderStatus.DELIVERED, PaymentStatus.CAPTURED)
    assert captures == [order.payment.pk]
    assert OrderEvent.objects.filter(order=order, to_status=OrderStatus.DELIVERED).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_pick_ups_ship_once():
    order = card_order()
    delivery = delivery_of(order)
    courier, _ = walk(delivery, S.ASSIGNED)
    pick_up = partial(services.delivery_pick_up, delivery=delivery, agent=courier)

    outcomes = run_together([pick_up, pick_up])

    assert sorted(map(outcome, outcomes)) == ["done", "invalid_transition"]
    assert fresh(delivery).status == S.PICKED_UP
    assert [e[0] for e in events_of(delivery)] == [S.ASSIGNED, S.PICKED_UP]
    assert list(
        OrderEvent.objects.filter(order=order).order_by("pk").values_list("to_status", flat=True)
    ) == [OrderStatus.PENDING, OrderStatus.PAID, OrderStatus.PROCESSING, OrderStatus.SHIPPED]


# --- a reassignment during a pick-up ------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_reassignment_racing_a_pick_up_leaves_one_story():
    a, b = agent(first_name="Ann", last_name="One"), agent(first_name="Bo", last_name="Two")
    for n in range(8):
        delivery = delivery_of(card_order(key=f"race-{n}"))
        walk(delivery, S.ASSIGNED, courier=a)

        picked, reassigned = run_together(
            [
                partial(services.delivery_pick_up, delivery=delivery, agent=a),
                partial(services.delivery_assign, delivery=delivery, agent=b),
            ]
        )

        assert outcome(reassigned) == "done", f"round {n}"
        delivery = fresh(delivery)
        events = events_of(delivery)
        reassignment = next(i for i, e in enumerate(events) if e[2].startswith("Reassigned"))
        if outcome(picked) == "done":  # A picked up first, then handed the goods to B
            assert (delivery.status, delivery.agent) == (S.PICKED_UP, b), f"round {n}"
            assert events == [
                (S.ASSIGNED, None, "Assigned to Ann One."),
                (S.PICKED_UP, a.user_id, ""),
                (S.PICKED_UP, None, "Reassigned from Ann One to Bo Two."),
            ]
            assert delivery.order.status == OrderStatus.SHIPPED
        else:  # B got it first: it is not A's any more
            assert outcome(picked) == "not_found", f"round {n}"
            assert (delivery.status, delivery.agent) == (S.ASSIGNED, b), f"round {n}"
            assert events == [
                (S.ASSIGNED, None, "Assigned to Ann One."),
                (S.ASSIGNED, None, "Reassigned from Ann One to Bo Two."),
            ]
            assert delivery.order.status == OrderStatus.PAID
        # Never a step of A's after the goods went to B.
        assert [e for e in events[reassignment:] if e[1] == a.user_id] == [], f"round {n}"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_assignments_at_once_give_the_delivery_to_one_then_the_other():
    a, b = agent(first_name="Ann", last_name="One"), agent(first_name="Bo", last_name="Two")
    for n in range(8):
        delivery = delivery_of(card_order(key=f"assign-{n}"))

        to_a, to_b = run_together(
            [
                partial(services.delivery_assign, delivery=delivery, agent=a),
                partial(services.delivery_assign, delivery=delivery, agent=b),
            ]
        )

        assert (outcome(to_a), outcome(to_b)) == ("done", "done"), f"round {n}"
        delivery = fresh(delivery)
        first, last = (a, b) if delivery.agent == b else (b, a)
        assert (delivery.status, delivery.agent) == (S.ASSIGNED, last), f"round {n}"
        assert events_of(delivery) == [
            (S.ASSIGNED, None, f"Assigned to {first.name}."),
            (S.ASSIGNED, None, f"Reassigned from {first.name} to {last.name}."),
        ], f"round {n}"


# --- the two ends of an attempt at once ---------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_completion_racing_a_failure_ends_the_attempt_one_way():
    for n in range(8):
        order = cash_order(key=f"end-{n}")
        delivery, courier, code = out_for_delivery(order)

        completed, failed = run_together(
            [
                partial(
                    services.delivery_complete,
                    delivery=delivery,
                    agent=courier,
                    code=code,
                    cash_collected=order.total,
                ),
                partial(
                    services.delivery_fail,
                    delivery=delivery,
                    agent=courier,
                    reason=FailureReason.NOBODY_HOME,
                ),
            ]
        )

        story = (outcome(completed), outcome(failed))
        assert story in {("done", "invalid_transition"), ("invalid_transition", "done")}, story
        delivery, order = fresh(delivery), Order.objects.get(pk=order.pk)
        statuses = [e[0] for e in events_of(delivery)]
        assert statuses == [S.ASSIGNED, S.PICKED_UP, S.OUT_FOR_DELIVERY, delivery.status]
        if story[0] == "done":
            assert (delivery.status, delivery.cash_collected) == (S.DELIVERED, order.total)
            assert (order.status, order.payment.status) == (
                OrderStatus.DELIVERED,
                PaymentStatus.CAPTURED,
            )
        else:
            assert (delivery.status, delivery.failure_reason) == (S.FAILED, "NOBODY_HOME")
            assert delivery.cash_collected is None
            assert (order.status, order.paid_at) == (OrderStatus.SHIPPED, None)
        assert delivery.code_hash == ""


# --- the cash handed in twice at once -----------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_cash_handed_in_twice_at_once_is_recorded_once():
    order = cash_order()
    delivery, courier, code = out_for_delivery(order)
    services.delivery_complete(
        delivery=delivery, agent=courier, code=code, cash_collected=order.total
    )
    hand_in = partial(
        services.cash_hand_in, agent=courier, day=timezone.localdate(), amount=order.total
    )

    outcomes = run_together([hand_in, hand_in])

    assert sorted(map(outcome, outcomes)) == ["cash_mismatch", "done"]
    [recorded] = CashHandIn.objects.filter(agent=courier)
    assert recorded.amount == order.total
    assert fresh(delivery).hand_in == recorded


# --- wrong codes at once ------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_wrong_codes_at_once_lock_the_delivery_at_exactly_the_maximum(settings):
    delivery, courier, code = out_for_delivery(cash_order())
    wrong = "000000" if code != "000000" else "111111"
    guess = partial(services.delivery_complete, delivery=delivery, agent=courier, code=wrong)

    outcomes = run_together([guess] * 10)

    maximum = settings.DELIVERY_CODE_MAX_FAILURES
    assert sorted(map(outcome, outcomes)) == sorted(
        ["delivery_code_invalid"] * (maximum - 1) + ["delivery_locked"] * (10 - maximum + 1)
    )
    delivery = fresh(delivery)
    assert (delivery.code_failures, delivery.is_locked, delivery.status) == (
        maximum,
        True,
        S.OUT_FOR_DELIVERY,
    )
    # Locked: the right code too is refused, and not counted.
    with pytest.raises(ValidationError) as error:
        services.delivery_complete(
            delivery=delivery, agent=courier, code=code, cash_collected=delivery.cash_to_collect
        )
    assert error_codes(error.value) == ["delivery_locked"]
    assert fresh(delivery).code_failures == maximum


# --- the order cancelled during a pick-up -------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("method", ["CASH_ON_DELIVERY", "CARD_PLACEHOLDER"])
def test_an_order_cancelled_during_a_pick_up_never_deadlocks(method):
    courier = agent()
    for n in range(8):
        order = (cash_order if method == "CASH_ON_DELIVERY" else card_order)(key=f"cancel-{n}")
        delivery = delivery_of(order)
        walk(delivery, S.ASSIGNED, courier=courier)

        picked, cancelled = run_together(
            [
                partial(services.delivery_pick_up, delivery=delivery, agent=courier),
                partial(order_services.order_cancel, order=order, actor=None, as_staff=True),
            ]
        )

        assert not any(isinstance(o, OperationalError) for o in (picked, cancelled)), f"round {n}"
        delivery, order = fresh(delivery), Order.objects.get(pk=order.pk)
        story = (outcome(picked), outcome(cancelled), delivery.status, order.status)
        # A cash order ships unpaid and may still be cancelled once shipped; a card order may not.
        assert story in {
            ("invalid_transition", "done", S.CANCELLED, OrderStatus.CANCELLED),
            (
                ("done", "done", S.CANCELLED, OrderStatus.CANCELLED)
                if method == "CASH_ON_DELIVERY"
                else ("done", "invalid_transition", S.PICKED_UP, OrderStatus.SHIPPED)
            ),
        }, f"round {n}: {story}"
        statuses = [e[0] for e in events_of(delivery)]
        assert statuses[-1] == delivery.status
        assert statuses.count(S.CANCELLED) == (delivery.status == S.CANCELLED)
