import re
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from strawberry.relay import to_base64

from apps.orders.models import OrderStatus
from tests.accounts.factories import UserFactory
from tests.catalog.factories import ProductFactory, ProductVariantFactory
from tests.conftest import GraphQLClient, GraphQLResponse
from tests.reports.factories import MARCH_END, MARCH_START, known_sales, make_order, paris, utc

REPORT = """
query($start: DateTime!, $end: DateTime!, $granularity: Granularity! = DAY, $limit: Int! = 10) {
  salesReport(start: $start, end: $end, granularity: $granularity) {
    revenue { amount currency }
    orderCount
    averageOrderValue { amount currency }
    itemsSold
    newCustomers
    byPeriod { start revenue { amount currency } orderCount }
    ordersByStatus { status count }
    topProducts(limit: $limit) { productName quantity revenue { amount currency } product { id name } }
  }
}
"""
PERIODS = """
query($start: DateTime!, $end: DateTime!, $granularity: Granularity!) {
  salesReport(start: $start, end: $end, granularity: $granularity) {
    byPeriod { start revenue { amount } orderCount }
  }
}
"""
MARCH = {"start": MARCH_START.isoformat(), "end": MARCH_END.isoformat()}
# What an authenticated request reads before any resolver: its session, its user, and (for
# the permission check) the user's own and group permissions.
AUTH_TABLES = ["django_session", "accounts_user", "auth_permission", "auth_permission"]
PERMISSION_ERROR = "You do not have permission to do this."


@pytest.fixture
def paris_time(settings):
    settings.TIME_ZONE = "Europe/Paris"


def usd(amount: str) -> dict:
    return {"amount": amount, "currency": "USD"}


def on_the_wire(moment) -> str:
    """A date as the API answers it: in UTC."""
    return moment.astimezone(UTC).isoformat()


def tables(captured: CaptureQueriesContext) -> list[str]:
    """The table each query reads first (its FROM clause)."""
    return [re.search(r'FROM "(\w+)"', q["sql"]).group(1) for q in captured.captured_queries]


def error(response: GraphQLResponse) -> tuple[str, list, str | None]:
    assert response.body["data"] is None, response.body
    [only] = response.errors
    return only["message"], only.get("path"), (only.get("extensions") or {}).get("code")


def report(api: GraphQLClient, variables: dict, query: str = REPORT) -> dict:
    return api(query, variables).data["salesReport"]


# --- The known data set ---------------------------------------------------------------------


def test_sales_report_of_march_in_paris(admin_gql, paris_time):
    data = known_sales()

    result = report(admin_gql, MARCH)

    daily = {3: ("100.00", 1), 4: ("50.00", 1), 31: ("20.01", 1)}
    assert result == {
        "revenue": usd("170.01"),
        "orderCount": 3,
        "averageOrderValue": usd("56.67"),
        "itemsSold": 7,
        "newCustomers": 2,
        "byPeriod": [
            {
                "start": on_the_wire(paris(2025, 3, day)),
                "revenue": usd(daily.get(day, ("0.00", 0))[0]),
                "orderCount": daily.get(day, ("0.00", 0))[1],
            }
            for day in range(1, 32)
        ],
        "ordersByStatus": [
            {"status": "CANCELLED", "count": 1},
            {"status": "DELIVERED", "count": 1},
            {"status": "PAID", "count": 1},
            {"status": "PENDING", "count": 2},
            {"status": "REFUNDED", "count": 1},
            {"status": "SHIPPED", "count": 1},
        ],
        "topProducts": [
            {
                "productName": "Alpha Lamp",
                "quantity": 2,
                "revenue": usd("80.00"),
                "product": {
                    "id": to_base64("Product", data["lamp"].product_id),
                    "name": "Alpha Lamp",
                },
            },
            {
                "productName": "Beta Mug",
                "quantity": 4,
                "revenue": usd("60.00"),
                "product": {"id": to_base64("Product", data["mug"].product_id), "name": "Beta Mug"},
            },
            {
                "productName": "Gamma Pen",
                "quantity": 1,
                "revenue": usd("15.01"),
                "product": {
                    "id": to_base64("Product", data["pen"].product_id),
                    "name": "Gamma Pen",
                },
            },
        ],
    }


