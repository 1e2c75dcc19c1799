from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.delivery import services
from apps.delivery.models import CashHandIn, Delivery, DeliveryStatus
from tests.delivery.documents import (
    CASH_REPORT,
    DELIVERIES,
    HAND_IN,
    MY_DELIVERIES,
    bearer,
    codes_of,
    nodes,
    result,
)
from tests.delivery.factories import agent, card_order, cash_order, delivery_of, gid, walk, world
from tests.orders.factories import variant

S = DeliveryStatus
DAY = date(2024, 6, 15)  # New York is UTC-4 then: the day runs from 04:00 UTC to 04:00 UTC


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def a_delivery(status: str, *, courier=None, price: str = "10.00", cash: bool = True, at=None):
    """A delivery (of a cash order unless ``cash`` is false) walked to ``status``; ``at``: when
    it was placed."""
    order = (cash_order if cash else card_order)(lines=[(variant(price=price), 1)])
    delivery = delivery_of(order)
    walk(delivery, status, courier=courier)
    if at is not None:
        Delivery.objects.filter(pk=delivery.pk).update(created_at=at)
    return Delivery.objects.get(pk=delivery.pk)


def delivered_at(delivery: Delivery, moment: datetime) -> Delivery:
    Delivery.objects.filter(pk=delivery.pk).update(delivered_at=moment)
    return Delivery.objects.get(pk=delivery.pk)


def ids(response) -> list[str]:
    return [node["id"] for node in nodes(response)]


# --- myDeliveries and deliveries --------------------------------------------------------------


@pytest.fixture
def round_(db, settings):
    """A courier's deliveries, placed on three days (shop time: New York), and another's."""
    settings.TIME_ZONE = "America/New_York"
    courier = agent(first_name="Dana")
    other = agent(first_name="Robin")
    deliveries = {
        "assigned": a_delivery(S.ASSIGNED, courier=courier, at=utc(2024, 6, 14, 12)),
        "picked_up": a_delivery(S.PICKED_UP, courier=courier, at=utc(2024, 6, 15, 4)),
        "delivered": a_delivery(S.DELIVERED, courier=courier, at=utc(2024, 6, 16, 3, 59)),
        "cancelled": a_delivery(S.CANCELLED, courier=courier, at=utc(2024, 6, 16, 4)),
        "theirs": a_delivery(S.ASSIGNED, courier=other, at=utc(2024, 6, 15, 12)),
        "unassigned": a_delivery(S.UNASSIGNED, at=utc(2024, 6, 15, 13)),
    }
    return courier, other, {name: gid(d) for name, d in deliveries.items()}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (None, ["assigned", "picked_up", "delivered", "cancelled"]),
        ({"status": ["PICKED_UP", "DELIVERED"]}, ["picked_up", "delivered"]),
        ({"isOpen": True}, ["assigned", "picked_up"]),
        ({"isOpen": False}, ["delivered", "cancelled"]),
        ({"date": "2024-06-15"}, ["picked_up", "delivered"]),
        ({"date": "2024-06-14"}, ["assigned"]),
        ({"date": "2024-06-15", "isOpen": True}, ["picked_up"]),
    ],
)
def test_a_courier_filters_their_deliveries(round_, filters, expected):
    courier, _other, by_name = round_

    response = bearer(courier.user)(MY_DELIVERIES, {"filters": filters})

    assert ids(response) == [by_name[name] for name in expected]
    assert result(response)["totalCount"] == len(expected)


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        (None, ["assigned", "picked_up", "delivered", "cancelled"]),
        ([{"createdAt": "DESC"}], ["cancelled", "delivered", "picked_up", "assigned"]),
        ([{"status": "ASC"}], ["assigned", "cancelled", "delivered", "picked_up"]),
        ([{"status": "DESC"}], ["picked_up", "delivered", "cancelled", "assigned"]),
    ],
)
def test_a_courier_orders_their_deliveries(round_, ordering, expected):
    courier, _other, by_name = round_

    response = bearer(courier.user)(MY_DELIVERIES, {"ordering": ordering})

    assert ids(response) == [by_name[name] for name in expected]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (
            None,
            ["assigned", "picked_up", "theirs", "unassigned", "delivered", "cancelled"],
        ),
        ({"agentId": "mine"}, ["assigned", "picked_up", "delivered", "cancelled"]),
        ({"agentId": "theirs"}, ["theirs"]),
        ({"agentId": "mine", "status": ["ASSIGNED"]}, ["assigned"]),
        ({"status": ["UNASSIGNED", "ASSIGNED"]}, ["assigned", "theirs", "unassigned"]),
        ({"date": "2024-06-15"}, ["picked_up", "theirs", "unassigned", "delivered"]),
        ({"date": "2024-06-16"}, ["cancelled"]),
        ({"date": "2024-06-15", "agentId": "theirs"}, ["theirs"]),
    ],
)
def test_staff_filter_every_delivery(round_, admin_gql, filters, expected):
    courier, other, by_name = round_
    if filters and "agentId" in filters:
        filters = {**filters, "agentId": gid(courier if filters["agentId"] == "mine" else other)}

    response = admin_gql(DELIVERIES, {"filters": filters})

    assert ids(response) == [by_name[name] for name in expected]


