"""`make bench-dashboard` (and the end of `make bench`): the admin's dashboard on 1,000 and on
100,000 orders, in the same run.

Two bench databases, the bench database's name + ``_dashboard_<orders>``
(silkcart_bench_dashboard_1000 and silkcart_bench_dashboard_100000), are migrated and seeded
with the demo catalog and accounts (``seed_demo``); BENCH_DASHBOARD_ORDERS (1000) and
BENCH_DASHBOARD_LARGE_ORDERS (100000) demo orders over the last year with their deliveries
(``apps.demo.orders.seed_orders``, bulk inserted); and BENCH_DASHBOARD_BOOKINGS (200) and
BENCH_DASHBOARD_LARGE_BOOKINGS (20000) past bookings on 20 bench resources (completed, some
no-shows and cancellations). A database is seeded once and kept; one whose newest order is more
than a day old, or that holds more orders than asked for, is dropped and seeded again, so that
"the last 30 days" always has data.

The page is requested in-process through Django's test client (``backend.settings.bench``:
DEBUG off, cached sessions in Redis), signed in as a ``Store admin``, for each preset (7, 30,
90 days), in rounds that alternate the two databases; each round opens the database's
connection with one request it does not time. Reported per page and size: p50 and p90, and the
SQL queries of one request, which must be the same at both sizes; for the page as it opens
(the last 30 days) the ratio p50 at the large size / p50 at the small one must be at most 3,
and p50 at the large size under 500 ms (a longer period reads more rows: its growth is
reported, not held to the target). The default page's SQL at the large size goes through
``EXPLAIN (ANALYZE)``: each statement's time and the sequential scans over the orders',
bookings' and deliveries' tables are reported.

Static files are served by the plain storage here (production's manifest needs collectstatic,
and costs the page nothing measurable). Exits non-zero when a target is missed. Writes
bench/results/dashboard.{md,json}.

Environment: BENCH_DASHBOARD_ORDERS, BENCH_DASHBOARD_LARGE_ORDERS, BENCH_DASHBOARD_BOOKINGS,
BENCH_DASHBOARD_LARGE_BOOKINGS, BENCH_DASHBOARD_ROUNDS (5), BENCH_DASHBOARD_REQUESTS (6 timed
requests per page, database and round), DATABASE_URL
(postgres://postgres@127.0.0.1:5432/silkcart_bench), CACHE_URL (redis://127.0.0.1:6379/14).
"""

import argparse
import io
import json
import logging
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common
from bench.common import env_int, log

TARGETS = {"growth_ratio": 3.0, "large_p50_ms": 500}
PAGES = {"7": "7 days", "30": "30 days (the default)", "90": "90 days"}
DEFAULT_PAGE = "30"
URL = "/admin/dashboard/"
# 20 resources open 9:00-18:00, Monday to Saturday (Europe/Paris), one 45-minute slot an hour.
DASHBOARD_SERVICE = (
    "bench-dashboard-service",
    "BENCH-DASHBOARD-SERVICE-45",
    "Bench Blow-dry",
    "Bench Chair",
    20,
)
OUTCOMES = [("COMPLETED", 80), ("NO_SHOW", 7), ("CANCELLED", 13)]  # per 100 past bookings
ADMIN_EMAIL = "dashboard-admin@bench.example.com"
# The tables whose size grows with the orders and bookings: a Seq Scan of them is reported.
GROWING_TABLES = (
    "orders_order",
    "orders_orderline",
    "bookings_booking",
    "delivery_delivery",
    "delivery_deliveryevent",
)
STALE_AFTER = timedelta(days=1)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=env_int("BENCH_DASHBOARD_ORDERS", 1000))
    parser.add_argument(
        "--large-orders", type=int, default=env_int("BENCH_DASHBOARD_LARGE_ORDERS", 100_000)
    )
    parser.add_argument("--bookings", type=int, default=env_int("BENCH_DASHBOARD_BOOKINGS", 200))
    parser.add_argument(
        "--large-bookings", type=int, default=env_int("BENCH_DASHBOARD_LARGE_BOOKINGS", 20_000)
    )
    parser.add_argument("--rounds", type=int, default=env_int("BENCH_DASHBOARD_ROUNDS", 5))
    parser.add_argument("--requests", type=int, default=env_int("BENCH_DASHBOARD_REQUESTS", 6))
    parser.add_argument("--output-dir", type=Path, default=common.RESULTS)
    parser.add_argument("--allow-any-database", action="store_true")
    args = parser.parse_args()
    if not 0 < args.orders < args.large_orders:
        parser.error("--orders must be positive and below --large-orders")
    if min(args.bookings, args.large_bookings) < 0 or min(args.rounds, args.requests) < 1:
        parser.error("bookings cannot be negative; --rounds and --requests are at least 1")
    return args


