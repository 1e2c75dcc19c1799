"""The dashboard in a real browser: Debian's headless Chromium through Playwright, every request
to another host aborted. It signs in on the admin's login page, opens the dashboard from the
admin's index, checks that the page shows its SVG charts with no console error and no
Content-Security-Policy violation, downloads a CSV, and saves a screenshot in its temporary
directory.

With ``SAVE_SCREENSHOTS=1`` a second test seeds the demo data (``seed_demo`` with a year of
orders and bookings, as ``make run`` shows it) and writes ``docs/images/dashboard.png``.

Both skip, saying why, without Chromium (``/usr/bin/chromium``, or the path in ``CHROMIUM``) or
without Playwright, as the GraphiQL browser test does.
"""

import io
import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from apps.demo.accounts import DEMO_ADMIN
from tests.accounts.factories import DEFAULT_PASSWORD, UserFactory
from tests.api.test_graphiql_browser import CHROMIUM, CHROMIUM_ARGS
from tests.catalog.factories import ProductVariantFactory
from tests.reports.factories import known_sales
from tests.reports.operations import known_bookings, known_deliveries

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # the dev group is not installed
    sync_playwright = None

SCREENSHOT = Path(settings.BASE_DIR) / "docs" / "images" / "dashboard.png"
MARCH = "period=custom&start=2025-03-01&end=2025-03-31"
# The demo data of the docs' screenshot: a year of orders (with their deliveries) and bookings.
DEMO_ORDERS, DEMO_BOOKINGS = 3000, 2000


def _missing() -> str | None:
    if sync_playwright is None:
        return "needs Playwright for Python (the dev group: make install)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"needs Chromium at {CHROMIUM}: apt-get install -y chromium, or set CHROMIUM"
    return None


needs_chromium = pytest.mark.skipif(_missing() is not None, reason=_missing() or "")


@pytest.fixture
def chromium():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def shop(transactional_db, settings):
    """March 2025 in Paris, and a store admin who signs in with a password. Made before the
    browser starts: Django refuses ORM calls once Playwright's loop runs. The live server needs
    committed rows. The role groups may be gone (transactional tests empty ``auth``): the
    ``Store admin`` group is made again with the permission the page asks for if it is."""
    settings.TIME_ZONE = "Europe/Paris"
    known_sales()
    known_bookings()
    known_deliveries()
    ProductVariantFactory(sku="LAST-ONE", stock_quantity=1)
    user = UserFactory(email="boss@example.com", first_name="Robin", is_staff=True)
    store_admin, _ = Group.objects.get_or_create(name="Store admin")
    store_admin.permissions.add(
        Permission.objects.get(content_type__app_label="reports", codename="view_reports")
    )
    user.groups.add(store_admin)
    return user


class Watched:
    """A page whose console errors, failed requests, requests to other hosts and
    Content-Security-Policy violations are recorded."""

    def __init__(self, context, origin: str) -> None:
        self.page = page = context.new_page()
        self.console: list[str] = []
        self.failed: list[str] = []
        self.aborted: list[str] = []
        page.on("console", lambda m: self.console.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: self.console.append(f"uncaught: {error}"))
        page.on(
            "response",
            lambda r: self.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )
        # A load that a navigation cancels (an icon of the page left) is no failure.
        page.on(
            "requestfailed",
            lambda r: (
                None
                if r.failure == "net::ERR_ABORTED"
                else self.failed.append(f"{r.failure} {r.url}")
            ),
        )
        page.add_init_script(
            "window.__violations = [];"
            "document.addEventListener('securitypolicyviolation', (e) => window.__violations.push("
            "`${e.effectiveDirective} ${e.blockedURI}`));"
        )

        def only_the_live_server(route) -> None:
            if route.request.url.startswith(origin + "/"):
                route.continue_()
            else:
                self.aborted.append(route.request.url)
                route.abort("internetdisconnected")

        page.route("**/*", only_the_live_server)

    def violations(self) -> list[str]:
        return self.page.evaluate("() => window.__violations")

    def report(self) -> str:
        return f"console errors: {self.console}\naborted: {self.aborted}\nfailed: {self.failed}"


def _sign_in(page, email: str, password: str) -> None:
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    expect(page.locator("h1")).to_have_text("Dashboard")


