"""Shared by bench/run.py and bench/contention.py: the bench database, its data, a gunicorn server.

Call ``setup_django()`` before anything that touches the ORM. The database must be PostgreSQL
and its name must contain "bench": the benchmarks write products, carts and orders into it.
``using_database()`` points the ORM at a second bench database for a while (bench/run.py's
large catalog).
"""

import http.client
import json
import os
import platform
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
# Where the reports go: bench/results/, or BENCH_RESULTS_DIR (a scratch directory for trial runs).
RESULTS = Path(os.environ.get("BENCH_RESULTS_DIR") or ROOT / "bench" / "results")
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/silkcart_bench"
DEFAULT_CACHE_URL = "redis://127.0.0.1:6379/14"
DEFAULT_REALTIME_URL = "redis://127.0.0.1:6379/13"  # events to subscribers: none in a bench
SETTINGS = "backend.settings.bench"

PRODUCT_SLUG = "bench-product-"
PRODUCT_SKU = "BENCH-P"
CONTENTION_SLUG = "bench-contention"
CONTENTION_SKU = "BENCH-CONTENTION"
BENCH_SKU = "BENCH-"  # every bench variant
LARGE_STOCK = 1_000_000

CATEGORY_TREE = {
    "Bench Apparel": ["Tops", "Bottoms", "Outerwear", "Footwear"],
    "Bench Living": ["Kitchen", "Lighting", "Textiles", "Storage"],
    "Bench Tech": ["Audio", "Cables", "Power", "Cases"],
}
NOUNS = ["Shirt", "Lamp", "Kettle", "Cable", "Speaker", "Blanket", "Jacket", "Jar", "Boot"]
OPTIONS = ["Small", "Medium", "Large", "Extra Large"]

# The bench services (bookable): their resources' names start with BENCH_RESOURCE, and every
# booking on such a resource belongs to the benchmarks.
BENCH_RESOURCE = "Bench "
SERVICE_ZONE = "Europe/Paris"
SERVICE_HOURS = (clock(9), clock(18))  # Monday to Saturday, local time
SERVICE_DURATION = 45  # minutes, then a 15-minute buffer: one slot an hour never overlaps
SERVICE_BUFFER_AFTER = 15
SLOTS_SERVICE = ("bench-service", "BENCH-SERVICE-45", "Bench Haircut", "Bench Stylist", 20)
CHECKOUT_SERVICE = (
    "bench-checkout-service",
    "BENCH-CHECKOUT-SERVICE-45",
    "Bench Massage",
    "Bench Room",
    40,
)
CONTENTION_SERVICE = (
    "bench-contention-service",
    "BENCH-CONTENTION-SERVICE-45",
    "Bench Private Lesson",
    "Bench Contention Coach",
    1,
)
SLOTS_WINDOW_DAYS = 31  # availableSlots: one resource, from a week ahead
CHECKOUT_SLOTS_FROM_DAYS = 30  # held slots of the checkout carts: from a month ahead
HOLD_HOURS = 2  # pre-created holds: none expires during a run (it would be taken again)

GUEST_ADDRESS = {
    "fullName": "Bench Buyer",
    "line1": "1 Loopback Street",
    "city": "Localhost",
    "postalCode": "12345",
    "country": "US",
}


def log(message: str) -> None:
    print(message, flush=True)


def env_int(name: str, default: int) -> int:
    """An integer option from the environment; ``default`` when unset or empty."""
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


# --- Django and the database -------------------------------------------------------------------


def database_url() -> str:
    return os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def database_name(url: str) -> str:
    return unquote(urlsplit(url).path.lstrip("/"))


def large_database_url() -> str:
    """The database of the large catalog: BENCH_LARGE_DATABASE_URL, or the bench database's
    URL with ``_large`` after its name (silkcart_bench_large)."""
    url = database_url()
    parts = urlsplit(url)
    return (
        os.environ.get("BENCH_LARGE_DATABASE_URL")
        or parts._replace(path=f"/{database_name(url)}_large").geturl()
    )


def _check_database(url: str, variable: str, *, allow_any_database: bool) -> str:
    """The database's name; exits unless it is PostgreSQL and its name contains "bench"."""
    name = database_name(url)
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(f"The benchmarks need PostgreSQL; {variable} is {url!r}.")
    if "bench" not in name and not allow_any_database:
        sys.exit(
            f"Refusing to benchmark on the database {name!r}: the benchmarks write products, "
            "carts and orders. Use a database whose name contains 'bench' (the default is "
            "silkcart_bench), or pass --allow-any-database."
        )
    return name


