"""``salesReport``'s new parts: the previous period, bookings, deliveries, best sellers by kind,
and its permission, ``reports.view_reports`` (the ``Store admin`` and ``Order manager`` groups).

The last test reads the same period through the API and through the admin's dashboard: both
read ``apps.reports.services``, and must give the same numbers.
"""

from datetime import UTC
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.orders.models import OrderStatus
from tests.accounts.factories import UserFactory
from tests.catalog.factories import ProductFactory, ProductVariantFactory, ServiceFactory
from tests.conftest import GraphQLClient
from tests.reports.factories import MARCH_END, MARCH_START, known_sales, make_order, paris
from tests.reports.operations import known_bookings, known_deliveries
from tests.reports.test_queries import AUTH_TABLES, PERMISSION_ERROR, error, tables

MARCH = {"start": MARCH_START.isoformat(), "end": MARCH_END.isoformat()}
FIGURES = """
fragment figures on SalesReport {
  revenue { amount }
  orderCount
  averageOrderValue { amount }
  byPeriod { start revenue { amount } orderCount }
  ordersByStatus { status count }
  goods: topProducts(kind: GOODS) { productName quantity revenue { amount } product { name } }
  services: topProducts(kind: SERVICE) { productName quantity revenue { amount } }
  bookings {
    booked noShows cancellations openHours bookedHours utilisationPercent
    byResource { resourceName timeZone openHours bookedHours utilisationPercent }
  }
  deliveries {
    delivered deliveredFirstAttempt failedAttempts averagePickupToDeliverySeconds
    cashHeld { amount currency }
    cashHeldByAgent { agentName amount { amount } deliveries }
  }
}
"""
REPORT = (
    """
query($start: DateTime!, $end: DateTime!) {
  salesReport(start: $start, end: $end) { ...figures previous { ...figures } }
}
"""
    + FIGURES
)


@pytest.fixture
def paris_time(settings):
    settings.TIME_ZONE = "Europe/Paris"


def report(api: GraphQLClient, query: str = REPORT, variables: dict = MARCH) -> dict:
    return api(query, variables).data["salesReport"]


def staff_in(group: str) -> GraphQLClient:
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return GraphQLClient().login(user)


# --- The figures --------------------------------------------------------------------------------


def test_bookings_and_deliveries_of_march(admin_gql, paris_time):
    known_bookings()
    known_deliveries()

    result = report(admin_gql)

    assert result["bookings"] == {
        "booked": 8,
        "noShows": 1,
        "cancellations": 1,
        "openHours": 46.0,
        "bookedHours": 5.5,
        "utilisationPercent": 12.0,
        "byResource": [
            {
                "resourceName": "Camille",
                "timeZone": "Europe/Paris",
                "openHours": 11.0,
                "bookedHours": 2.5,
                "utilisationPercent": 22.7,
            },
            {
                "resourceName": "Studio",
                "timeZone": "America/New_York",
                "openHours": 4.0,
                "bookedHours": 2.0,
                "utilisationPercent": 50.0,
            },
            {
                "resourceName": "Van",
                "timeZone": "Europe/Paris",
                "openHours": 31.0,
                "bookedHours": 1.0,
                "utilisationPercent": 3.2,
            },
        ],
    }
    assert result["deliveries"] == {
        "delivered": 4,
        "deliveredFirstAttempt": 3,
        "failedAttempts": 2,
        "averagePickupToDeliverySeconds": 7 * 3600,
        "cashHeld": {"amount": "45.00", "currency": "USD"},
        "cashHeldByAgent": [
            {"agentName": "Dana Rider", "amount": {"amount": "30.00"}, "deliveries": 1},
            {"agentName": "Eli Courier", "amount": {"amount": "15.00"}, "deliveries": 1},
        ],
    }


def test_the_previous_period_is_the_same_length_just_before(admin_gql, paris_time):
    known_sales()
    known_deliveries()

    previous = report(admin_gql)["previous"]

    # 29 January to 28 February: 31 days, 28 January 23:00 UTC to 28 February 23:00 UTC.
    assert previous["byPeriod"][0]["start"] == "2025-01-28T23:00:00+00:00"
    assert len(previous["byPeriod"]) == 31
    assert (previous["revenue"], previous["orderCount"]) == ({"amount": "360.00"}, 1)
    assert previous["deliveries"]["delivered"] == 1
    assert previous["deliveries"]["averagePickupToDeliverySeconds"] == 2 * 3600
    assert previous["deliveries"]["cashHeldByAgent"] == []


