"""The figures the dashboard and ``salesReport`` share (``apps.reports.services``), on data made
by hand: bookings and deliveries, best sellers by kind, the previous period and the changes."""

from datetime import UTC, date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from apps.bookings.models import BookingStatus
from apps.catalog.models import ProductKind
from apps.orders.models import OrderStatus
from apps.reports import dashboard, services
from tests.bookings.factories import ResourceFactory
from tests.catalog.factories import ProductFactory, ProductVariantFactory, ServiceFactory
from tests.delivery.factories import agent
from tests.reports.factories import MARCH_END, MARCH_START, known_sales, make_order, paris, utc
from tests.reports.operations import known_bookings, known_deliveries, make_booking, make_delivery


@pytest.fixture
def paris_time(settings):
    settings.TIME_ZONE = "Europe/Paris"


def march() -> services.ReportRange:
    return services.report_range(start=MARCH_START, end=MARCH_END, granularity="DAY")


def in_utc(window: services.ReportRange) -> tuple:
    return window.start.astimezone(UTC), window.end.astimezone(UTC)


def elapsed(window: services.ReportRange) -> timedelta:
    """The time that passes (Python subtracts two times of one zone by their wall clocks)."""
    start, end = in_utc(window)
    return end - start


def february() -> services.ReportRange:
    """The period before March: as long (31 days), ending when March starts."""
    return services.previous_range(march())


# --- The previous period --------------------------------------------------------------------


def test_the_previous_period_has_the_same_days_just_before(paris_time):
    previous = february()

    # 31 days of the shop's clock: 29 January 00:00 (winter time) to 1 March 00:00.
    assert (previous.start, previous.end) == (paris(2025, 1, 29), MARCH_START)
    assert previous.granularity == "DAY"


def test_the_previous_period_counts_days_of_the_shop_clock_across_summer_time(paris_time):
    # 30 March (summer time from 02:00) to 6 April: 7 days of the clock, 167 hours. The period
    # before: 23 to 30 March, 7 days of the clock too (168 hours).
    window = services.report_range(
        start=paris(2025, 3, 30), end=paris(2025, 4, 6), granularity="DAY"
    )

    previous = services.previous_range(window)

    assert (previous.start, previous.end) == (paris(2025, 3, 23), paris(2025, 3, 30))
    assert elapsed(previous) == timedelta(days=7)
    assert elapsed(window) == timedelta(days=7, hours=-1)


def test_the_previous_period_of_a_range_of_hours(db):
    window = services.report_range(
        start=utc(2025, 3, 3, 10), end=utc(2025, 3, 3, 13), granularity="DAY"
    )

    previous = services.previous_range(window)

    assert (previous.start, previous.end) == (utc(2025, 3, 3, 7), utc(2025, 3, 3, 10))


def test_the_previous_period_of_a_range_inside_the_hour_the_clock_goes_back(paris_time):
    # 02:50 summer time to 02:10 winter time on 26 October: 20 minutes, though the clock went
    # back 40; the previous period is the 20 minutes before.
    start, end = utc(2025, 10, 26, 0, 50), utc(2025, 10, 26, 1, 10)
    window = services.report_range(start=start, end=end, granularity="DAY")

    previous = services.previous_range(window)

    # In UTC: Python never finds a time of the repeated hour equal to a time of another zone.
    assert in_utc(previous) == (utc(2025, 10, 26, 0, 30), utc(2025, 10, 26, 0, 50))


@pytest.mark.parametrize(
    ("current", "previous", "change"),
    [
        (Decimal("150.00"), Decimal("100.00"), Decimal("50.0")),
        (Decimal("50.00"), Decimal("100.00"), Decimal("-50.0")),
        (3, 3, Decimal("0.0")),
        (2, 3, Decimal("-33.3")),
        (1, 3, Decimal("-66.7")),
        (0, 5, Decimal("-100.0")),
        (0, 0, Decimal("0.0")),  # nothing then, nothing now: no change
        (4, 0, None),  # nothing to compare with
        (Decimal("12.50"), 0, None),
        (None, 3, None),
        (3, None, None),
        (timedelta(hours=3), timedelta(hours=2), Decimal("50.0")),
    ],
)
def test_percent_change(current, previous, change):
    assert services.percent_change(current, previous) == change


def test_share():
    assert services.share(3, 4) == Decimal("75.0")
    assert services.share(1, 3) == Decimal("33.3")
    assert services.share(0, 4) == Decimal("0.0")
    assert services.share(2, 0) is None


# --- Sales at the edges of the period ---------------------------------------------------------


def test_an_order_at_23_30_on_the_last_day_counts_and_one_at_00_30_the_next_day_does_not(
    db, paris_time
):
    variant = ProductVariantFactory(price=Decimal("100.00"))
    make_order(status=OrderStatus.PAID, lines=[(variant, 1)], created_at=paris(2025, 3, 31, 23, 30))
    make_order(status=OrderStatus.PAID, lines=[(variant, 2)], created_at=paris(2025, 4, 1, 0, 30))
    make_order(status=OrderStatus.PAID, lines=[(variant, 3)], created_at=paris(2025, 3, 25, 0, 30))
    # 24 March 23:30 in Paris is in the period before.
    make_order(status=OrderStatus.PAID, lines=[(variant, 4)], created_at=paris(2025, 3, 24, 23, 30))

    period = dashboard.period_of(date(2025, 3, 25), date(2025, 3, 31))

    assert services.totals(period.window)["revenue"] == Decimal("400.00")
    assert services.totals(period.previous)["revenue"] == Decimal("400.00")
    assert (period.previous_first, period.previous_last) == (date(2025, 3, 18), date(2025, 3, 24))
    # In UTC (which is not the shop's zone) 23:30 on 31 March would be 1 April already.
    assert period.window.end.isoformat() == "2025-04-01T00:00:00+02:00"


def test_a_refunded_order_is_not_revenue(db, paris_time):
    variant = ProductVariantFactory(price=Decimal("100.00"))
    refunded = make_order(
        status=OrderStatus.REFUNDED, lines=[(variant, 1)], created_at=paris(2025, 3, 5)
    )
    make_order(status=OrderStatus.DELIVERED, lines=[(variant, 2)], created_at=paris(2025, 3, 5))

    assert refunded.paid_at is not None  # it was paid: only its refund keeps it out
    assert services.totals(march()) == {
        "revenue": Decimal("200.00"),
        "order_count": 1,
        "average_order_value": Decimal("200.00"),
    }


def test_money_comes_back_to_the_cent(db, paris_time):
    known_sales()

    totals = services.totals(march())

    assert str(totals["revenue"]) == "170.01"
    assert [str(row["revenue"]) for row in services.top_products(march(), limit=3)] == [
        "80.00",
        "60.00",
        "15.01",
    ]


# --- Best sellers by kind ---------------------------------------------------------------------


def test_top_products_of_one_kind(db, paris_time):
    lamp = ProductVariantFactory(product=ProductFactory(name="Lamp"), price=Decimal("40.00"))
    cut = ProductVariantFactory(product=ServiceFactory(name="Haircut"), price=Decimal("35.00"))
    colour = ProductVariantFactory(product=ServiceFactory(name="Colour"), price=Decimal("80.00"))
    make_order(status=OrderStatus.PAID, lines=[(lamp, 1), (cut, 2)], created_at=paris(2025, 3, 2))
    make_order(status=OrderStatus.PAID, lines=[(colour, 1)], created_at=paris(2025, 3, 3))

    def names(kind):
        return [
            (row["product_name"], row["revenue"])
            for row in services.top_products(march(), limit=10, kind=kind)
        ]

    assert names(ProductKind.GOODS) == [("Lamp", Decimal("40.00"))]
    assert names(ProductKind.SERVICE) == [
        ("Colour", Decimal("80.00")),
        ("Haircut", Decimal("70.00")),
    ]
    assert names(None) == [
        ("Colour", Decimal("80.00")),
        ("Haircut", Decimal("70.00")),
        ("Lamp", Decimal("40.00")),
    ]


def test_best_sellers_rank_each_kind_apart_in_one_query(db, paris_time, django_assert_num_queries):
    lamp = ProductVariantFactory(product=ProductFactory(name="Lamp"), price=Decimal("40.00"))
    mug = ProductVariantFactory(product=ProductFactory(name="Mug"), price=Decimal("40.00"))
    pen = ProductVariantFactory(product=ProductFactory(name="Pen"), price=Decimal("5.00"))
    cut = ProductVariantFactory(product=ServiceFactory(name="Haircut"), price=Decimal("35.00"))
    colour = ProductVariantFactory(product=ServiceFactory(name="Colour"), price=Decimal("80.00"))
    make_order(
        status=OrderStatus.PAID,
        lines=[(pen, 1), (mug, 1), (lamp, 1), (cut, 2)],
        created_at=paris(2025, 3, 2),
    )
    make_order(status=OrderStatus.PAID, lines=[(colour, 1)], created_at=paris(2025, 3, 3))
    make_order(status=OrderStatus.REFUNDED, lines=[(pen, 50)], created_at=paris(2025, 3, 3))
    # Just before 1 March in Paris: the period before.
    make_order(status=OrderStatus.PAID, lines=[(pen, 50)], created_at=paris(2025, 2, 28, 23))

    with django_assert_num_queries(1):
        tops = services.best_sellers(march(), limit=2)

    names = {kind: [(r["product_name"], r["revenue"]) for r in rows] for kind, rows in tops.items()}
    # A tie on revenue is broken by name; each kind keeps its own two best.
    assert names == {
        ProductKind.GOODS: [("Lamp", Decimal("40.00")), ("Mug", Decimal("40.00"))],
        ProductKind.SERVICE: [("Colour", Decimal("80.00")), ("Haircut", Decimal("70.00"))],
    }
    for kind in ProductKind.values:
        assert tops[kind] == services.top_products(march(), limit=2, kind=kind)
    with pytest.raises(ValidationError):
        services.best_sellers(march(), limit=0)