def dashboard_database_url(orders: int) -> str:
    """The bench database's URL with ``_dashboard_<orders>`` after its name."""
    url = common.database_url()
    parts = urlsplit(url)
    return parts._replace(path=f"/{common.database_name(url)}_dashboard_{orders}").geturl()


# --- Data ---------------------------------------------------------------------------------------


def drop_if_stale(url: str, orders: int) -> None:
    """Drop the database when its newest demo order is older than a day (the presets would show
    an emptying end of the year) or when it holds more demo orders than ``orders``."""
    import psycopg
    from psycopg import sql

    name = common.database_name(url)
    maintenance = urlsplit(url)._replace(path="/postgres").geturl()
    with psycopg.connect(maintenance, autocommit=True) as connection:
        if not connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone():
            return
    with psycopg.connect(url, autocommit=True) as connection:
        if not connection.execute("SELECT to_regclass('orders_order')").fetchone()[0]:
            return
        count, newest = connection.execute(
            "SELECT count(*), max(created_at) FROM orders_order WHERE number LIKE 'DEMO-%%'"
        ).fetchone()
    stale = newest is not None and datetime.now(UTC) - newest > STALE_AFTER
    if not (stale or count > orders):
        return
    log(f"Dropping {name}: {count:,} demo orders, the newest of {newest:%Y-%m-%d}")
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def seed(orders: int, bookings: int) -> dict:
    """The demo data, ``orders`` demo orders and exactly ``bookings`` past bench bookings in
    the database in use, and the Store admin who reads the page; the time each part took."""
    from django.core.management import call_command

    from apps.demo.orders import seed_orders

    seconds = {}
    started = time.perf_counter()
    common.migrate()
    logging.disable(logging.INFO)  # the demo's order emails, deferred as jobs, one log line each
    try:
        call_command("seed_demo", stdout=io.StringIO())
    finally:
        logging.disable(logging.NOTSET)
    seconds["migrate_and_demo"] = time.perf_counter() - started
    started = time.perf_counter()
    created = seed_orders(count=orders)
    seconds["orders"] = time.perf_counter() - started
    started = time.perf_counter()
    seed_bookings(bookings)
    seconds["bookings"] = time.perf_counter() - started
    store_admin()
    vacuum()
    return {"created_orders": created, "seconds": {k: round(v, 1) for k, v in seconds.items()}}