def test_period_starts_are_local_midnights_told_in_utc(admin_gql, paris_time):
    known_sales()

    periods = report(admin_gql, {**MARCH, "granularity": "DAY"}, PERIODS)["byPeriod"]

    assert [p["start"] for p in (periods[0], periods[29], periods[30])] == [
        "2025-02-28T23:00:00+00:00",  # 1 March 00:00 in Paris (winter time)
        "2025-03-29T23:00:00+00:00",  # 30 March 00:00, summer time starts at 02:00
        "2025-03-30T22:00:00+00:00",  # 31 March 00:00 (summer time)
    ]


def test_sales_report_by_week(admin_gql, paris_time):
    known_sales()

    periods = report(admin_gql, {**MARCH, "granularity": "WEEK"}, PERIODS)["byPeriod"]

    assert periods == [
        {"start": "2025-02-23T23:00:00+00:00", "revenue": {"amount": "0.00"}, "orderCount": 0},
        {"start": "2025-03-02T23:00:00+00:00", "revenue": {"amount": "150.00"}, "orderCount": 2},
        {"start": "2025-03-09T23:00:00+00:00", "revenue": {"amount": "0.00"}, "orderCount": 0},
        {"start": "2025-03-16T23:00:00+00:00", "revenue": {"amount": "0.00"}, "orderCount": 0},
        {"start": "2025-03-23T23:00:00+00:00", "revenue": {"amount": "0.00"}, "orderCount": 0},
        {"start": "2025-03-30T22:00:00+00:00", "revenue": {"amount": "20.01"}, "orderCount": 1},
    ]


def test_sales_report_by_month(admin_gql, paris_time):
    known_sales()
    variables = {
        "start": paris(2025, 1, 1).isoformat(),
        "end": paris(2025, 6, 1).isoformat(),
        "granularity": "MONTH",
    }

    result = report(admin_gql, variables)

    assert result["byPeriod"] == [
        {"start": "2024-12-31T23:00:00+00:00", "revenue": usd("0.00"), "orderCount": 0},
        {"start": "2025-01-31T23:00:00+00:00", "revenue": usd("360.00"), "orderCount": 1},
        {"start": "2025-02-28T23:00:00+00:00", "revenue": usd("170.01"), "orderCount": 3},
        {"start": "2025-03-31T22:00:00+00:00", "revenue": usd("105.07"), "orderCount": 1},
        {"start": "2025-04-30T22:00:00+00:00", "revenue": usd("0.00"), "orderCount": 0},
    ]
    assert (result["revenue"], result["orderCount"], result["averageOrderValue"]) == (
        usd("635.08"),
        5,
        usd("127.02"),
    )
    assert result["itemsSold"] == 23
    assert result["newCustomers"] == 4  # the staff account does not count


def test_top_products_limit(admin_gql, paris_time):
    known_sales()

    result = report(admin_gql, {**MARCH, "limit": 2})

    assert [(p["productName"], p["revenue"]["amount"]) for p in result["topProducts"]] == [
        ("Alpha Lamp", "80.00"),
        ("Beta Mug", "60.00"),
    ]


def test_top_products_keep_their_product_when_it_is_archived(admin_gql, paris_time):
    data = known_sales()
    lamp = data["lamp"].product
    lamp.is_active = False
    lamp.save()

    result = report(admin_gql, {**MARCH, "limit": 1})

    assert result["topProducts"] == [
        {
            "productName": "Alpha Lamp",
            "quantity": 2,
            "revenue": usd("80.00"),
            "product": {"id": to_base64("Product", lamp.pk), "name": "Alpha Lamp"},
        }
    ]


@pytest.mark.parametrize("limit", [0, 51])
def test_top_products_limit_out_of_bounds_is_invalid(admin_gql, limit):
    response = admin_gql(REPORT, {**MARCH, "limit": limit})

    assert error(response) == (
        "The limit is between 1 and 50.",
        ["salesReport", "topProducts"],
        "invalid",
    )