def setup_django(*, allow_any_database: bool = False) -> str:
    """Point Django at the bench settings and database (created if missing); return its URL."""
    url = database_url()
    name = _check_database(url, "DATABASE_URL", allow_any_database=allow_any_database)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("CACHE_URL", DEFAULT_CACHE_URL)
    os.environ.setdefault("REALTIME_REDIS_URL", DEFAULT_REALTIME_URL)
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    _create_database(url, name)

    import django

    # WhiteNoise warns once that collectstatic has not run; the benchmarks serve no static file.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    django.setup()
    return url


def _create_database(url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    maintenance = parts._replace(path="/postgres").geturl()
    with psycopg.connect(maintenance, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            log(f"Creating the database {name}")
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


@contextmanager
def using_database(url: str, *, allow_any_database: bool = False):
    """Django's default connection on another bench database (created if missing) in the block.

    The connections are closed on the way in and out, so that the next query opens one to the
    database in use; everything else (settings, caches) stays as ``setup_django()`` made it.
    """
    from django.db import connection
    from environ import Env

    name = _check_database(url, "BENCH_LARGE_DATABASE_URL", allow_any_database=allow_any_database)
    if name == connection.settings_dict["NAME"]:
        sys.exit(f"The second bench database must not be the first one ({name}).")
    _create_database(url, name)
    keys = ("NAME", "USER", "PASSWORD", "HOST", "PORT")
    target = Env.db_url_config(url)
    saved = {key: connection.settings_dict[key] for key in keys}
    close_connections()
    connection.settings_dict.update({key: target[key] for key in keys})
    try:
        yield
    finally:
        close_connections()
        connection.settings_dict.update(saved)


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def close_connections() -> None:
    from django.db import connections

    connections.close_all()


def machine() -> dict:
    from django.db import connection

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "postgresql": postgres,
        "platform": platform.platform(terse=True),
    }


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- Other processes' CPU during a run -----------------------------------------------------------
# The machine may be shared: a run during which other processes used the CPU is not comparable.
# Other = the CPU time the whole machine was busy, minus what this process, its children (the
# load generator), gunicorn's tree and PostgreSQL used (PostgreSQL serves the bench).

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_snapshot() -> dict:
    """Machine busy ticks, per process (name, parent, ticks), and waited-for children's ticks."""
    snapshot = {"busy": 0, "processes": {}, "children": 0}
    stat = Path("/proc/stat")
    if not stat.exists():
        return snapshot
    user, nice, system = (int(v) for v in stat.read_text().split("\n", 1)[0].split()[1:4])
    snapshot["busy"] = user + nice + system
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        used = int(fields[11]) + int(fields[12])
        snapshot["processes"][int(entry.name)] = (name, int(fields[1]), used)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    snapshot["children"] = round((usage.ru_utime + usage.ru_stime) * _CLOCK_TICKS)
    return snapshot


def other_cpu(before: dict, after: dict, own_root: int | None, seconds: float) -> float:
    """Cores used on average by other processes between the two snapshots (0 without /proc)."""
    if seconds <= 0 or not after["busy"]:
        return 0.0
    processes = after["processes"]
    own = {os.getpid()} | ({own_root} if own_root else set())
    for _ in range(2):  # children and grandchildren (gunicorn's workers)
        own |= {pid for pid, (_, parent, _) in processes.items() if parent in own}
    own_ticks = after["children"] - before["children"]
    for pid, (name, _, used) in processes.items():
        if pid in own or name.startswith("postgres"):
            previous = before["processes"].get(pid)
            own_ticks += used - (previous[2] if previous and previous[0] == name else 0)
    other = after["busy"] - before["busy"] - own_ticks
    return round(max(other, 0) / _CLOCK_TICKS / seconds, 2)


def wait_for_quiet(limit: float, timeout: float) -> float:
    """Wait until other processes use under ``limit`` cores for a second; the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        before = cpu_snapshot()
        time.sleep(1)
        if other_cpu(before, cpu_snapshot(), None, 1.0) < limit:
            break
    return time.monotonic() - started


# --- Data ---------------------------------------------------------------------------------------


def _leaf_categories() -> list:
    from apps.catalog.models import Category

    leaves = []
    for root_name, children in CATEGORY_TREE.items():
        root_slug = root_name.lower().replace(" ", "-")
        root, _ = Category.objects.get_or_create(
            slug=root_slug, defaults={"name": root_name, "parent": None}
        )
        for child_name in children:
            child, _ = Category.objects.get_or_create(
                slug=f"{root_slug}-{child_name.lower()}",
                defaults={"name": child_name, "parent": root},
            )
            leaves.append(child)
    return leaves


def _slug(index: int) -> str:
    return f"{PRODUCT_SLUG}{index:05d}"


def seed_catalog(count: int) -> None:
    """Make sure bench products 1..count exist and are on sale, with large stock (idempotent).

    Each product has 1-4 active variants, one image row and a leaf category of a small tree;
    bench products above ``count`` (from an earlier, larger run) are taken off sale. Stale
    bench guest carts and the job rows of earlier runs are deleted. Rows are bulk inserted, and
    on a re-run only what is missing or changed is written (50,000 products: seconds).
    """
    from django.db import transaction

    from apps.catalog.models import Product, ProductImage, ProductVariant

    with transaction.atomic():
        delete_stale_rows()
        leaves = _leaf_categories()
        existing = set(
            Product.objects.filter(slug__startswith=PRODUCT_SLUG).values_list("slug", flat=True)
        )
        Product.objects.bulk_create(
            [
                Product(
                    slug=_slug(index),
                    name=f"Bench {NOUNS[index % len(NOUNS)]} {index:05d}",
                    description=f"Bench product number {index}, for load tests.",
                    category=leaves[index % len(leaves)],
                    is_active=True,
                )
                for index in range(1, count + 1)
                if _slug(index) not in existing
            ],
            batch_size=1000,
        )
        rows = list(
            Product.objects.filter(slug__startswith=PRODUCT_SLUG).values_list(
                "slug", "pk", "is_active"
            )
        )
        pks = {slug: pk for slug, pk, _ in rows}
        wanted = set(catalog_slugs(count))
        off_sale = [pk for slug, pk, active in rows if active and slug not in wanted]
        on_sale = [pk for slug, pk, active in rows if not active and slug in wanted]
        Product.objects.filter(pk__in=off_sale).update(is_active=False)
        Product.objects.filter(pk__in=on_sale).update(is_active=True)

        with_variants = set(
            ProductVariant.objects.filter(sku__startswith=PRODUCT_SKU).values_list(
                "product_id", flat=True
            )
        )
        variants = []
        for index in range(1, count + 1):
            if pks[_slug(index)] in with_variants:
                continue
            rng = random.Random(index)  # noqa: S311 - bench data
            base = Decimal(rng.randrange(900, 19900)) / 100
            for number, option in enumerate(OPTIONS[: rng.randint(1, 4)]):
                variants.append(
                    ProductVariant(
                        product_id=pks[_slug(index)],
                        sku=f"{PRODUCT_SKU}{index:05d}-{number + 1}",
                        name=option,
                        price=base + number * Decimal("5.00"),
                        stock_quantity=LARGE_STOCK,
                        is_active=True,
                    )
                )
        ProductVariant.objects.bulk_create(variants, batch_size=2000, ignore_conflicts=True)
        ProductVariant.objects.filter(sku__startswith=PRODUCT_SKU).exclude(
            stock_quantity=LARGE_STOCK, is_active=True
        ).update(stock_quantity=LARGE_STOCK, is_active=True)

        with_image = set(
            ProductImage.objects.filter(product__slug__startswith=PRODUCT_SLUG).values_list(
                "product_id", flat=True
            )
        )
        ProductImage.objects.bulk_create(
            [
                ProductImage(
                    product_id=pks[_slug(index)],
                    # Width and height are set, so that no file is opened to read them.
                    image=f"products/bench/{index:05d}.jpg",
                    width=800,
                    height=800,
                    alt=f"Bench product {index}",
                    sort_order=0,
                )
                for index in range(1, count + 1)
                if pks[_slug(index)] not in with_image
            ],
            batch_size=1000,
        )
    analyze()


def analyze() -> None:
    """Fresh planner statistics after the bulk inserts (autovacuum would take a while)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def delete_stale_rows() -> None:
    """Active bench guest carts of earlier runs, and the job rows no worker will ever run."""
    from django.db import connection
    from django.db.models import Subquery

    from apps.cart.models import Cart, CartLine

    stale = CartLine.objects.filter(
        variant__sku__startswith=BENCH_SKU,
        cart__status=Cart.Status.ACTIVE,
        cart__user__isnull=True,
    ).values("cart_id")
    Cart.objects.filter(pk__in=Subquery(stale)).delete()
    # Order confirmation jobs of earlier runs: no worker sends them in the bench database.
    # Procrastinate's models are read-only; its events go with their jobs (ON DELETE CASCADE).
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM procrastinate_jobs")


def catalog_slugs(count: int) -> list[str]:
    return [_slug(index) for index in range(1, count + 1)]


def bench_variant_ids(limit: int | None = None) -> list[int]:
    from apps.catalog.models import ProductVariant

    queryset = (
        ProductVariant.objects.filter(
            sku__startswith=PRODUCT_SKU, is_active=True, product__is_active=True
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return list(queryset[:limit] if limit else queryset)


def create_guest_carts(variant_ids: list[int], count: int) -> list[str]:
    """``count`` new guest carts with one line of 1 unit each (variants in turn); their tokens."""
    from django.db import transaction

    from apps.cart.models import Cart, CartLine

    with transaction.atomic():
        carts = Cart.objects.bulk_create([Cart() for _ in range(count)], batch_size=2000)
        CartLine.objects.bulk_create(
            [
                CartLine(cart=cart, variant_id=variant_ids[index % len(variant_ids)], quantity=1)
                for index, cart in enumerate(carts)
            ],
            batch_size=2000,
        )
    return [str(cart.token) for cart in carts]


def seed_contention(units: int):
    """The contended variant, with ``units`` in stock; kept off the first catalog page."""
    from apps.catalog.models import Product, ProductVariant

    leaves = _leaf_categories()
    product, _ = Product.objects.update_or_create(
        slug=CONTENTION_SLUG,
        defaults={
            "name": "Bench Limited Edition",
            "description": "The variant every buyer wants (make bench-contention).",
            "category": leaves[0],
            "is_active": True,
        },
    )
    Product.objects.filter(pk=product.pk).update(created_at=datetime(2000, 1, 1, tzinfo=UTC))
    variant, _ = ProductVariant.objects.update_or_create(
        sku=CONTENTION_SKU,
        defaults={
            "product": product,
            "name": "One size",
            "price": Decimal("25.00"),
            "stock_quantity": units,
            "is_active": True,
        },
    )
    return variant


# --- Bookable services ---------------------------------------------------------------------------


def _local(day: date, hour: int) -> datetime:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(SERVICE_ZONE)
    return datetime.combine(day, clock(hour), tzinfo=zone).astimezone(UTC)


def _open_starts(first_day: date, days: int):
    """Slot starts on the hour, on open days (Monday to Saturday), in the resources' zone."""
    opening, closing = SERVICE_HOURS
    last_start = closing.hour - 1  # 45 minutes and the buffer: an hour
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        if day.isoweekday() == 7:
            continue
        for hour in range(opening.hour, last_start + 1):
            yield _local(day, hour)


def _today() -> date:
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(SERVICE_ZONE)).date()


def _service(spec: tuple) -> tuple:
    """One bench service (idempotent): its product, 45-minute variant, settings and resources
    with weekly hours. Kept off the first catalog page (created long ago)."""
    from apps.bookings.models import Resource, ServiceSettings, WeeklyHours
    from apps.catalog.models import Product, ProductKind, ProductVariant

    slug, sku, name, resource_name, resource_count = spec
    product, _ = Product.objects.update_or_create(
        slug=slug,
        defaults={
            "name": name,
            "description": "A bench service, booked in time slots.",
            "category": _leaf_categories()[0],
            "kind": ProductKind.SERVICE,
            "is_active": True,
        },
    )
    Product.objects.filter(pk=product.pk).update(created_at=datetime(2000, 1, 1, tzinfo=UTC))
    variant, _ = ProductVariant.objects.update_or_create(
        sku=sku,
        defaults={
            "product": product,
            "name": f"{SERVICE_DURATION} minutes",
            "price": Decimal("45.00"),
            "stock_quantity": 0,
            "is_active": True,
            "duration_minutes": SERVICE_DURATION,
        },
    )
    service, _ = ServiceSettings.objects.update_or_create(
        product=product,
        defaults={
            "buffer_before_minutes": 0,
            "buffer_after_minutes": SERVICE_BUFFER_AFTER,
            "slot_interval_minutes": 15,
            "minimum_notice_minutes": 60,
            "maximum_advance_days": 730,
            "seats_per_slot": 1,
            "cancellation_window_hours": 24,
        },
    )
    names = [f"{resource_name} {number:02d}" for number in range(1, resource_count + 1)]
    found = {r.name: r for r in Resource.objects.filter(name__in=names)}
    Resource.objects.bulk_create(
        [Resource(name=n, time_zone=SERVICE_ZONE) for n in names if n not in found]
    )
    Resource.objects.filter(name__in=names).update(time_zone=SERVICE_ZONE, is_active=True)
    resources = list(Resource.objects.filter(name__in=names).order_by("name"))
    WeeklyHours.objects.filter(resource__in=resources).delete()
    opening, closing = SERVICE_HOURS
    WeeklyHours.objects.bulk_create(
        WeeklyHours(resource=resource, weekday=weekday, start=opening, end=closing)
        for resource in resources
        for weekday in range(1, 7)
    )
    service.resources.set(resources)
    variant.product = product
    return variant, resources


def _booking(variant, resource, start: datetime, **fields):
    from apps.bookings.models import Booking

    end = start + timedelta(minutes=SERVICE_DURATION)
    return Booking(
        resource=resource,
        resource_name=resource.name,
        variant=variant,
        product_name=variant.product.name,
        variant_name=variant.name,
        start=start,
        end=end,
        blocked_start=start,
        blocked_end=end + timedelta(minutes=SERVICE_BUFFER_AFTER),
        seats=1,
        exclusive=True,
        **fields,
    )


def _slots_layout(resources: list, count: int) -> list[tuple]:
    """``count`` (resource, start) pairs: the resources in turn, each one's bookings evenly
    spread over the open slots of the year ahead."""
    starts = list(_open_starts(_today() + timedelta(days=1), 365))
    if count > len(starts) * len(resources):
        sys.exit(f"At most {len(starts) * len(resources):,} bench bookings fit a year.")
    layout = []
    for index, bookable in enumerate(resources):
        share = count // len(resources) + (index < count % len(resources))
        layout += [(bookable, starts[number * len(starts) // share]) for number in range(share)]
    return layout


def seed_services(bookings: int, *, layout: int = 0) -> dict:
    """The bench services (idempotent), and exactly ``bookings`` confirmed bookings in the
    database, those of the availableSlots service. Every other booking on a bench resource
    (the holds and orders of earlier runs) is deleted first.

    The bookings are picked from a layout of ``layout`` of them (the large database's count),
    spread over the 20 resources and the year ahead: first those of the resource that
    availableSlots asks for inside its window (about 1/240 of the layout), then an even pick of
    the others. Both databases then hold the same bookings in that window and give the same
    answer: only what lies around it differs.

    Returns what the operations need: the slots service's variant and first resource (the one
    asked for), the checkout service's variant and resources.
    """
    from django.db import transaction

    from apps.bookings.models import Booking, BookingStatus

    with transaction.atomic():
        slots_variant, slots_resources = _service(SLOTS_SERVICE)
        checkout_variant, checkout_resources = _service(CHECKOUT_SERVICE)
        Booking.objects.filter(resource__name__startswith=BENCH_RESOURCE).delete()
        rows = _slots_layout(slots_resources, max(layout, bookings))
        start, end = slots_window()
        asked = slots_resources[0]
        inside = [row for row in rows if row[0] == asked and start <= row[1] < end][:bookings]
        others = [row for row in rows if not (row[0] == asked and start <= row[1] < end)]
        rest = bookings - len(inside)
        chosen = inside + [others[number * len(others) // rest] for number in range(rest)]
        Booking.objects.bulk_create(
            [
                _booking(slots_variant, resource, when, status=BookingStatus.CONFIRMED)
                for resource, when in chosen
            ],
            batch_size=2000,
        )
    analyze()
    return {
        "slots_variant": slots_variant.pk,
        "slots_resource": slots_resources[0].pk,
        "checkout_variant": checkout_variant.pk,
        "checkout_resources": [resource.pk for resource in checkout_resources],
    }


def slots_window() -> tuple[datetime, datetime]:
    """availableSlots' window: 31 days from local midnight a week ahead."""
    start = _local(_today() + timedelta(days=7), 0)
    return start, start + timedelta(days=SLOTS_WINDOW_DAYS)


def slots_body(services: dict) -> str:
    start, end = slots_window()
    return graphql_body(
        AVAILABLE_SLOTS,
        {
            "variantId": global_id("ProductVariant", services["slots_variant"]),
            "resourceId": global_id("Resource", services["slots_resource"]),
            "start": start.isoformat(),
            "end": end.isoformat(),
        },
    )


def create_service_carts(goods_variant_ids: list[int], services: dict, count: int) -> list[str]:
    """``count`` new guest carts, each with 1 unit of goods (variants in turn) and a service
    line holding a slot of the checkout service: distinct free slots, a month ahead and later,
    held for HOLD_HOURS. Their tokens."""
    from django.db import transaction
    from django.utils import timezone

    from apps.bookings.models import Booking, BookingStatus, Resource
    from apps.cart.models import Cart, CartLine
    from apps.catalog.models import ProductKind, ProductVariant

    variant = ProductVariant.objects.select_related("product").get(pk=services["checkout_variant"])
    resources = list(Resource.objects.filter(pk__in=services["checkout_resources"]).order_by("pk"))
    taken = set(
        Booking.objects.filter(resource__in=resources)
        .taking_time()
        .values_list("resource_id", "start")
    )
    free = (
        (resource, start)
        for start in _open_starts(_today() + timedelta(days=CHECKOUT_SLOTS_FROM_DAYS), 700)
        for resource in resources
        if (resource.pk, start) not in taken
    )
    slots = [next(free) for _ in range(count)]
    expires = timezone.now() + timedelta(hours=HOLD_HOURS)
    with transaction.atomic():
        carts = Cart.objects.bulk_create([Cart() for _ in range(count)], batch_size=2000)
        CartLine.objects.bulk_create(
            [
                CartLine(
                    cart=cart,
                    variant_id=goods_variant_ids[index % len(goods_variant_ids)],
                    quantity=1,
                )
                for index, cart in enumerate(carts)
            ],
            batch_size=2000,
        )
        service_lines = CartLine.objects.bulk_create(
            [
                CartLine(cart=cart, variant=variant, kind=ProductKind.SERVICE, quantity=1)
                for cart in carts
            ],
            batch_size=2000,
        )
        Booking.objects.bulk_create(
            [
                _booking(
                    variant,
                    resource,
                    start,
                    status=BookingStatus.HELD,
                    hold_expires_at=expires,
                    cart_line=line,
                )
                for line, (resource, start) in zip(service_lines, slots, strict=True)
            ],
            batch_size=2000,
        )
    return [str(cart.token) for cart in carts]


def seed_contention_service() -> tuple:
    """The one-seat service every buyer of the slot race wants, its one resource free of
    bookings; and the slot they race for, two weeks ahead at 10:00 local time."""
    from apps.bookings.models import Booking

    variant, (resource,) = _service(CONTENTION_SERVICE)
    Booking.objects.filter(resource=resource).delete()
    return variant, resource, _local(_today() + timedelta(days=14), 10)


def global_id(type_name: str, pk: int) -> str:
    from strawberry.relay import to_base64

    return to_base64(type_name, pk)


# --- GraphQL documents --------------------------------------------------------------------------

CATALOG = """query Catalog { products(first: 20) { edges { node { id name slug category { name }
priceRange { start { amount } stop { amount } } inStock images { url } } } } }"""

PRODUCT = """query Product($slug: String!) { product(slug: $slug) { id name description
category { name slug } priceRange { start { amount currency } stop { amount currency } } inStock
variants { id sku name price { amount currency } quantityAvailable inStock }
images { url alt width height } } }"""

CART_LINES_ADD = """mutation CartLinesAdd($lines: [CartLineInput!]!) {
cartLinesAdd(lines: $lines) { __typename ... on Cart { token totalQuantity subtotal { amount }
lines { id quantity } } ... on OperationInfo { messages { code field message } } } }"""

AVAILABLE_SLOTS = """query AvailableSlots($variantId: ID!, $resourceId: ID, $start: DateTime!,
$end: DateTime!) { availableSlots(variantId: $variantId, resourceId: $resourceId, start: $start,
end: $end) { start end seatsLeft resource { id name } } }"""

CART_SLOT_ADD = """mutation CartSlotAdd($lines: [CartLineInput!]!) { cartLinesAdd(lines: $lines) {
__typename ... on Cart { token lines { quantity booking { status start } } }
... on OperationInfo { messages { code field message } } } }"""

CHECKOUT = """mutation CheckoutComplete($input: CheckoutInput!) { checkoutComplete(input: $input) {
__typename ... on Order { number status total { amount } }
... on OperationInfo { messages { code field message } } } }"""


def graphql_body(query: str, variables: dict | None = None) -> str:
    """One line of JSON (the wrk script reads one request body per line)."""
    document = " ".join(query.split())
    payload = {"query": document, "variables": variables} if variables else {"query": document}
    return json.dumps(payload, separators=(",", ":"))


def checkout_body(token: str, number: int, key: str) -> str:
    return graphql_body(
        CHECKOUT,
        {
            "input": {
                "cartToken": token,
                "email": f"buyer-{number}@bench.example.com",
                "shippingAddress": GUEST_ADDRESS,
                "paymentMethod": "CASH_ON_DELIVERY",
                "idempotencyKey": key,
            }
        },
    )


# --- HTTP ---------------------------------------------------------------------------------------


def request(
    port: int,
    method: str,
    path: str,
    body: str | None = None,
    timeout: float = 30.0,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Host": "127.0.0.1", **(headers or {})}
        if body is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=body.encode() if body else None, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """gunicorn with gunicorn.conf.py and the bench settings on a free loopback port.

    Worker recycling (max_requests) is off unless ``max_requests`` is given, so that no worker
    restart lands inside a measurement.
    """

    def __init__(
        self, *, workers: int, extra_env: dict | None = None, max_requests: int = 0
    ) -> None:
        self.port = free_port()
        self.log_path = Path(tempfile.gettempdir()) / f"silkcart-bench-gunicorn-{self.port}.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": str(workers),
            "GUNICORN_THREADS": "1",
            "GUNICORN_MAX_REQUESTS": str(max_requests),
            "GUNICORN_GRACEFUL_TIMEOUT": "5",
            "PYTHONPATH": str(ROOT),
            **(extra_env or {}),
        }
        self.process: subprocess.Popen | None = None
        self._log = None

    def __enter__(self) -> "Gunicorn":
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._fail("gunicorn exited before it was ready")
            try:
                status, _ = request(self.port, "GET", "/readyz", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self._fail("gunicorn was not ready in time")

    def _fail(self, message: str) -> None:
        self._stop()
        tail = self.log_path.read_text(errors="replace")[-3000:]
        sys.exit(f"{message}; the end of {self.log_path}:\n{tail}")

    def __exit__(self, exc_type, exc, traceback) -> None:
        self._stop()
        if exc_type is None:  # kept when something went wrong
            self.log_path.unlink(missing_ok=True)

    def _stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log:
            self._log.close()
            self._log = None


# --- The realtime process (bench/realtime.py) ---------------------------------------------------


class Uvicorn(Gunicorn):
    """backend.asgi under uvicorn, one process, as the realtime service runs it in production
    (``DATABASE_POOL=true``), with the bench settings on a free loopback port."""

    def __init__(self, *, extra_env: dict | None = None) -> None:
        super().__init__(workers=1, extra_env={"DATABASE_POOL": "true", **(extra_env or {})})
        self.log_path = Path(tempfile.gettempdir()) / f"silkcart-bench-uvicorn-{self.port}.log"

    def __enter__(self) -> "Uvicorn":
        self._log = self.log_path.open("wb")
        command = [sys.executable, "-m", "uvicorn", "backend.asgi:application"]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--lifespan", "off"]
        command += ["--no-access-log", "--log-level", "warning"]
        self.process = subprocess.Popen(  # noqa: S603 - a fixed command
            command, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )
        self._wait_ready()
        return self

    def _fail(self, message: str) -> None:
        super()._fail(message.replace("gunicorn", "uvicorn"))


def rss_bytes(pid: int) -> int:
    """The resident memory of process ``pid`` (0 without /proc)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def raise_open_file_limit(wanted: int) -> int:
    """Raise this process's soft limit of open files towards ``wanted`` (never above the hard
    limit; the servers started afterwards inherit it); the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft
