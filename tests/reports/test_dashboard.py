"""The admin's dashboard at /admin/dashboard/: who may see it, the period picker, what it shows,
its Content-Security-Policy, its CSV files, and the fixed number of queries it runs."""

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.utils import timezone

from apps.orders.models import OrderStatus
from tests.accounts.factories import UserFactory
from tests.bookings.factories import ResourceFactory
from tests.catalog.factories import ProductFactory, ProductVariantFactory, ServiceFactory
from tests.delivery.factories import agent
from tests.reports.factories import known_sales, make_order, paris, utc
from tests.reports.operations import known_bookings, known_deliveries, make_booking, make_delivery

URL = "/admin/dashboard/"
MARCH = {"period": "custom", "start": "2025-03-01", "end": "2025-03-31"}
TABLES = [
    "summary",
    "revenue",
    "statuses",
    "products",
    "services",
    "utilisation",
    "cash",
    "low-stock",
]
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


@pytest.fixture
def paris_time(settings):
    settings.TIME_ZONE = "Europe/Paris"


@pytest.fixture
def clock(monkeypatch):
    """Set the time the code reads (``django.utils.timezone.now``)."""

    def set_to(moment: datetime) -> datetime:
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment

    return set_to


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def staff_in(group: str) -> Client:
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return signed_in(user)


@pytest.fixture
def admin_client_(store_admin) -> Client:
    return signed_in(store_admin)


def rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def figures(response, section: str) -> dict[str, tuple]:
    """The figures of a section of the page: key -> (value, previous, change)."""
    return {
        figure.key: (figure.current, figure.previous, figure.change)
        for figure in getattr(response.context["dashboard"], section)["figures"]
    }


# --- Who may see it ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", [URL, f"{URL}revenue.csv"])
def test_anonymous_is_sent_to_the_admin_login(db, path):
    response = Client().get(path, MARCH)

    assert response.status_code == 302
    assert response["Location"].startswith(f"/admin/login/?next={path}")


@pytest.mark.parametrize("path", [URL, f"{URL}revenue.csv"])
def test_a_customer_gets_the_admins_refusal(customer, path):
    response = signed_in(customer).get(path)

    # The admin sends whoever is not staff to its login page (which says they are signed in
    # as someone who may not see it).
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=")
    page = signed_in(customer).get(response["Location"])
    assert "not authorized to access this page" in page.content.decode()


@pytest.mark.parametrize("path", [URL, f"{URL}revenue.csv"])
def test_a_delivery_agent_gets_the_admins_refusal(db, path):
    courier = agent()

    response = signed_in(courier.user).get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=")


@pytest.mark.parametrize("group", [None, "Catalog manager", "Booking manager", "Delivery agent"])
@pytest.mark.parametrize("path", [URL, f"{URL}revenue.csv"])
def test_staff_without_the_reporting_permission_are_refused(db, group, path):
    client = staff_in(group) if group else signed_in(UserFactory(is_staff=True))

    assert client.get(path).status_code == 403


@pytest.mark.parametrize("group", ["Store admin", "Order manager"])
@pytest.mark.parametrize("path", [URL, f"{URL}revenue.csv"])
def test_store_admins_and_order_managers_may_see_it(db, group, path):
    assert staff_in(group).get(path).status_code == 200


def test_the_permission_alone_is_enough(db):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_reports"))

    assert signed_in(user).get(URL).status_code == 200


def test_a_superuser_may_see_it(db):
    assert signed_in(UserFactory(is_staff=True, is_superuser=True)).get(URL).status_code == 200


def test_the_admin_index_links_to_the_dashboard_for_those_who_may_see_it(admin_client_, db):
    page = admin_client_.get("/admin/").content.decode()

    assert 'id="reports-dashboard-link"' in page
    assert f'<a href="{URL}">Dashboard</a>' in page
    other = staff_in("Catalog manager").get("/admin/").content.decode()
    assert "reports-dashboard-link" not in other


# --- The page -----------------------------------------------------------------------------------


def test_the_page_is_an_admin_page_with_a_strict_content_security_policy(admin_client_):
    response = admin_client_.get(URL, MARCH)
    html = response.content.decode()

    assert response.status_code == 200
    assert response["Content-Security-Policy"] == POLICY
    assert response.templates[0].name == "reports/dashboard.html"
    assert "admin/base_site.html" in [t.name for t in response.templates]
    assert '<div class="breadcrumbs">' in html
    assert '<link rel="stylesheet" href="/static/reports/dashboard.css">' in html
    # No inline script or style: the policy would refuse them.
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert "<style" not in html
    assert " style=" not in html
    assert "https://" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart') == 3
    assert response["Cache-Control"].startswith("max-age=0")  # the admin's never_cache


def test_the_policy_allows_a_cdn_for_the_static_files(admin_client_, settings):
    settings.STATIC_URL = "https://cdn.example.com/static/"

    response = admin_client_.get(URL)

    assert "script-src 'self' https://cdn.example.com;" in response["Content-Security-Policy"]
    assert "style-src 'self' https://cdn.example.com;" in response["Content-Security-Policy"]


def test_the_figures_of_march_beside_the_period_before(admin_client_, paris_time):
    known_sales()
    known_bookings()
    known_deliveries()

    response = admin_client_.get(URL, MARCH)

    period = response.context["period"]
    assert (period.first, period.last, period.days) == (date(2025, 3, 1), date(2025, 3, 31), 31)
    assert (period.previous_first, period.previous_last) == (date(2025, 1, 29), date(2025, 2, 28))
    assert figures(response, "sales") == {
        "revenue": (Decimal("170.01"), Decimal("360.00"), Decimal("-52.8")),
        "orders": (3, 1, Decimal("200.0")),
        "average_order_value": (Decimal("56.67"), Decimal("360.00"), Decimal("-84.3")),
    }
    assert figures(response, "bookings") == {
        "bookings": (8, 2, Decimal("300.0")),
        "utilisation": (Decimal("12.0"), Decimal("3.2"), Decimal("275.0")),
        "no_shows": (1, 1, Decimal("0.0")),
        "cancellations": (1, 0, None),
    }
    assert figures(response, "deliveries") == {
        "delivered": (4, 1, Decimal("300.0")),
        "first_attempt": (Decimal("75.0"), Decimal("100.0"), Decimal("-25.0")),
        "failed_attempts": (2, 0, None),
        "pickup_to_delivery": (
            timedelta(hours=7),
            timedelta(hours=2),
            Decimal("250.0"),
        ),
        "cash_held": (Decimal("45.00"), Decimal("0.00"), None),
    }
    html = response.content.decode()
    assert "1 Mar 2025 \N{EN DASH} 31 Mar 2025" in html
    assert "compared with 29 Jan 2025 \N{EN DASH} 28 Feb 2025" in html
    assert '<p class="report-value">170.01 USD</p>' in html
    assert "7 h 00 min" in html


def test_tables_show_each_row_beside_the_previous_period(admin_client_, paris_time):
    data = known_sales()
    known_bookings()

    built = admin_client_.get(URL, MARCH).context["dashboard"]

    assert [(r["status"], r["count"], r["previous"], r["change"]) for r in built.statuses] == [
        ("PENDING", 2, 0, None),
        ("PAID", 1, 1, Decimal("0.0")),
        ("SHIPPED", 1, 0, None),
        ("DELIVERED", 1, 0, None),
        ("CANCELLED", 1, 0, None),
        ("REFUNDED", 1, 0, None),
    ]
    goods = built.best_sellers["goods"]
    assert [(r["product_name"], r["revenue"], r["previous_revenue"]) for r in goods] == [
        ("Alpha Lamp", Decimal("80.00"), Decimal("360.00")),
        ("Beta Mug", Decimal("60.00"), Decimal("0.00")),
        ("Gamma Pen", Decimal("15.01"), Decimal("0.00")),
    ]
    assert goods[0]["admin_url"] == f"/admin/catalog/product/{data['lamp'].product_id}/change/"
    assert built.best_sellers["services"] == []
    assert [
        (r["resource_name"], r["utilisation_percent"], r["previous_utilisation_percent"])
        for r in built.bookings["resources"]
    ] == [
        ("Camille", Decimal("22.7"), Decimal("8.3")),
        ("Studio", Decimal("50.0"), Decimal("0.0")),
        ("Van", Decimal("3.2"), Decimal("1.6")),
    ]


def test_top_services_are_the_service_lines(admin_client_, paris_time):
    cut = ProductVariantFactory(product=ServiceFactory(name="Haircut"), price=Decimal("35.00"))
    lamp = ProductVariantFactory(product=ProductFactory(name="Lamp"), price=Decimal("40.00"))
    make_order(status=OrderStatus.PAID, lines=[(cut, 2), (lamp, 1)], created_at=paris(2025, 3, 2))
    make_order(status=OrderStatus.PAID, lines=[(cut, 1)], created_at=paris(2025, 2, 2))

    built = admin_client_.get(URL, MARCH).context["dashboard"]

    assert [(r["product_name"], r["revenue"]) for r in built.best_sellers["goods"]] == [
        ("Lamp", Decimal("40.00"))
    ]
    [service] = built.best_sellers["services"]
    assert (service["product_name"], service["quantity"], service["revenue"]) == (
        "Haircut",
        2,
        Decimal("70.00"),
    )
    assert (service["previous_revenue"], service["change"]) == (Decimal("35.00"), Decimal("100.0"))


def test_low_stock_links_to_the_admin_change_pages(admin_client_):
    variant = ProductVariantFactory(sku="LAST-ONE", stock_quantity=1)

    html = admin_client_.get(URL).content.decode()

    assert f'<a href="/admin/catalog/productvariant/{variant.pk}/change/">LAST-ONE</a>' in html
    assert f'<a href="/admin/catalog/product/{variant.product_id}/change/">' in html


def test_names_are_escaped_on_the_page_and_in_the_charts(admin_client_, paris_time):
    ResourceFactory(name='<script>alert("x")</script>', hours=[(1, "09:00", "10:00")])
    variant = ProductVariantFactory(product=ProductFactory(name="<b>Bold</b> & co"))
    make_order(status=OrderStatus.PAID, lines=[(variant, 1)], created_at=paris(2025, 3, 2))

    html = admin_client_.get(URL, MARCH).content.decode()

    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; co" in html


# --- The period picker ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "first", "last"),
    [
        ({}, date(2026, 11, 1), date(2026, 11, 30)),  # the last 30 days by default
        ({"period": "7"}, date(2026, 11, 24), date(2026, 11, 30)),
        ({"period": "30"}, date(2026, 11, 1), date(2026, 11, 30)),
        ({"period": "90"}, date(2026, 9, 2), date(2026, 11, 30)),
    ],
)
def test_the_presets_end_today_in_the_shop_time_zone(
    admin_client_, paris_time, clock, query, first, last
):
    # 30 November 23:30 in Paris: 22:30 UTC.
    clock(datetime(2026, 11, 30, 22, 30, tzinfo=UTC))

    period = admin_client_.get(URL, query).context["period"]

    assert (period.first, period.last) == (first, last)
    assert period.window.start == paris(first.year, first.month, first.day)
    assert period.window.end == paris(2026, 12, 1)


def test_the_preset_follows_the_shop_day_not_utc(admin_client_, paris_time, clock):
    clock(datetime(2026, 11, 30, 23, 30, tzinfo=UTC))  # 1 December 00:30 in Paris

    period = admin_client_.get(URL, {"period": "7"}).context["period"]

    assert (period.first, period.last) == (date(2026, 11, 25), date(2026, 12, 1))


def test_the_current_preset_is_marked(admin_client_):
    html = admin_client_.get(URL, {"period": "7"}).content.decode()

    assert '<a href="/admin/dashboard/?period=7" class="current" aria-current="true">' in html
    assert '<a href="/admin/dashboard/?period=30">30 days</a>' in html


def test_a_custom_range_of_one_day(admin_client_, paris_time):
    variant = ProductVariantFactory(price=Decimal("100.00"))
    make_order(status=OrderStatus.PAID, lines=[(variant, 1)], created_at=paris(2025, 3, 5, 23, 30))
    make_order(status=OrderStatus.PAID, lines=[(variant, 2)], created_at=paris(2025, 3, 6, 0, 30))
    make_order(status=OrderStatus.PAID, lines=[(variant, 3)], created_at=paris(2025, 3, 4, 12))

    response = admin_client_.get(
        URL, {"period": "custom", "start": "2025-03-05", "end": "2025-03-05"}
    )

    assert figures(response, "sales")["revenue"] == (
        Decimal("100.00"),
        Decimal("300.00"),
        Decimal("-66.7"),
    )


def test_a_long_range_is_drawn_week_by_week(admin_client_):
    response = admin_client_.get(
        URL, {"period": "custom", "start": "2025-01-01", "end": "2025-06-30"}
    )

    period = response.context["period"]
    assert period.window.granularity == "WEEK"
    assert "Revenue per week" in response.content.decode()
    assert admin_client_.get(URL, {"period": "90"}).context["period"].window.granularity == "DAY"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            {"period": "custom", "start": "2025-03-31", "end": "2025-03-01"},
            "The last day cannot come before the first.",
        ),
        (
            {"period": "custom", "start": "2020-01-01", "end": "2025-03-01"},
            "A report covers at most three years.",
        ),
        (
            {"period": "custom", "start": "2025-03-01"},
            "Give the first and the last day of the range.",
        ),
        ({"period": "custom", "start": "yesterday", "end": "2025-03-01"}, "Enter a valid date."),
        ({"period": "365"}, "Select a valid choice. 365 is not one of the available choices."),
    ],
)
def test_a_bad_period_says_why_and_shows_the_default(admin_client_, query, message, clock):
    clock(datetime(2026, 11, 30, 12, tzinfo=UTC))

    response = admin_client_.get(URL, query)

    assert response.status_code == 200
    assert message in response.content.decode()
    period = response.context["period"]
    assert (period.first, period.last) == (date(2026, 11, 1), date(2026, 11, 30))
    csv_response = admin_client_.get(f"{URL}revenue.csv", query)
    assert csv_response.status_code == 400
    assert message in csv_response.content.decode()


# --- CSV ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("table", TABLES)
def test_every_table_downloads_as_csv_named_after_the_period(admin_client_, table):
    response = admin_client_.get(
        f"{URL}{table}.csv", {"period": "custom", "start": "2026-11-01", "end": "2026-11-30"}
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="silkcart-{table}-2026-11-01-2026-11-30.csv"'
    )


def test_the_page_links_every_csv_with_its_period(admin_client_):
    html = admin_client_.get(URL, MARCH).content.decode()

    for table in TABLES:
        assert (
            f'href="/admin/dashboard/{table}.csv?period=custom&amp;start=2025-03-01&amp;'
            'end=2025-03-31"'
        ) in html


def test_a_preset_period_names_its_days(admin_client_, paris_time, clock):
    clock(datetime(2026, 11, 30, 12, tzinfo=UTC))

    response = admin_client_.get(f"{URL}revenue.csv", {"period": "30"})

    assert "silkcart-revenue-2026-11-01-2026-11-30.csv" in response["Content-Disposition"]
    assert len(rows(response)) == 31


def test_an_unknown_table_is_not_found(admin_client_):
    assert admin_client_.get(f"{URL}secrets.csv").status_code == 404


def test_the_daily_series_as_csv(admin_client_, paris_time):
    known_sales()

    table = rows(admin_client_.get(f"{URL}revenue.csv", MARCH))

    assert table[0] == [
        "day",
        "revenue",
        "orders",
        "previous_day",
        "previous_revenue",
        "previous_orders",
    ]
    assert len(table) == 32
    assert table[1] == ["2025-03-01", "0.00", "0", "2025-01-29", "0.00", "0"]
    assert table[3] == ["2025-03-03", "100.00", "1", "2025-01-31", "0.00", "0"]
    assert table[4] == ["2025-03-04", "50.00", "1", "2025-02-01", "0.00", "0"]  # 00:30 Paris
    assert table[31] == ["2025-03-31", "20.01", "1", "2025-02-28", "360.00", "1"]


def test_a_long_range_series_stays_day_by_day_in_csv(admin_client_):
    table = rows(
        admin_client_.get(
            f"{URL}revenue.csv", {"period": "custom", "start": "2025-01-01", "end": "2025-06-30"}
        )
    )

    assert len(table) == 1 + 181


def test_the_key_figures_as_csv(admin_client_, paris_time):
    known_sales()
    known_bookings()
    known_deliveries()

    table = rows(admin_client_.get(f"{URL}summary.csv", MARCH))

    assert table == [
        ["section", "figure", "label", "value", "previous_value", "change_percent"],
        ["sales", "revenue", "Revenue", "170.01", "360.00", "-52.8"],
        ["sales", "orders", "Orders", "3", "1", "200.0"],
        ["sales", "average_order_value", "Average order value", "56.67", "360.00", "-84.3"],
        ["bookings", "bookings", "Bookings", "8", "2", "300.0"],
        ["bookings", "utilisation", "Utilisation", "12.0", "3.2", "275.0"],
        ["bookings", "no_shows", "No-shows", "1", "1", "0.0"],
        ["bookings", "cancellations", "Cancellations", "1", "0", ""],
        ["deliveries", "delivered", "Delivered", "4", "1", "300.0"],
        [
            "deliveries",
            "first_attempt",
            "Delivered on the first attempt",
            "75.0",
            "100.0",
            "-25.0",
        ],
        ["deliveries", "failed_attempts", "Failed attempts", "2", "0", ""],
        [
            "deliveries",
            "pickup_to_delivery",
            "Pick-up to delivery (average)",
            "25200",
            "7200",
            "250.0",
        ],
        ["deliveries", "cash_held", "Cash held by couriers", "45.00", "0.00", ""],
    ]


def test_the_other_tables_as_csv(admin_client_, paris_time):
    data = known_sales()
    places = known_bookings()
    couriers = known_deliveries()

    def table(name):
        return rows(admin_client_.get(f"{URL}{name}.csv", MARCH))

    assert table("statuses")[:3] == [
        ["status", "orders", "previous_orders", "change_percent"],
        ["PENDING", "2", "0", ""],
        ["PAID", "1", "1", "0.0"],
    ]
    assert table("products")[:2] == [
        ["product_id", "product", "quantity", "revenue", "previous_revenue", "change_percent"],
        [str(data["lamp"].product_id), "Alpha Lamp", "2", "80.00", "360.00", "-77.8"],
    ]
    assert table("utilisation")[1] == [
        str(places["camille"].pk),
        "Camille",
        "Europe/Paris",
        "11.00",
        "2.50",
        "22.7",
        "8.3",
        "173.5",
    ]
    assert table("cash") == [
        ["agent_id", "courier", "deliveries", "amount"],
        [str(couriers["dana"].pk), "Dana Rider", "1", "30.00"],
        [str(couriers["eli"].pk), "Eli Courier", "1", "15.00"],
    ]


@pytest.mark.parametrize(
    "name", ['=HYPERLINK("http://evil")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]
)
def test_text_that_a_spreadsheet_would_run_stays_text(admin_client_, paris_time, name):
    variant = ProductVariantFactory(product=ProductFactory(name=name), sku="EVIL", stock_quantity=0)
    make_order(status=OrderStatus.PAID, lines=[(variant, 1)], created_at=paris(2025, 3, 2))

    products = rows(admin_client_.get(f"{URL}products.csv", MARCH))
    low = rows(admin_client_.get(f"{URL}low-stock.csv", MARCH))

    assert products[1][1] == "'" + name
    assert low[1][2] == "'" + name


def test_negative_numbers_are_numbers(admin_client_, paris_time):
    known_sales()

    summary = rows(admin_client_.get(f"{URL}summary.csv", MARCH))

    assert summary[1][5] == "-52.8"


# --- Queries: a fixed number, whatever the data -------------------------------------------------

# The session, the user, the user's and the groups' permissions; then, for the period and the
# one before each: totals, the series, statuses, bookings' counts, utilisation (the bookings'
# time, the time off, the resources and their hours), deliveries (figures, failed attempts),
# cash; the best sellers of both kinds beside their previous sales (one query), and the low
# stock.
PAGE_QUERIES = 4 + 2 * (1 + 1 + 1 + 1 + 4 + 2 + 1) + 1 + 1


# Every status, the first one paid: one order already has best sellers to look up.
STATUSES = [OrderStatus.PAID, *(status for status in OrderStatus if status != OrderStatus.PAID)]


def a_busy_month(orders: int) -> None:
    variants = [ProductVariantFactory(product=ProductFactory(name=f"Item {n}")) for n in range(5)]
    services = [ProductVariantFactory(product=ServiceFactory(name=f"Care {n}")) for n in range(3)]
    resources = [ResourceFactory(time_zone="Europe/Paris") for _ in range(2)]
    courier = agent()
    for n in range(orders):
        make_order(
            status=STATUSES[n % len(STATUSES)],
            lines=[(variants[n % 5], 1 + n % 3), (services[n % 3], 1)],
            created_at=utc(2025, 3, 1 + n % 28, 10),
        )
        make_booking(resources[n % 2], utc(2025, 3, 1 + n % 28, 8 + n // 28), 45)
        make_delivery(
            courier,
            picked_up=utc(2025, 3, 1 + n % 28, 9),
            failed=[utc(2025, 3, 1 + n % 28, 10)] if n % 4 == 0 else [],
            delivered=utc(2025, 3, 1 + n % 28, 11),
            cash="12.00" if n % 2 else None,
        )


@pytest.mark.parametrize("orders", [1, 20])
def test_the_page_runs_the_same_queries_for_1_and_for_20_orders(
    admin_client_, paris_time, django_assert_num_queries, orders
):
    a_busy_month(orders)

    with django_assert_num_queries(PAGE_QUERIES):
        response = admin_client_.get(URL, MARCH)

    paid = [STATUSES[n % 7] for n in range(orders)]
    assert figures(response, "sales")["orders"][0] == len(
        [status for status in paid if status not in ("PENDING", "CANCELLED", "REFUNDED")]
    )
    assert figures(response, "deliveries")["delivered"][0] == orders
    assert PAGE_QUERIES == 28


def test_the_page_runs_the_same_queries_for_a_week_and_for_three_years(
    admin_client_, django_assert_num_queries
):
    a_busy_month(3)

    week = {"period": "custom", "start": "2025-03-01", "end": "2025-03-07"}
    three_years = {"period": "custom", "start": "2022-04-01", "end": "2025-03-31"}
    for query in (week, three_years):
        with django_assert_num_queries(PAGE_QUERIES):
            admin_client_.get(URL, query)