def test_naive_dates_are_read_in_the_shop_time_zone(admin_gql, paris_time):
    known_sales()

    result = report(admin_gql, {"start": "2025-03-01T00:00:00", "end": "2025-04-01T00:00:00"})

    assert (result["revenue"], result["orderCount"]) == (usd("170.01"), 3)
    assert result["byPeriod"][0]["start"] == "2025-02-28T23:00:00+00:00"


def test_an_empty_range_reports_zeros(admin_gql):
    result = report(admin_gql, {"start": "2025-03-01T00:00:00Z", "end": "2025-03-03T00:00:00Z"})

    assert result == {
        "revenue": usd("0.00"),
        "orderCount": 0,
        "averageOrderValue": usd("0.00"),
        "itemsSold": 0,
        "newCustomers": 0,
        "byPeriod": [
            {"start": "2025-03-01T00:00:00+00:00", "revenue": usd("0.00"), "orderCount": 0},
            {"start": "2025-03-02T00:00:00+00:00", "revenue": usd("0.00"), "orderCount": 0},
        ],
        "ordersByStatus": [],
        "topProducts": [],
    }


# --- Bad input: a clear error, and nothing computed -----------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2025-03-02T00:00:00Z", "2025-03-01T00:00:00Z", "The end must come after the start."),
        ("2025-03-01T00:00:00Z", "2025-03-01T00:00:00Z", "The end must come after the start."),
        # 1 March 00:00 in Paris is 28 February 23:00 UTC: the same moment.
        ("2025-03-01T00:00:00+01:00", "2025-02-28T23:00:00Z", "The end must come after the start."),
        ("2022-01-01T00:00:00Z", "2025-01-01T00:00:01Z", "A report covers at most three years."),
        ("2022-01-01T00:00:00Z", "2025-01-02T00:00:00Z", "A report covers at most three years."),
        ("2020-01-01T00:00:00Z", "2025-01-01T00:00:00Z", "A report covers at most three years."),
    ],
)
def test_a_bad_range_is_refused_before_any_report_query(admin_gql, start, end, message):
    known_sales()

    with CaptureQueriesContext(connection) as captured:
        response = admin_gql(REPORT, {"start": start, "end": end})

    assert error(response) == (message, ["salesReport"], "invalid")
    assert tables(captured) == AUTH_TABLES


def test_exactly_three_years_is_accepted(admin_gql):
    result = report(
        admin_gql,
        {"start": "2022-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z", "granularity": "MONTH"},
    )

    assert len(result["byPeriod"]) == 36


def test_an_unknown_granularity_is_a_validation_error_and_runs_no_query(admin_gql):
    with CaptureQueriesContext(connection) as captured:
        response = admin_gql(REPORT, {**MARCH, "granularity": "YEAR"})

    assert response.body["data"] is None
    [only] = response.errors
    assert only["message"] == (
        "Variable '$granularity' has invalid value: "
        "Value 'YEAR' does not exist in 'Granularity' enum."
    )
    assert tables(captured) == []


def test_an_unknown_granularity_literal_is_a_validation_error(admin_gql):
    with CaptureQueriesContext(connection) as captured:
        response = admin_gql(
            '{ salesReport(start: "2025-03-01T00:00:00Z", end: "2025-04-01T00:00:00Z",'
            " granularity: YEAR) { orderCount } }"
        )

    assert response.body["data"] is None
    assert [e["message"] for e in response.errors] == [
        "Value 'YEAR' does not exist in 'Granularity' enum."
    ]
    assert tables(captured) == []


def test_a_date_that_is_not_a_date_is_a_validation_error(admin_gql):
    response = admin_gql(REPORT, {**MARCH, "end": "next tuesday"})

    assert response.body["data"] is None
    [only] = response.errors
    assert only["message"].startswith(
        "Variable '$end' has invalid value: Value cannot represent a DateTime: \"next tuesday\"."
    )


# --- Queries: a fixed number, whatever the range or the number of orders ---------------------


def full_report_queries(api: GraphQLClient, variables: dict) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        api(REPORT, variables).data  # noqa: B018 - asserts that there is no error
    return tables(captured)


# Auth, then: totals, items sold, new customers, by period, by status, top products and their
# products (the last only when there are top products).
FULL_REPORT_TABLES = [
    *AUTH_TABLES,
    "orders_order",
    "orders_orderline",
    "accounts_user",
    "orders_order",
    "orders_order",
    "orders_orderline",
    "catalog_product",
]


