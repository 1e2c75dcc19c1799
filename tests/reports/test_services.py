from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from apps.orders.models import Order, OrderLine, OrderStatus
from apps.reports import services
from tests.catalog.factories import ProductFactory, ProductVariantFactory
from tests.reports.factories import (
    MARCH_END,
    MARCH_START,
    PARIS,
    known_sales,
    make_order,
    paris,
    utc,
)


@pytest.fixture
def paris_time(settings):
    settings.TIME_ZONE = "Europe/Paris"


def march(granularity: str = "DAY") -> services.ReportRange:
    return services.report_range(start=MARCH_START, end=MARCH_END, granularity=granularity)


def invalid(error: pytest.ExceptionInfo) -> tuple[str, str]:
    return error.value.code, error.value.message


# --- report_range ---------------------------------------------------------------------------


def test_report_range_keeps_a_valid_range():
    window = services.report_range(start=MARCH_START, end=MARCH_END, granularity="WEEK")

    assert window == services.ReportRange(start=MARCH_START, end=MARCH_END, granularity="WEEK")


def test_report_range_refuses_an_end_before_the_start():
    with pytest.raises(ValidationError) as error:
        services.report_range(start=MARCH_END, end=MARCH_START, granularity="DAY")

    assert invalid(error) == ("invalid", "The end must come after the start.")


def test_report_range_refuses_an_empty_range():
    with pytest.raises(ValidationError) as error:
        services.report_range(start=MARCH_START, end=MARCH_START, granularity="DAY")

    assert invalid(error) == ("invalid", "The end must come after the start.")


@pytest.mark.parametrize(
    "end",
    [
        utc(2025, 1, 1, 0, 0, 1),  # three years and a second
        utc(2025, 1, 2),  # three years and a day (1097 days: shorter than 3 x 366 days)
        utc(2030, 1, 1),
    ],
)
def test_report_range_refuses_more_than_three_years(end):
    with pytest.raises(ValidationError) as error:
        services.report_range(start=utc(2022, 1, 1), end=end, granularity="DAY")

    assert invalid(error) == ("invalid", "A report covers at most three years.")


def test_report_range_accepts_exactly_three_years():
    window = services.report_range(start=utc(2022, 1, 1), end=utc(2025, 1, 1), granularity="DAY")

    assert (window.start, window.end) == (utc(2022, 1, 1), utc(2025, 1, 1))


def test_three_years_from_29_february_end_on_28_february():
    services.report_range(start=utc(2024, 2, 29), end=utc(2027, 2, 28), granularity="MONTH")

    with pytest.raises(ValidationError):
        services.report_range(start=utc(2024, 2, 29), end=utc(2027, 3, 1), granularity="MONTH")


def test_report_range_refuses_an_unknown_granularity():
    with pytest.raises(ValidationError) as error:
        services.report_range(start=MARCH_START, end=MARCH_END, granularity="YEAR")

    assert invalid(error) == ("invalid", "The granularity is DAY, WEEK or MONTH.")


def test_report_range_reads_naive_dates_in_the_shop_time_zone(paris_time):
    window = services.report_range(
        start=datetime(2025, 3, 1), end=datetime(2025, 4, 1), granularity="DAY"
    )

    assert window.start == MARCH_START
    assert window.end == MARCH_END
    assert window.start.utcoffset() == timedelta(hours=1)
    assert window.end.utcoffset() == timedelta(hours=2)


# --- totals, items, customers ---------------------------------------------------------------


def test_totals_count_paid_orders_placed_in_the_range_and_not_cancelled_or_refunded(db, paris_time):
    known_sales()

    assert services.totals(march()) == {
        "revenue": Decimal("170.01"),
        "order_count": 3,
        "average_order_value": Decimal("56.67"),
    }


def test_totals_of_an_empty_range_are_zero(db):
    known_sales()
    window = services.report_range(start=utc(2024, 1, 1), end=utc(2024, 2, 1), granularity="DAY")

    assert services.totals(window) == {
        "revenue": Decimal("0.00"),
        "order_count": 0,
        "average_order_value": Decimal("0.00"),
    }
    assert services.items_sold(window) == 0
    assert services.orders_by_status(window) == []
    assert services.top_products(window, limit=10) == []