@needs_chromium
def test_the_dashboard_signs_in_and_draws_its_charts_offline(shop, live_server, chromium, tmp_path):
    origin = live_server.url
    context = chromium.new_context(
        viewport={"width": 1280, "height": 900}, service_workers="block", accept_downloads=True
    )
    context.set_default_timeout(15_000)
    watched = Watched(context, origin)
    page = watched.page
    try:
        page.goto(f"{origin}/admin/dashboard/?{MARCH}")
        expect(page).to_have_url(re.compile(r"/admin/login/\?next=/admin/dashboard/%3Fperiod"))
        _sign_in(page, shop.email, DEFAULT_PASSWORD)
        page.goto(f"{origin}/admin/")
        page.click("#reports-dashboard-link th a")
        expect(page.locator("h1")).to_have_text("Dashboard")
        page.goto(f"{origin}/admin/dashboard/?{MARCH}")
        expect(page.locator("[data-figure=revenue] .report-value")).to_have_text("170.01 USD")
        charts = page.locator("svg.chart")
        expect(charts).to_have_count(3)
        lines = page.locator("#chart-revenue polyline.chart-line")
        expect(lines).to_have_count(2)
        bars = page.locator("#chart-utilisation rect.chart-bar.current")
        expect(bars).to_have_count(3)
        # The charts are drawn: the static stylesheet applied (no inline style was needed).
        stroke = page.evaluate(
            "() => getComputedStyle(document.querySelector('#chart-revenue .chart-line.current'))"
            ".stroke"
        )
        width = page.evaluate(
            "() => document.querySelector('#chart-revenue').getBoundingClientRect().width"
        )
        with page.expect_download() as download:
            page.click("#sales figcaption a.report-csv")
        csv_name = download.value.suggested_filename
        csv_text = Path(download.value.path()).read_text()
        violations = watched.violations()
    except PlaywrightError as error:
        page.screenshot(path=tmp_path / "dashboard.png", full_page=True)
        pytest.fail(
            f"The dashboard did not show ({error.message.splitlines()[0]}); screenshot in "
            f"{tmp_path}\n{watched.report()}"
        )
    page.screenshot(path=tmp_path / "dashboard.png", full_page=True)
    context.close()

    assert watched.console == []
    assert violations == []
    assert watched.aborted == []
    assert watched.failed == []
    assert stroke not in ("", "none")
    assert width > 300
    assert csv_name == "silkcart-revenue-2025-03-01-2025-03-31.csv"
    assert csv_text.splitlines()[0] == (
        "day,revenue,orders,previous_day,previous_revenue,previous_orders"
    )
    assert len(csv_text.splitlines()) == 1 + 31
    assert (tmp_path / "dashboard.png").stat().st_size > 0


@pytest.fixture
def demo_shop(django_db_serialized_rollback, transactional_db):
    """The demo data with a year of history, as ``make run`` seeds it."""
    call_command("seed_demo", orders=DEMO_ORDERS, bookings=DEMO_BOOKINGS, stdout=io.StringIO())


@needs_chromium
@pytest.mark.skipif(
    os.environ.get("SAVE_SCREENSHOTS") != "1", reason="writes docs/images: SAVE_SCREENSHOTS=1"
)
def test_the_docs_screenshot_of_the_demo_data(demo_shop, live_server, chromium, tmp_path):
    origin = live_server.url
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    context.set_default_timeout(15_000)
    watched = Watched(context, origin)
    page = watched.page
    try:
        page.goto(f"{origin}/admin/dashboard/")
        _sign_in(page, *DEMO_ADMIN)
        expect(page.locator("svg.chart")).to_have_count(3)
        expect(page.locator("#chart-revenue circle.chart-point")).to_have_count(30)
        violations = watched.violations()
    except PlaywrightError as error:
        page.screenshot(path=tmp_path / "dashboard.png", full_page=True)
        pytest.fail(f"The dashboard did not show ({error.message.splitlines()[0]})")
    page.screenshot(path=tmp_path / "dashboard.png", full_page=True)
    assert watched.console == []
    assert violations == []
    assert watched.aborted == []
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOT, full_page=True)
    context.close()
