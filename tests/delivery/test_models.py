from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.delivery.models import (
    _MOVES,
    FINISHED,
    REASSIGNABLE,
    UNDER_WAY,
    CashHandIn,
    Delivery,
    DeliveryStatus,
    next_statuses,
)
from tests.delivery.factories import agent, card_order, cash_order, delivery_at, delivery_of
from tests.orders.factories import variant

S = DeliveryStatus
NOW = timezone.now()
AN_AGENT = "an agent"  # made by the test

# (what a row is given, the same with what the constraint wants): the first is refused by the
# database, the second written.
DELIVERY_CHECKS = {
    "delivery_status_known": ({"status": "LOST"}, {"status": S.CANCELLED}),
    "delivery_assigned_has_agent": (
        {"status": S.ASSIGNED},
        {"status": S.ASSIGNED, "agent": AN_AGENT},
    ),
    "delivery_delivered_at": (
        {"status": S.DELIVERED, "agent": AN_AGENT, "delivered_at": None},
        {"status": S.DELIVERED, "agent": AN_AGENT, "delivered_at": NOW},
    ),
    "delivery_cash_not_negative": ({"cash_to_collect": Decimal("-1")}, {"cash_to_collect": 0}),
    "delivery_location_latitude": (
        {"latitude": 90.5, "longitude": 2.35, "located_at": NOW},
        {"latitude": 90, "longitude": 2.35, "located_at": NOW},
    ),
    "delivery_location_longitude": (
        {"latitude": 48.86, "longitude": -180.5, "located_at": NOW},
        {"latitude": 48.86, "longitude": -180, "located_at": NOW},
    ),
    "delivery_location_whole": (
        {"latitude": 48.86, "longitude": 2.35, "located_at": None},
        {"latitude": None, "longitude": None, "located_at": None},
    ),
}


def write(delivery: Delivery, **values) -> None:
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk).update(**values)


# --- the state machine ------------------------------------------------------------------------


def test_every_status_has_its_moves():
    assert set(_MOVES) == set(S.values)
    assert {status for status in S if not next_statuses(status)} == FINISHED
    assert all(moves <= set(S.values) for moves in _MOVES.values())


def test_nothing_moves_back_to_unassigned():
    assert all(S.UNASSIGNED not in moves for moves in _MOVES.values())


def test_an_open_delivery_can_always_be_cancelled():
    assert {status for status in S if S.CANCELLED in next_statuses(status)} == (set(S) - FINISHED)


def test_the_goods_are_with_the_courier_from_assigned_to_failed():
    assert {S.ASSIGNED, S.PICKED_UP, S.OUT_FOR_DELIVERY, S.FAILED} == REASSIGNABLE
    assert {S.PICKED_UP, S.OUT_FOR_DELIVERY} == UNDER_WAY


def test_a_delivery_locks_at_the_maximum_of_wrong_codes(settings):
    settings.DELIVERY_CODE_MAX_FAILURES = 3
    assert [Delivery(code_failures=n).is_locked for n in range(5)] == [
        False,
        False,
        False,
        True,
        True,
    ]


def test_names(db):
    courier = agent(first_name="Dana", last_name="Rider")
    nameless = agent(email="zed.courier@example.com", first_name="", last_name="")
    delivery = delivery_of(card_order())

    assert (str(courier), courier.name, courier.first_name) == ("Dana Rider", "Dana Rider", "Dana")
    assert (nameless.name, nameless.first_name) == ("zed.courier", "zed.courier")
    assert str(delivery) == f"Delivery of {delivery.order_id} (UNASSIGNED)"


# --- what the database refuses ----------------------------------------------------------------


@pytest.mark.parametrize("check", sorted(DELIVERY_CHECKS))
def test_the_database_refuses_an_impossible_delivery(db, check):
    courier = agent()
    refused, written = (
        {field: courier if value == AN_AGENT else value for field, value in values.items()}
        for values in DELIVERY_CHECKS[check]
    )
    delivery = delivery_of(card_order())

    with pytest.raises(IntegrityError):
        write(delivery, **refused)

    write(delivery, **written)
    delivery.refresh_from_db()
    assert {field: getattr(delivery, field) for field in written} == written


def test_the_database_refuses_cash_collected_that_is_not_the_cash_to_collect(db):
    delivery = delivery_of(cash_order(lines=[(variant(price="20.00"), 1)]))
    assert delivery.cash_to_collect == Decimal("25.00")

    for amount in (Decimal("24.99"), Decimal("25.01"), Decimal("0")):
        with pytest.raises(IntegrityError):
            write(delivery, cash_collected=amount)

    write(delivery, cash_collected=Decimal("25.00"))
    delivery.refresh_from_db()
    assert delivery.cash_collected == Decimal("25.00")


def test_the_database_refuses_a_hand_in_of_no_cash(db):
    delivery = delivery_at(S.DELIVERED)  # a paid order: no cash to collect
    hand_in = CashHandIn.objects.create(agent=delivery.agent, day=date.today(), amount=1)

    with pytest.raises(IntegrityError):
        write(delivery, cash_collected=0, hand_in=hand_in)
    with pytest.raises(IntegrityError), transaction.atomic():
        CashHandIn.objects.create(agent=delivery.agent, day=date.today(), amount=0)


def test_the_database_refuses_a_hand_in_of_a_delivery_that_collected_nothing(db):
    delivery = delivery_at(S.DELIVERED)
    hand_in = CashHandIn.objects.create(agent=delivery.agent, day=date.today(), amount=1)

    with pytest.raises(IntegrityError):
        write(delivery, hand_in=hand_in)