def test_best_sellers_beside_their_sales_of_the_previous_period(
    db, paris_time, django_assert_num_queries
):
    data = known_sales()
    orphan = make_order(status=OrderStatus.PAID, lines=[], created_at=paris(2025, 3, 4))
    orphan.lines.create(
        product_name="Gone", variant_name="", sku="GONE", quantity=1, unit_price=1, line_total=1
    )
    # Sold only in February: not a best seller of March.
    only_before = ProductVariantFactory(product=ProductFactory(name="Old"), price=Decimal("9.00"))
    make_order(status=OrderStatus.PAID, lines=[(only_before, 1)], created_at=paris(2025, 2, 3))

    with django_assert_num_queries(1):
        goods = services.best_sellers(march(), limit=10, previous=february())[ProductKind.GOODS]

    assert [
        (row["product_name"], row["revenue"], row["previous_quantity"], row["previous_revenue"])
        for row in goods
    ] == [
        ("Alpha Lamp", Decimal("80.00"), 9, Decimal("360.00")),
        ("Beta Mug", Decimal("60.00"), 0, Decimal("0.00")),
        ("Gamma Pen", Decimal("15.01"), 0, Decimal("0.00")),
        ("Gone", Decimal("1.00"), None, None),
    ]
    assert goods[0]["product_id"] == data["lamp"].product_id


# --- Bookings ---------------------------------------------------------------------------------


def test_booking_figures_of_march(db, paris_time):
    known_bookings()

    assert services.booking_figures(march()) == {"booked": 8, "no_shows": 1, "cancellations": 1}
    assert services.booking_figures(february()) == {
        "booked": 2,
        "no_shows": 1,
        "cancellations": 0,
    }


def test_utilisation_per_resource_in_its_own_time_zone(db, paris_time):
    known_bookings()

    rows = services.utilisation(march())

    assert [
        (r["resource_name"], r["open_hours"], r["booked_hours"], r["utilisation_percent"])
        for r in rows
    ] == [
        ("Camille", Decimal("11.00"), Decimal("2.50"), Decimal("22.7")),
        ("Studio", Decimal("4.00"), Decimal("2.00"), Decimal("50.0")),
        ("Van", Decimal("31.00"), Decimal("1.00"), Decimal("3.2")),
    ]
    assert services.utilisation_total(rows) == {
        "open_hours": Decimal("46.00"),
        "booked_hours": Decimal("5.50"),
        "utilisation_percent": Decimal("12.0"),
    }


def test_utilisation_of_the_previous_period(db, paris_time):
    known_bookings()

    rows = services.utilisation(february())

    assert [
        (r["resource_name"], r["open_hours"], r["booked_hours"], r["utilisation_percent"])
        for r in rows
    ] == [
        ("Camille", Decimal("12.00"), Decimal("1.00"), Decimal("8.3")),
        ("Studio", Decimal("4.00"), Decimal("0.00"), Decimal("0.0")),
        ("Van", Decimal("31.00"), Decimal("0.50"), Decimal("1.6")),
    ]


@pytest.mark.parametrize(
    "status",
    [BookingStatus.CANCELLED, BookingStatus.HELD, BookingStatus.EXPIRED],
)
def test_a_cancelled_or_held_booking_is_not_utilisation(db, paris_time, status):
    resource = ResourceFactory(time_zone="Europe/Paris", hours=[(2, "09:00", "12:00")])
    make_booking(resource, paris(2025, 3, 4, 9), 120, status=status)

    [row] = services.utilisation(march())

    assert (row["open_hours"], row["booked_hours"], row["utilisation_percent"]) == (
        Decimal("12.00"),
        Decimal("0.00"),
        Decimal("0.0"),
    )
    assert services.booking_figures(march())["booked"] == 0