def test_an_order_paid_and_then_cancelled_is_not_revenue_but_a_cancelled_unpaid_one_is_neither(
    db,
):
    variant = ProductVariantFactory(price=Decimal("10.00"))
    make_order(status=OrderStatus.CANCELLED, lines=[(variant, 1)], created_at=utc(2025, 3, 2))
    make_order(
        status=OrderStatus.CANCELLED, lines=[(variant, 2)], created_at=utc(2025, 3, 2), paid=True
    )
    window = services.report_range(start=utc(2025, 3, 1), end=utc(2025, 4, 1), granularity="DAY")

    assert services.totals(window)["order_count"] == 0
    assert services.items_sold(window) == 0
    assert services.orders_by_status(window) == [{"status": "CANCELLED", "count": 2}]


def test_a_processing_order_is_revenue(db):
    variant = ProductVariantFactory(price=Decimal("10.00"))
    make_order(status=OrderStatus.PROCESSING, lines=[(variant, 3)], created_at=utc(2025, 3, 2))
    window = services.report_range(start=utc(2025, 3, 1), end=utc(2025, 4, 1), granularity="DAY")

    assert services.totals(window) == {
        "revenue": Decimal("35.00"),
        "order_count": 1,
        "average_order_value": Decimal("35.00"),
    }
    assert services.items_sold(window) == 3


def test_the_average_order_value_has_two_decimals(db):
    variant = ProductVariantFactory(price=Decimal("10.00"))
    for _ in range(3):
        make_order(status=OrderStatus.PAID, lines=[(variant, 1)], created_at=utc(2025, 3, 2))
    make_order(status=OrderStatus.PAID, lines=[(variant, 2)], created_at=utc(2025, 3, 2))
    window = services.report_range(start=utc(2025, 3, 1), end=utc(2025, 4, 1), granularity="DAY")

    # (3 x 15.00 + 25.00) / 4 = 17.50
    assert services.totals(window)["average_order_value"] == Decimal("17.50")
    make_order(status=OrderStatus.PAID, lines=[(variant, 1)], created_at=utc(2025, 3, 3))
    make_order(status=OrderStatus.PAID, lines=[(variant, 1)], created_at=utc(2025, 3, 3))
    # (70.00 + 2 x 15.00) / 6 = 16.666...
    assert services.totals(window) == {
        "revenue": Decimal("100.00"),
        "order_count": 6,
        "average_order_value": Decimal("16.67"),
    }


def test_items_sold_count_the_units_of_paid_orders_only(db, paris_time):
    known_sales()

    assert services.items_sold(march()) == 7


def test_new_customers_are_the_non_staff_accounts_created_in_the_range(db, paris_time):
    known_sales()

    assert services.new_customers(march()) == 2


# --- by_period ------------------------------------------------------------------------------


def test_by_day_fills_every_day_from_local_midnight(db, paris_time):
    known_sales()

    periods = services.by_period(march("DAY"))

    assert [row["start"] for row in periods] == [paris(2025, 3, day) for day in range(1, 32)]
    assert periods[0]["start"].isoformat() == "2025-03-01T00:00:00+01:00"
    assert periods[29]["start"].isoformat() == "2025-03-30T00:00:00+01:00"
    assert periods[30]["start"].isoformat() == "2025-03-31T00:00:00+02:00"
    sales = {
        row["start"].day: (row["revenue"], row["order_count"])
        for row in periods
        if row["order_count"]
    }
    assert sales == {
        3: (Decimal("100.00"), 1),
        4: (Decimal("50.00"), 1),  # 3 March 23:30 UTC
        31: (Decimal("20.01"), 1),  # 31 March 21:30 UTC
    }
    assert all(
        (row["revenue"], row["order_count"]) == (Decimal("0.00"), 0)
        for row in periods
        if row["start"].day not in sales
    )


def test_by_day_follows_the_shop_time_zone(db, settings):
    settings.TIME_ZONE = "UTC"
    known_sales()
    window = services.report_range(start=utc(2025, 3, 3), end=utc(2025, 3, 5), granularity="DAY")

    assert services.by_period(window) == [
        {"start": utc(2025, 3, 3), "revenue": Decimal("150.00"), "order_count": 2},
        {"start": utc(2025, 3, 4), "revenue": Decimal("0.00"), "order_count": 0},
    ]