def test_the_report_runs_the_same_queries_for_a_week_and_for_two_years(admin_gql, paris_time):
    known_sales()
    week = {"start": paris(2025, 3, 1).isoformat(), "end": paris(2025, 3, 8).isoformat()}
    two_years = {
        "start": paris(2024, 1, 1).isoformat(),
        "end": paris(2026, 1, 1).isoformat(),
        "granularity": "DAY",
    }

    assert full_report_queries(admin_gql, week) == FULL_REPORT_TABLES
    assert full_report_queries(admin_gql, two_years) == FULL_REPORT_TABLES
    assert len(report(admin_gql, two_years)["byPeriod"]) == 731


def test_the_report_runs_the_same_queries_for_one_and_for_fifty_orders(admin_gql):
    variants = [
        ProductVariantFactory(product=ProductFactory(name=f"Item {n:02d}"), price=Decimal(n + 1))
        for n in range(12)
    ]
    statuses = list(OrderStatus)
    start = utc(2025, 3, 1)
    make_order(status=OrderStatus.PAID, lines=[(variants[0], 1)], created_at=start)
    variables = {"start": start.isoformat(), "end": utc(2025, 4, 1).isoformat()}

    one = full_report_queries(admin_gql, variables)
    for n in range(1, 50):
        make_order(
            status=statuses[n % len(statuses)],
            lines=[(variants[n % 12], 1 + n % 3), (variants[(n * 5) % 12], 1)],
            created_at=start + timedelta(hours=13 * n),
        )
    fifty = full_report_queries(admin_gql, variables)

    assert one == fifty == FULL_REPORT_TABLES
    result = report(admin_gql, variables)
    assert sum(s["count"] for s in result["ordersByStatus"]) == 50
    assert len(result["topProducts"]) == 10


@pytest.mark.parametrize(
    ("fields", "report_tables"),
    [
        ("orderCount", ["orders_order"]),
        # revenue, order count and average come from the same one query
        ("revenue { amount } orderCount averageOrderValue { amount }", ["orders_order"]),
        ("itemsSold", ["orders_orderline"]),
        ("newCustomers", ["accounts_user"]),
        ("byPeriod { start }", ["orders_order"]),
        ("ordersByStatus { count }", ["orders_order"]),
        ("topProducts { productName }", ["orders_orderline", "catalog_product"]),
    ],
)
def test_each_part_is_computed_only_when_asked_for(admin_gql, fields, report_tables):
    known_sales()
    query = (
        "query($start: DateTime!, $end: DateTime!) "
        f"{{ salesReport(start: $start, end: $end) {{ {fields} }} }}"
    )
    variables = {"start": "2025-01-01T00:00:00Z", "end": "2025-06-01T00:00:00Z"}

    with CaptureQueriesContext(connection) as captured:
        admin_gql(query, variables).data  # noqa: B018

    assert tables(captured) == AUTH_TABLES + report_tables


# --- Permissions ----------------------------------------------------------------------------


def test_anonymous_gets_a_permission_error_and_no_data(gql):
    known_sales()

    with CaptureQueriesContext(connection) as captured:
        response = gql(REPORT, MARCH)

    assert error(response) == (PERMISSION_ERROR, ["salesReport"], "permission_denied")
    assert tables(captured) == []


def test_a_customer_gets_a_permission_error_and_no_data(customer_gql):
    known_sales()

    with CaptureQueriesContext(connection) as captured:
        response = customer_gql(REPORT, MARCH)

    assert error(response) == (PERMISSION_ERROR, ["salesReport"], "permission_denied")
    assert tables(captured) == AUTH_TABLES


def test_a_staff_member_without_a_role_gets_a_permission_error(db):
    clerk = GraphQLClient().login(UserFactory(is_staff=True))

    assert error(clerk(REPORT, MARCH)) == (PERMISSION_ERROR, ["salesReport"], "permission_denied")


def test_a_superuser_may_read_the_report(db):
    root = GraphQLClient().login(UserFactory(is_staff=True, is_superuser=True))

    assert report(root, MARCH)["orderCount"] == 0