def test_the_previous_period_of_the_previous_period(admin_gql, paris_time):
    query = """
    query($start: DateTime!, $end: DateTime!) {
      salesReport(start: $start, end: $end) { previous { previous { byPeriod { start } } } }
    }
    """

    periods = report(admin_gql, query)["previous"]["previous"]["byPeriod"]

    # 29 December to 28 January.
    assert periods[0]["start"] == "2024-12-28T23:00:00+00:00"
    assert periods[-1]["start"] == "2025-01-27T23:00:00+00:00"


def test_an_empty_period_has_empty_bookings_and_deliveries(admin_gql):
    result = report(admin_gql)

    assert result["bookings"] == {
        "booked": 0,
        "noShows": 0,
        "cancellations": 0,
        "openHours": 0.0,
        "bookedHours": 0.0,
        "utilisationPercent": None,
        "byResource": [],
    }
    assert result["deliveries"]["averagePickupToDeliverySeconds"] is None
    assert result["deliveries"]["cashHeld"] == {"amount": "0.00", "currency": "USD"}


def test_top_products_of_a_kind(admin_gql, paris_time):
    cut = ProductVariantFactory(product=ServiceFactory(name="Haircut"), price=Decimal("35.00"))
    lamp = ProductVariantFactory(product=ProductFactory(name="Lamp"), price=Decimal("40.00"))
    make_order(status=OrderStatus.PAID, lines=[(cut, 2), (lamp, 1)], created_at=paris(2025, 3, 2))
    query = """
    query($start: DateTime!, $end: DateTime!) {
      salesReport(start: $start, end: $end) {
        all: topProducts { productName }
        goods: topProducts(kind: GOODS, limit: 5) { productName }
        services: topProducts(kind: SERVICE) { productName revenue { amount } }
      }
    }
    """

    result = report(admin_gql, query)

    assert result["all"] == [{"productName": "Haircut"}, {"productName": "Lamp"}]
    assert result["goods"] == [{"productName": "Lamp"}]
    assert result["services"] == [{"productName": "Haircut", "revenue": {"amount": "70.00"}}]


@pytest.mark.parametrize(
    ("fields", "report_tables"),
    [
        ("bookings { noShows cancellations booked }", ["bookings_booking"]),
        (
            "bookings { utilisationPercent openHours byResource { resourceName } }",
            [
                "bookings_booking",
                "bookings_timeoff",
                "bookings_resource",
                "bookings_weeklyhours",
            ],
        ),
        (
            "deliveries { delivered failedAttempts averagePickupToDeliverySeconds }",
            # The deliveries' aggregate (its first FROM is its pick-up subquery's), the failed
            # attempts.
            ["delivery_deliveryevent", "delivery_deliveryevent"],
        ),
        (
            "deliveries { cashHeld { amount } cashHeldByAgent { agentName } }",
            ["delivery_deliveryagent"],
        ),
        ("previous { orderCount revenue { amount } }", ["orders_order"]),
        ("previous { bookings { noShows } }", ["bookings_booking"]),
    ],
)
def test_each_new_part_is_computed_only_when_asked_for(admin_gql, fields, report_tables):
    known_bookings()
    known_deliveries()
    query = (
        "query($start: DateTime!, $end: DateTime!) "
        f"{{ salesReport(start: $start, end: $end) {{ {fields} }} }}"
    )

    with CaptureQueriesContext(connection) as captured:
        admin_gql(query, MARCH).data  # noqa: B018 - asserts that there is no error

    assert tables(captured) == AUTH_TABLES + report_tables


# --- The permission -----------------------------------------------------------------------------

ORDER_COUNT = (
    "query($start: DateTime!, $end: DateTime!) "
    "{ salesReport(start: $start, end: $end) { orderCount } }"
)


@pytest.mark.parametrize("group", ["Store admin", "Order manager"])
def test_store_admins_and_order_managers_may_read_the_report(db, group):
    assert staff_in(group)(ORDER_COUNT, MARCH).data == {"salesReport": {"orderCount": 0}}


@pytest.mark.parametrize("group", ["Catalog manager", "Booking manager", "Delivery agent"])
def test_other_roles_may_not(db, group):
    # The Booking manager may view orders (orders.view_order), which is not enough.
    response = staff_in(group)(ORDER_COUNT, MARCH)

    assert error(response) == (PERMISSION_ERROR, ["salesReport"], "permission_denied")


def test_the_reporting_permission_alone_is_enough(db):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_reports"))

    assert GraphQLClient().login(user)(ORDER_COUNT, MARCH).data == {
        "salesReport": {"orderCount": 0}
    }