def test_an_agent_id_of_another_type_filters_everything_out(round_, admin_gql):
    _courier, _other, by_name = round_

    response = admin_gql(DELIVERIES, {"filters": {"agentId": by_name["assigned"]}})

    assert ids(response) == []


# --- queries per request ----------------------------------------------------------------------


def count_queries(api, document: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = api(document)
    assert "errors" not in response.body, response.body
    return len(captured.captured_queries)


def on_the_way(courier) -> None:
    """A delivery picked up by ``courier``, of two lines, with a position."""
    order = cash_order(lines=[(variant(), 1), (variant(), 2)], key=f"k{Delivery.objects.count()}")
    delivery = delivery_of(order)
    walk(delivery, S.PICKED_UP, courier=courier)
    services.delivery_location_update(delivery=delivery, agent=courier, latitude=1, longitude=2)


@pytest.mark.parametrize(
    ("document", "client"), [(MY_DELIVERIES, "courier"), (DELIVERIES, "staff")]
)
def test_the_queries_of_a_list_do_not_grow_with_its_deliveries(
    db, admin_gql, django_assert_num_queries, document, client
):
    courier = agent()
    api = bearer(courier.user) if client == "courier" else admin_gql
    on_the_way(courier)
    one = count_queries(api, document)

    for _ in range(9):
        on_the_way(courier)

    with django_assert_num_queries(one):
        response = api(document)
    assert result(response)["totalCount"] == 10
    assert all(node["lastLocation"] and node["agent"]["phone"] for node in nodes(response))
    assert all(len(node["lines"]) == 2 and node["events"] for node in nodes(response))


# --- the cash report --------------------------------------------------------------------------


@pytest.fixture
def cash_day(db, settings):
    """Cash collected around DAY by couriers, active and not."""
    settings.TIME_ZONE = "America/New_York"
    dana = agent(first_name="Dana", last_name="Rider")
    robin = agent(first_name="Robin", last_name="Vale")
    sam = agent(first_name="Sam", last_name="Idle")
    kim = agent(first_name="Kim", last_name="Gone")
    ada = agent(first_name="Ada", last_name="Spare")
    # Dana: the first and the last minute of DAY, and the last minute of the day before.
    delivered_at(a_delivery(S.DELIVERED, courier=dana, price="10.00"), utc(2024, 6, 15, 4))
    delivered_at(a_delivery(S.DELIVERED, courier=dana, price="20.00"), utc(2024, 6, 16, 3, 59))
    delivered_at(a_delivery(S.DELIVERED, courier=dana, price="40.00"), utc(2024, 6, 15, 3, 59))
    # Robin: cash, and a paid order (nothing to collect), and cash on the next day.
    delivered_at(a_delivery(S.DELIVERED, courier=robin, price="30.00"), utc(2024, 6, 15, 12))
    delivered_at(a_delivery(S.DELIVERED, courier=robin, cash=False), utc(2024, 6, 15, 13))
    delivered_at(a_delivery(S.DELIVERED, courier=robin, price="50.00"), utc(2024, 6, 16, 4))
    # Sam collected that day and is inactive now; Kim is inactive and collected nothing.
    delivered_at(a_delivery(S.DELIVERED, courier=sam, price="5.00"), utc(2024, 6, 15, 20))
    services.agent_update(agent=sam, is_active=False)
    services.agent_update(agent=kim, is_active=False)
    return {"dana": dana, "robin": robin, "sam": sam, "kim": kim, "ada": ada}


def report(admin_gql, day: date = DAY) -> list[tuple]:
    response = admin_gql(CASH_REPORT, {"date": day.isoformat()})
    return [
        (
            row["agent"]["name"],
            row["date"],
            row["collected"]["amount"],
            row["handedIn"]["amount"],
            row["outstanding"]["amount"],
            row["deliveries"],
        )
        for row in result(response)
    ]


def test_the_cash_report_counts_each_agent_s_cash_of_the_shop_day(cash_day, admin_gql):
    assert report(admin_gql) == [
        ("Ada Spare", "2024-06-15", "0.00", "0.00", "0.00", 0),
        ("Dana Rider", "2024-06-15", "40.00", "0.00", "40.00", 2),  # 15.00 + 25.00
        ("Robin Vale", "2024-06-15", "35.00", "0.00", "35.00", 1),
        ("Sam Idle", "2024-06-15", "10.00", "0.00", "10.00", 1),
    ]
    assert report(admin_gql, DAY - timedelta(days=1)) == [
        ("Ada Spare", "2024-06-14", "0.00", "0.00", "0.00", 0),
        ("Dana Rider", "2024-06-14", "45.00", "0.00", "45.00", 1),
        ("Robin Vale", "2024-06-14", "0.00", "0.00", "0.00", 0),
    ]


def test_the_cash_report_follows_the_shop_time_zone(cash_day, admin_gql, settings):
    settings.TIME_ZONE = "UTC"

    rows = {row[0]: row[2:] for row in report(admin_gql)}

    # 15.00 at 04:00 and 45.00 at 03:59 on the 15th; 25.00 at 03:59 on the 16th is the next day.
    assert rows["Dana Rider"] == ("60.00", "0.00", "60.00", 2)
    assert rows["Robin Vale"] == ("35.00", "0.00", "35.00", 1)


# --- handing the cash in ----------------------------------------------------------------------


def hand_in(admin_gql, courier, amount: str, day: date = DAY):
    return admin_gql(HAND_IN, {"agentId": gid(courier), "date": day.isoformat(), "amount": amount})


def test_handing_in_the_exact_cash_settles_the_day(cash_day, admin_gql, store_admin):
    dana = cash_day["dana"]

    response = hand_in(admin_gql, dana, "40.00")

    assert result(response) == {
        "__typename": "AgentCash",
        "agent": {"id": gid(dana), "name": "Dana Rider"},
        "date": "2024-06-15",
        "collected": {"amount": "40.00"},
        "handedIn": {"amount": "40.00"},
        "outstanding": {"amount": "0.00"},
        "deliveries": 2,
    }
    handed = CashHandIn.objects.get()
    assert (handed.agent, handed.day, handed.amount, handed.received_by) == (
        dana,
        DAY,
        Decimal("40.00"),
        store_admin,
    )
    assert sorted(handed.deliveries.values_list("cash_collected", flat=True)) == [
        Decimal("15.00"),
        Decimal("25.00"),
    ]
    rows = {row[0]: row[2:] for row in report(admin_gql)}
    assert rows["Dana Rider"] == ("40.00", "40.00", "0.00", 2)
    assert rows["Robin Vale"] == ("35.00", "0.00", "35.00", 1)  # theirs is theirs
    # The day before is another day.
    assert {row[0]: row[2:] for row in report(admin_gql, DAY - timedelta(days=1))}[
        "Dana Rider"
    ] == ("45.00", "0.00", "45.00", 1)


@pytest.mark.parametrize("amount", ["39.99", "40.01", "15.00", "0"])
def test_handing_in_another_amount_changes_nothing(cash_day, admin_gql, amount):
    snapshot = world()

    response = hand_in(admin_gql, cash_day["dana"], amount)

    assert codes_of(response) == [("cash_mismatch", "amount")]
    assert result(response)["messages"][0]["message"] == (
        "Dana Rider collected 40.00 on 2024-06-15 and has not handed it in: count it again."
    )
    assert world() == snapshot


def test_nothing_left_to_hand_in_is_a_mismatch(cash_day, admin_gql):
    hand_in(admin_gql, cash_day["dana"], "40.00")
    snapshot = world()

    again = hand_in(admin_gql, cash_day["dana"], "40.00")
    never = hand_in(admin_gql, cash_day["ada"], "0.01")
    other_day = hand_in(admin_gql, cash_day["robin"], "35.00", DAY + timedelta(days=2))

    for response in (again, never, other_day):
        assert codes_of(response) == [("cash_mismatch", "amount")]
    assert result(never)["messages"][0]["message"] == (
        "Ada Spare has no cash to hand in for 2024-06-15."
    )
    assert world() == snapshot


def test_cash_collected_after_a_hand_in_is_outstanding(cash_day, admin_gql):
    dana = cash_day["dana"]
    hand_in(admin_gql, dana, "40.00")
    delivered_at(a_delivery(S.DELIVERED, courier=dana, price="60.00"), utc(2024, 6, 15, 22))

    assert {row[0]: row[2:] for row in report(admin_gql)}["Dana Rider"] == (
        "105.00",
        "40.00",
        "65.00",
        3,
    )
    assert codes_of(hand_in(admin_gql, dana, "105.00")) == [("cash_mismatch", "amount")]
    assert result(hand_in(admin_gql, dana, "65.00"))["outstanding"] == {"amount": "0.00"}