def test_by_week_starts_on_mondays_at_local_midnight(db, paris_time):
    known_sales()

    periods = services.by_period(march("WEEK"))

    # 1 March 2025 is a Saturday: the first week starts on Monday 24 February.
    assert periods == [
        {"start": paris(2025, 2, 24), "revenue": Decimal("0.00"), "order_count": 0},
        {"start": paris(2025, 3, 3), "revenue": Decimal("150.00"), "order_count": 2},
        {"start": paris(2025, 3, 10), "revenue": Decimal("0.00"), "order_count": 0},
        {"start": paris(2025, 3, 17), "revenue": Decimal("0.00"), "order_count": 0},
        {"start": paris(2025, 3, 24), "revenue": Decimal("0.00"), "order_count": 0},
        {"start": paris(2025, 3, 31), "revenue": Decimal("20.01"), "order_count": 1},
    ]
    assert [row["start"].weekday() for row in periods] == [0] * 6
    assert [row["start"].utcoffset() for row in periods] == [timedelta(hours=1)] * 5 + [
        timedelta(hours=2)
    ]


def test_by_month_fills_empty_months_and_cuts_at_local_midnight(db, paris_time):
    known_sales()
    window = services.report_range(
        start=paris(2025, 1, 1), end=paris(2025, 6, 1), granularity="MONTH"
    )

    assert services.by_period(window) == [
        {"start": paris(2025, 1, 1), "revenue": Decimal("0.00"), "order_count": 0},
        # 28 February 22:30 UTC is still February in Paris.
        {"start": paris(2025, 2, 1), "revenue": Decimal("360.00"), "order_count": 1},
        {"start": paris(2025, 3, 1), "revenue": Decimal("170.01"), "order_count": 3},
        # 31 March 22:00 UTC is 1 April in Paris.
        {"start": paris(2025, 4, 1), "revenue": Decimal("105.07"), "order_count": 1},
        {"start": paris(2025, 5, 1), "revenue": Decimal("0.00"), "order_count": 0},
    ]


def test_by_month_starts_with_the_month_holding_the_start(db, paris_time):
    window = services.report_range(
        start=paris(2024, 12, 15, 12, 0), end=paris(2025, 2, 1, 0, 0, 1), granularity="MONTH"
    )

    assert [row["start"] for row in services.by_period(window)] == [
        paris(2024, 12, 1),
        paris(2025, 1, 1),
        paris(2025, 2, 1),
    ]


def test_a_long_range_has_one_period_per_day(db):
    window = services.report_range(start=utc(2022, 1, 1), end=utc(2025, 1, 1), granularity="DAY")

    periods = services.by_period(window)

    assert len(periods) == 1096
    assert (periods[0]["start"], periods[-1]["start"]) == (utc(2022, 1, 1), utc(2024, 12, 31))


# --- orders_by_status and top_products -------------------------------------------------------


def test_orders_by_status_counts_every_order_placed_in_the_range(db, paris_time):
    known_sales()

    assert services.orders_by_status(march()) == [
        {"status": "CANCELLED", "count": 1},
        {"status": "DELIVERED", "count": 1},
        {"status": "PAID", "count": 1},
        {"status": "PENDING", "count": 2},
        {"status": "REFUNDED", "count": 1},
        {"status": "SHIPPED", "count": 1},
    ]


def test_top_products_rank_paid_sales_by_revenue(db, paris_time):
    data = known_sales()

    assert services.top_products(march(), limit=10) == [
        {
            "product_id": data["lamp"].product_id,
            "product_name": "Alpha Lamp",
            "quantity": 2,
            "revenue": Decimal("80.00"),
        },
        {
            "product_id": data["mug"].product_id,
            "product_name": "Beta Mug",
            "quantity": 4,
            "revenue": Decimal("60.00"),
        },
        {
            "product_id": data["pen"].product_id,
            "product_name": "Gamma Pen",
            "quantity": 1,
            "revenue": Decimal("15.01"),
        },
    ]
    assert [row["product_name"] for row in services.top_products(march(), limit=2)] == [
        "Alpha Lamp",
        "Beta Mug",
    ]