@pytest.mark.parametrize(
    "status", [BookingStatus.CONFIRMED, BookingStatus.COMPLETED, BookingStatus.NO_SHOW]
)
def test_a_kept_booking_is_utilisation(db, paris_time, status):
    resource = ResourceFactory(time_zone="Europe/Paris", hours=[(2, "09:00", "12:00")])
    make_booking(resource, paris(2025, 3, 4, 9), 120, status=status)

    [row] = services.utilisation(march())

    assert (row["booked_hours"], row["utilisation_percent"]) == (Decimal("2.00"), Decimal("16.7"))


def test_a_resource_without_hours_has_no_utilisation(db, paris_time):
    ResourceFactory(name="Closed", hours=[])

    [row] = services.utilisation(march())

    assert (row["open_hours"], row["utilisation_percent"]) == (Decimal("0.00"), None)
    assert services.utilisation_total([row])["utilisation_percent"] is None


def test_a_held_booking_made_a_cancellation_is_not_one(db, paris_time):
    resource = ResourceFactory()
    make_booking(resource, paris(2025, 3, 4, 9), status=BookingStatus.CANCELLED, sold=False)
    make_booking(resource, paris(2025, 3, 4, 11), status=BookingStatus.CANCELLED, sold=True)

    assert services.booking_figures(march())["cancellations"] == 1


def test_an_inactive_resource_with_bookings_in_the_period_is_listed(db, paris_time):
    resource = ResourceFactory(name="Old chair", is_active=False, hours=[])
    make_booking(resource, paris(2025, 3, 4, 9), 60)

    [row] = services.utilisation(march())

    assert (row["resource_name"], row["booked_hours"], row["utilisation_percent"]) == (
        "Old chair",
        Decimal("1.00"),
        None,
    )


# --- Deliveries -------------------------------------------------------------------------------


def test_delivery_figures_of_march(db, paris_time):
    known_deliveries()

    assert services.delivery_figures(march()) == {
        "delivered": 4,
        "first_attempt": 3,
        "failed_attempts": 2,
        "average_pickup_to_delivery": timedelta(hours=7),
    }
    assert services.delivery_figures(february()) == {
        "delivered": 1,
        "first_attempt": 1,
        "failed_attempts": 0,
        "average_pickup_to_delivery": timedelta(hours=2),
    }


def test_a_delivery_on_its_second_attempt_is_not_a_first_attempt(db, paris_time):
    courier = agent()
    make_delivery(
        courier,
        picked_up=utc(2025, 3, 3, 9),
        failed=[utc(2025, 3, 3, 10)],
        delivered=utc(2025, 3, 4, 10),
    )

    figures = services.delivery_figures(march())

    assert (figures["delivered"], figures["first_attempt"], figures["failed_attempts"]) == (1, 0, 1)
    assert figures["average_pickup_to_delivery"] == timedelta(hours=25)


def test_no_delivery_has_no_average(db):
    assert services.delivery_figures(march()) == {
        "delivered": 0,
        "first_attempt": 0,
        "failed_attempts": 0,
        "average_pickup_to_delivery": None,
    }


def test_cash_held_is_what_was_collected_in_the_period_and_not_handed_in(db, paris_time):
    couriers = known_deliveries()

    assert services.cash_held(march()) == [
        {
            "agent_id": couriers["dana"].pk,
            "agent_name": "Dana Rider",
            "amount": Decimal("30.00"),
            "deliveries": 1,
        },
        {
            "agent_id": couriers["eli"].pk,
            "agent_name": "Eli Courier",
            "amount": Decimal("15.00"),
            "deliveries": 1,
        },
    ]
    assert services.cash_held(february()) == []


# --- Low stock --------------------------------------------------------------------------------


def test_low_stock_lists_goods_on_sale_fewest_first(db):
    lamp = ProductVariantFactory(product=ProductFactory(name="Lamp"), sku="LAMP", stock_quantity=2)
    mug = ProductVariantFactory(product=ProductFactory(name="Mug"), sku="MUG", stock_quantity=0)
    ProductVariantFactory(sku="PLENTY", stock_quantity=6)
    ProductVariantFactory(sku="OFF", stock_quantity=0, is_active=False)
    ProductVariantFactory(sku="HIDDEN", stock_quantity=0, product=ProductFactory(is_active=False))
    ProductVariantFactory(sku="CUT", stock_quantity=0, product=ServiceFactory())  # no stock

    rows = services.low_stock()

    assert [(r["sku"], r["stock"], r["product_name"]) for r in rows] == [
        ("MUG", 0, "Mug"),
        ("LAMP", 2, "Lamp"),
    ]
    assert (rows[0]["variant_id"], rows[0]["product_id"]) == (mug.pk, mug.product_id)
    assert services.low_stock(threshold=1) == rows[:1]
    assert [r["sku"] for r in services.low_stock(limit=1)] == ["MUG"]
    assert lamp.pk in {r["variant_id"] for r in rows}