def test_the_permission_is_the_reports_own(db):
    permission = Permission.objects.get(codename="view_reports")

    assert permission.content_type.app_label == "reports"
    assert permission.name == "Can view the sales reports and the dashboard"
    assert set(permission.group_set.values_list("name", flat=True)) == {
        "Store admin",
        "Order manager",
    }


# --- One source of truth: the page and the API give the same numbers ----------------------------


def _amount(money: dict) -> Decimal:
    return Decimal(money["amount"])


def _optional(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def test_the_dashboard_and_sales_report_give_the_same_numbers(store_admin, paris_time):
    known_sales()
    known_bookings()
    known_deliveries()
    cut = ProductVariantFactory(product=ServiceFactory(name="Haircut"), price=Decimal("35.00"))
    make_order(status=OrderStatus.DELIVERED, lines=[(cut, 2)], created_at=paris(2025, 3, 9))
    make_order(status=OrderStatus.PAID, lines=[(cut, 1)], created_at=paris(2025, 2, 9))
    client = Client()
    client.force_login(store_admin)
    page = client.get(
        "/admin/dashboard/", {"period": "custom", "start": "2025-03-01", "end": "2025-03-31"}
    ).context
    api = report(GraphQLClient(client))
    built, period = page["dashboard"], page["period"]

    assert (period.window.start, period.window.end) == (MARCH_START, MARCH_END)
    for index, which in enumerate(("current", "previous")):
        side = api if which == "current" else api["previous"]

        def value(figure, index=index):
            return (figure.current, figure.previous)[index]

        sales = {figure.key: value(figure) for figure in built.sales["figures"]}
        assert sales == {
            "revenue": _amount(side["revenue"]),
            "orders": side["orderCount"],
            "average_order_value": _amount(side["averageOrderValue"]),
        }
        series = built.sales["series" if which == "current" else "previous_series"]
        assert [
            (row["start"].astimezone(UTC).isoformat(), row["revenue"], row["order_count"])
            for row in series
        ] == [(p["start"], _amount(p["revenue"]), p["orderCount"]) for p in side["byPeriod"]]
        by_status = {
            row["status"]: (row["count"], row["previous"])[index]
            for row in built.statuses
            if (row["count"], row["previous"])[index]
        }
        assert by_status == {row["status"]: row["count"] for row in side["ordersByStatus"]}
        bookings = {figure.key: value(figure) for figure in built.bookings["figures"]}
        assert bookings == {
            "bookings": side["bookings"]["booked"],
            "utilisation": _optional(side["bookings"]["utilisationPercent"]),
            "no_shows": side["bookings"]["noShows"],
            "cancellations": side["bookings"]["cancellations"],
        }
        resources = {
            row["resource_name"]: row[
                ("utilisation_percent", "previous_utilisation_percent")[index]
            ]
            for row in built.bookings["resources"]
        }
        assert resources == {
            row["resourceName"]: _optional(row["utilisationPercent"])
            for row in side["bookings"]["byResource"]
        }
        deliveries = {figure.key: value(figure) for figure in built.deliveries["figures"]}
        made = side["deliveries"]
        assert deliveries == {
            "delivered": made["delivered"],
            "first_attempt": (
                Decimal(made["deliveredFirstAttempt"] * 100 / made["delivered"]).quantize(
                    Decimal("0.1")
                )
            ),
            "failed_attempts": made["failedAttempts"],
            "pickup_to_delivery": deliveries["pickup_to_delivery"],
            "cash_held": _amount(made["cashHeld"]),
        }
        assert (
            deliveries["pickup_to_delivery"].total_seconds()
            == (made["averagePickupToDeliverySeconds"])
        )

    # The tables of the period itself.
    assert [
        (row["product_name"], row["quantity"], row["revenue"])
        for row in built.best_sellers["goods"]
    ] == [(row["productName"], row["quantity"], _amount(row["revenue"])) for row in api["goods"]]
    assert [
        (row["product_name"], row["quantity"], row["revenue"])
        for row in built.best_sellers["services"]
    ] == [(row["productName"], row["quantity"], _amount(row["revenue"])) for row in api["services"]]
    assert [
        (row["agent_name"], row["amount"], row["deliveries"]) for row in built.deliveries["cash"]
    ] == [
        (row["agentName"], _amount(row["amount"]), row["deliveries"])
        for row in api["deliveries"]["cashHeldByAgent"]
    ]
    # And the data set is not empty where it matters.
    assert api["services"] and api["goods"] and api["bookings"]["byResource"]
    assert api["previous"]["services"][0]["revenue"] == {"amount": "35.00"}