def test_top_products_count_a_renamed_product_once(db):
    product = ProductFactory(name="Cup")
    small = ProductVariantFactory(product=product, price=Decimal("10.00"))
    large = ProductVariantFactory(product=product, price=Decimal("12.00"))
    other = ProductVariantFactory(product=ProductFactory(name="Kettle"), price=Decimal("30.00"))
    make_order(status=OrderStatus.PAID, lines=[(small, 2)], created_at=utc(2025, 3, 2))
    product.name = "Teacup"
    product.save()
    small.refresh_from_db()
    large.refresh_from_db()
    make_order(status=OrderStatus.PAID, lines=[(small, 1), (large, 1)], created_at=utc(2025, 3, 3))
    make_order(status=OrderStatus.PAID, lines=[(other, 1)], created_at=utc(2025, 3, 3))
    window = services.report_range(start=utc(2025, 3, 1), end=utc(2025, 4, 1), granularity="DAY")

    # 20.00 as "Cup" and 22.00 as "Teacup": 42.00 beats the kettle's 30.00.
    assert services.top_products(window, limit=10) == [
        {
            "product_id": product.pk,
            "product_name": "Teacup",
            "quantity": 4,
            "revenue": Decimal("42.00"),
        },
        {
            "product_id": other.product_id,
            "product_name": "Kettle",
            "quantity": 1,
            "revenue": Decimal("30.00"),
        },
    ]


def test_top_products_count_lines_without_a_variant_by_name(db):
    variant = ProductVariantFactory(product=ProductFactory(name="Mug"), price=Decimal("8.00"))
    order = make_order(status=OrderStatus.PAID, lines=[(variant, 1)], created_at=utc(2025, 3, 2))
    for name, total in (("Gift wrap", "3.00"), ("Engraving", "4.00"), ("Gift wrap", "3.00")):
        OrderLine.objects.create(
            order=order,
            variant=None,
            product_name=name,
            sku=name.upper(),
            quantity=1,
            unit_price=Decimal(total),
            line_total=Decimal(total),
        )
    window = services.report_range(start=utc(2025, 3, 1), end=utc(2025, 4, 1), granularity="DAY")

    rows = services.top_products(window, limit=10)

    assert [(r["product_id"], r["product_name"], r["quantity"], r["revenue"]) for r in rows] == [
        (variant.product_id, "Mug", 1, Decimal("8.00")),
        (None, "Gift wrap", 2, Decimal("6.00")),
        (None, "Engraving", 1, Decimal("4.00")),
    ]


def test_top_products_break_revenue_ties_by_name(db):
    for name in ("Zebra", "Apple", "Mango"):
        variant = ProductVariantFactory(product=ProductFactory(name=name), price=Decimal("5.00"))
        make_order(status=OrderStatus.PAID, lines=[(variant, 1)], created_at=utc(2025, 3, 2))
    window = services.report_range(start=utc(2025, 3, 1), end=utc(2025, 4, 1), granularity="DAY")

    assert [row["product_name"] for row in services.top_products(window, limit=10)] == [
        "Apple",
        "Mango",
        "Zebra",
    ]


@pytest.mark.parametrize("limit", [0, -1, 51])
def test_top_products_refuse_a_limit_outside_1_to_50(db, limit, django_assert_num_queries):
    with django_assert_num_queries(0), pytest.raises(ValidationError) as error:
        services.top_products(march(), limit=limit)

    assert invalid(error) == ("invalid", "The limit is between 1 and 50.")


def test_top_products_accept_a_limit_of_50(db):
    assert services.top_products(march(), limit=50) == []


def test_the_known_data_set_is_what_the_docstring_says(db):
    orders = known_sales()["orders"]

    assert {name: str(order.total) for name, order in orders.items()} == {
        "paid": "100.00",
        "shipped": "50.00",
        "delivered": "20.01",
        "pending": "150.10",
        "pending_too": "45.00",
        "cancelled": "200.00",
        "refunded": "65.00",
        "february": "360.00",
        "april": "105.07",
    }
    assert Order.objects.filter(paid_at__isnull=True).count() == 2
    assert orders["shipped"].created_at.astimezone(PARIS) == paris(2025, 3, 4, 0, 30)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (datetime(1, 1, 1, tzinfo=UTC), datetime(2, 1, 1, tzinfo=UTC)),
        (datetime(9998, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC)),
    ],
)
def test_dates_at_the_ends_of_the_calendar_are_refused(start, end):
    with pytest.raises(ValidationError) as error:
        services.report_range(start=start, end=end, granularity="DAY")
    assert error.value.messages == ["Dates are between the years 1900 and 9000."]
    assert error.value.code == "invalid"