def seed_bookings(count: int) -> None:
    """Exactly ``count`` past bookings on the dashboard's bench resources, spread evenly over
    their open slots of the last year, resources in turn."""
    from django.db import transaction
    from django.utils import timezone

    from apps.bookings.models import Booking

    with transaction.atomic():
        variant, resources = common._service(DASHBOARD_SERVICE)
        Booking.objects.filter(resource__in=resources).delete()
        if not count:
            return
        latest = timezone.now() - timedelta(hours=1)
        first_day = common._today() - timedelta(days=365)
        starts = [s for s in common._open_starts(first_day, 365) if s < latest]
        if count > len(starts) * len(resources):
            sys.exit(f"At most {len(starts) * len(resources):,} past bench bookings fit a year.")
        statuses = [status for status, share in OUTCOMES for _ in range(share)]
        rows = []
        for index, resource in enumerate(resources):
            share = count // len(resources) + (index < count % len(resources))
            rows += [
                common._booking(
                    variant,
                    resource,
                    starts[number * len(starts) // share],
                    status=statuses[(index + number * 7) % len(statuses)],
                )
                for number in range(share)
            ]
        Booking.objects.bulk_create(rows, batch_size=2000)


def vacuum() -> None:
    """Fresh statistics and visibility maps after the bulk inserts, as autovacuum would leave
    them a little later (index-only scans read the visibility map)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def store_admin():
    """The staff user of the ``Store admin`` group who reads the page."""
    from django.contrib.auth.models import Group

    from apps.accounts.models import User

    user = User.objects.filter(email=ADMIN_EMAIL).first()
    if user is None:
        user = User.objects.create_user(email=ADMIN_EMAIL, password=None, is_staff=True)
    user.groups.add(Group.objects.get(name="Store admin"))
    return user


def counts() -> dict:
    from apps.bookings.models import Booking
    from apps.delivery.models import Delivery
    from apps.orders.models import Order

    return {
        "orders": Order.objects.count(),
        "bookings": Booking.objects.count(),
        "deliveries": Delivery.objects.count(),
    }


# --- Measures -----------------------------------------------------------------------------------


def page_path(key: str) -> str:
    return f"{URL}?period={key}"


def signed_in_client():
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(store_admin())
    return client


def get(client, key: str) -> float:
    """One request for the page; its wall time in milliseconds."""
    started = time.perf_counter()
    response = client.get(page_path(key))
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200 or b'id="chart-revenue"' not in response.content:
        sys.exit(f"{page_path(key)} answered {response.status_code}, without its charts")
    return elapsed


def captured(client, key: str) -> list[str]:
    """The SQL statements of one request for the page."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        get(client, key)
    return [query["sql"] for query in queries.captured_queries]


def explain(sql: str) -> dict:
    """The statement's execution time and its sequential scans over growing tables."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
        result = cursor.fetchone()[0][0]
    scans = []

    def walk(node: dict) -> None:
        if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in GROWING_TABLES:
            scans.append(
                f"Seq Scan on {node['Relation Name']} ({node['Actual Total Time']:.1f} ms)"
            )
        for child in node.get("Plans", []):
            walk(child)

    walk(result["Plan"])
    return {"sql": sql, "ms": round(result["Execution Time"], 2), "seq_scans": scans}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def main() -> None:
    args = parse_args()
    common.setup_django(allow_any_database=args.allow_any_database)
    from django.test.utils import override_settings

    plain_static = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    sizes = {
        "small": (args.orders, args.bookings, dashboard_database_url(args.orders)),
        "large": (
            args.large_orders,
            args.large_bookings,
            dashboard_database_url(args.large_orders),
        ),
    }
    data, clients = {}, {}
    with override_settings(STORAGES=plain_static):
        for size, (orders, bookings, url) in sizes.items():
            drop_if_stale(url, orders)
            with common.using_database(url, allow_any_database=args.allow_any_database):
                log(f"{common.database_name(url)}: {orders:,} orders, {bookings:,} bookings")
                seeded = seed(orders, bookings)
                data[size] = {"database": common.database_name(url), **counts(), **seeded}
                clients[size] = signed_in_client()
                data[size]["queries"] = {key: captured(clients[size], key) for key in PAGES}
                if size == "large":
                    machine = common.machine()
                    plans = [explain(sql) for sql in data[size]["queries"][DEFAULT_PAGE]]

        log(f"Timing {', '.join(PAGES.values())}: {args.rounds} rounds, both databases in turn")
        timings = {size: {key: [] for key in PAGES} for size in sizes}
        for _ in range(args.rounds):
            for size, (_, _, url) in sizes.items():
                with common.using_database(url, allow_any_database=args.allow_any_database):
                    get(clients[size], DEFAULT_PAGE)  # opens the connection
                    for key in PAGES:
                        timings[size][key] += [
                            get(clients[size], key) for _ in range(args.requests)
                        ]

    pages, problems = {}, []
    for key, label in PAGES.items():
        page = {"label": label}
        for size in sizes:
            values = timings[size][key]
            page[size] = {
                "p50_ms": round(statistics.median(values), 1),
                "p90_ms": round(percentile(values, 0.9), 1),
                "queries": len(data[size]["queries"][key]),
                "samples": len(values),
            }
        page["growth"] = round(page["large"]["p50_ms"] / page["small"]["p50_ms"], 2)
        if page["small"]["queries"] != page["large"]["queries"]:
            problems.append(
                f"{label}: {page['small']['queries']} SQL queries at {args.orders:,} orders, "
                f"{page['large']['queries']} at {args.large_orders:,}"
            )
        page["targeted"] = key == DEFAULT_PAGE
        if page["targeted"] and page["growth"] > TARGETS["growth_ratio"]:
            problems.append(f"{label}: p50 grew {page['growth']:.2f} times (target 3)")
        if page["targeted"] and page["large"]["p50_ms"] > TARGETS["large_p50_ms"]:
            problems.append(f"{label}: p50 {page['large']['p50_ms']:.0f} ms at the large size")
        pages[key] = page
    for size in data:
        data[size].pop("queries")
    report = {
        "date": common.now_iso(),
        "machine": machine,
        "config": {
            "rounds": args.rounds,
            "requests": args.requests,
            "client": "django.test.Client in-process, backend.settings.bench",
        },
        "sizes": data,
        "pages": pages,
        "plans": plans,
        "targets": TARGETS,
        "problems": problems,
    }
    write_results(report, args.output_dir)
    log("")
    log(markdown(report))
    log(f"Written: {args.output_dir}/dashboard.md, dashboard.json")
    if problems:
        sys.exit(1)


# --- Report -------------------------------------------------------------------------------------


def markdown(report: dict) -> str:
    small, large = report["sizes"]["small"], report["sizes"]["large"]
    machine, config = report["machine"], report["config"]
    lines = [
        "# Dashboard: latest run",
        "",
        f"{report['date']}; {machine['cores']} cores ({machine['cpu']}); PostgreSQL "
        f"{machine['postgresql']}. `GET /admin/dashboard/` signed in as a Store admin, through "
        f"Django's test client in-process (`backend.settings.bench`), {config['rounds']} rounds "
        f"of {config['requests']} requests per page and database, the two databases in turn.",
        "",
        "| database | orders | bookings | deliveries | seeded this run |",
        "| --- | ---: | ---: | ---: | ---: |",
        *(
            f"| `{size['database']}` | {size['orders']:,} | {size['bookings']:,} | "
            f"{size['deliveries']:,} | {size['created_orders']:,} orders "
            f"({sum(size['seconds'].values()):.0f} s) |"
            for size in (small, large)
        ),
        "",
        f"| period | p50 ms at {small['orders']:,} orders | p50 ms at {large['orders']:,} | "
        "p90 ms at the large size | growth | SQL queries (both sizes) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for page in report["pages"].values():
        growth = (
            f"**{page['growth']:.2f}** (target ≤ 3)"
            if page["targeted"]
            else f"{page['growth']:.2f}"
        )
        queries = (
            str(page["small"]["queries"])
            if page["small"]["queries"] == page["large"]["queries"]
            else f"**{page['small']['queries']} / {page['large']['queries']}**"
        )
        lines.append(
            f"| {page['label']} | {page['small']['p50_ms']:.1f} | {page['large']['p50_ms']:.1f} | "
            f"{page['large']['p90_ms']:.1f} | {growth} | {queries} |"
        )
    lines += [
        "",
        f"The targets hold for the page as it opens (the last 30 days): p50 at "
        f"{large['orders']:,} orders at most {TARGETS['growth_ratio']:g} times p50 at "
        f"{small['orders']:,}, and under {TARGETS['large_p50_ms']} ms; the same SQL queries at "
        "both sizes for every period. A longer period reads more rows: its growth is shown, "
        "not held to the target.",
    ]
    slowest = sorted(report["plans"], key=lambda plan: plan["ms"], reverse=True)
    scans = [plan for plan in slowest if plan["seq_scans"]]
    lines += [
        "",
        f"`EXPLAIN (ANALYZE)` of the default page's {len(report['plans'])} statements at "
        f"{large['orders']:,} orders: {sum(p['ms'] for p in report['plans']):.1f} ms in all; "
        f"{len(scans)} with a sequential scan over {', '.join(GROWING_TABLES)}. The slowest:",
        "",
        "| ms | sequential scans | statement |",
        "| ---: | --- | --- |",
        *(
            f"| {plan['ms']:.1f} | {'; '.join(plan['seq_scans']) or '—'} | "
            f"`{_short(plan['sql'])}` |"
            for plan in slowest[:8]
        ),
        "",
        "Problems: " + ("; ".join(report["problems"]) if report["problems"] else "none."),
        "",
    ]
    return "\n".join(lines)


def _short(sql: str, length: int = 110) -> str:
    sql = " ".join(sql.split()).replace("|", "\\|").replace("`", "'")
    return sql if len(sql) <= length else sql[: length - 1] + "…"


def write_results(report: dict, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "dashboard.json").write_text(json.dumps(report, indent=2) + "\n")
    (directory / "dashboard.md").write_text(markdown(report))


if __name__ == "__main__":
    main()
