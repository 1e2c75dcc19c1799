"""`make bench`: throughput and latency of the main operations, served by gunicorn as in production.

Creates the bench database if missing (PostgreSQL, default silkcart_bench), migrates it, seeds a
bench catalog, starts gunicorn (gunicorn.conf.py, sync workers, backend.settings.bench) on a free
loopback port and drives it with wrk (locust when wrk is not installed). The plain Django view
``/bench/catalog/`` (the floor) is run alternately with the GraphQL catalog page, and the ratio
is taken within the same run. SQL queries per request are counted in-process (Django's test
client against the same database and settings). Writes bench/results/latest.{md,json,png}.

The catalog's size: a second bench database (default: the bench database's name + ``_large``)
is migrated and seeded with BENCH_LARGE_PRODUCTS products; two gunicorn servers, one per
database, run side by side and are loaded in turn (small, large, small, ...), and the page's
cost growth is the median over adjacent pairs of req/s at BENCH_PRODUCTS / req/s at
BENCH_LARGE_PRODUCTS. In-process, the page's SQL on the large catalog is run through
``EXPLAIN``: a Seq Scan over the product, variant or image table, or a hashed SubPlan (a
subquery computed over the whole table rather than for the page's rows), fails the run.

Bookings: bench services (``bench.common.seed_services``: resources with weekly hours, a
service with its settings and a 45-minute variant) are seeded in both databases, with
BENCH_BOOKINGS confirmed bookings in the bench database and BENCH_LARGE_BOOKINGS in the large
one (20 resources, the year ahead). ``availableSlots`` for one resource over 31 days is loaded
on both servers in turn, like the catalog page, and the growth is the median over adjacent
pairs of p50 at BENCH_LARGE_BOOKINGS / p50 at BENCH_BOOKINGS (before those runs the bench
database is brought back to exactly BENCH_BOOKINGS bookings: the checkouts below add some).
``checkoutComplete`` of guest carts holding a slot (a service line, its booking HELD, slots
distinct and free a month ahead and later, pre-created in bulk) and a unit of goods is run
right after the goods-only checkout on the same server, and compared with it (orders/s).

Every option has an environment variable: BENCH_PRODUCTS (1000), BENCH_DURATION (10 s per run),
BENCH_CONNECTIONS (8), BENCH_THREADS (2, wrk threads), BENCH_WORKERS (2), BENCH_PAIRS (3: floor
and catalog runs in turn), BENCH_MAX_REQUESTS (0: no worker recycling during the runs),
BENCH_TOOL (wrk or locust; default: wrk when installed), BENCH_CHECKOUT_CARTS (guest carts made
for checkoutComplete; default: enough for 250 orders/s), BENCH_RETRIES (1: a run during which
other processes used more than 0.25 cores is run again, after waiting up to BENCH_QUIET_WAIT
seconds, 20, for a quiet machine), BENCH_LARGE_PRODUCTS (50000; 0 skips the large catalog),
BENCH_BOOKINGS (100), BENCH_LARGE_BOOKINGS (10000; 0 skips the availableSlots comparison),
DATABASE_URL (postgres://postgres@127.0.0.1:5432/silkcart_bench), BENCH_LARGE_DATABASE_URL
(DATABASE_URL with ``_large`` after the database's name), CACHE_URL (redis://127.0.0.1:6379/14),
REALTIME_REDIS_URL (redis://127.0.0.1:6379/13).

Deliveries (bench/deliveries.py): ``myDeliveries`` of a courier with 50 open deliveries (its SQL
queries compared with a courier's with 5: they must be the same) and ``deliveryComplete`` of
deliveries out for delivery, each handed over once (BENCH_DELIVERIES of them; default: enough
for 250 a second). BENCH_ONLY=deliveries runs only those two, on the bench database, and
writes bench/results/deliveries.{md,json} (latest.* stay as the last full run left them).
"""

import argparse
import csv
import importlib.metadata
import json
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common
from bench import deliveries as bench_deliveries
from bench.common import env_int, log

WRK_SCRIPT = common.ROOT / "bench" / "wrk" / "bench.lua"
LOCUSTFILE = common.ROOT / "bench" / "locustfile.py"
WARMUP_SECONDS = 2
OTHER_CPU_LIMIT = 0.25  # cores used by other processes above which a run is flagged
SAMPLES = 3

TARGETS = {
    "catalog_floor_ratio": 0.40,
    "cached_catalog_floor_ratio": 1.0,
    "checkout_orders_per_second": 100,
    "catalog_queries": 3,
    "checkout_queries": 20,
    "catalog_growth_ratio": 1.3,  # at most: req/s on the small catalog / on the large one
    "slots_queries": 4,
    "slots_growth_ratio": 1.2,  # at most: p50 at BENCH_LARGE_BOOKINGS / p50 at BENCH_BOOKINGS
    "service_checkout_ratio": 0.7,  # at least: orders/s with a service line / goods only
    "service_checkout_queries": 20,
}
# A Seq Scan over one of these in the catalog page's plan reads the whole catalog per request.
CATALOG_TABLES = ("catalog_product", "catalog_productvariant", "catalog_productimage")


@dataclass
class Operation:
    name: str
    label: str
    method: str
    path: str
    graphql: bool = True
    bodies: list[str] = field(default_factory=list)
    once: bool = False  # each body at most once (checkout carts): never warmed up
    offset: int = 0  # once: the bodies before it may have been sent
    samples: list[str] = field(default_factory=list)  # bodies for the response checks
    headers: dict[str, str] = field(default_factory=dict)  # Authorization, for one
    expect: dict = field(default_factory=dict)  # what _problem checks the answers against


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=env_int("BENCH_PRODUCTS", 1000))
    parser.add_argument(
        "--large-products", type=int, default=env_int("BENCH_LARGE_PRODUCTS", 50000)
    )
    parser.add_argument("--duration", type=int, default=env_int("BENCH_DURATION", 10))
    parser.add_argument("--connections", type=int, default=env_int("BENCH_CONNECTIONS", 8))
    parser.add_argument("--threads", type=int, default=env_int("BENCH_THREADS", 2))
    parser.add_argument("--workers", type=int, default=env_int("BENCH_WORKERS", 2))
    parser.add_argument("--max-requests", type=int, default=env_int("BENCH_MAX_REQUESTS", 0))
    parser.add_argument("--checkout-carts", type=int, default=env_int("BENCH_CHECKOUT_CARTS", 0))
    parser.add_argument("--deliveries", type=int, default=env_int("BENCH_DELIVERIES", 0))
    parser.add_argument("--bookings", type=int, default=env_int("BENCH_BOOKINGS", 100))
    parser.add_argument(
        "--large-bookings", type=int, default=env_int("BENCH_LARGE_BOOKINGS", 10000)
    )
    parser.add_argument("--pairs", type=int, default=env_int("BENCH_PAIRS", 3))
    parser.add_argument("--retries", type=int, default=env_int("BENCH_RETRIES", 1))
    parser.add_argument("--quiet-wait", type=int, default=env_int("BENCH_QUIET_WAIT", 20))
    parser.add_argument("--tool", choices=["wrk", "locust"], default=os.environ.get("BENCH_TOOL"))
    parser.add_argument(
        "--only",
        choices=["deliveries"],
        default=os.environ.get("BENCH_ONLY") or None,
        help="Run only these scenarios (written to <output-dir>/<only>.md and .json).",
    )
    parser.add_argument("--output-dir", type=Path, default=common.RESULTS)
    parser.add_argument("--allow-any-database", action="store_true")
    args = parser.parse_args()
    if args.products < 20:
        parser.error("--products must be at least 20 (one catalog page)")
    if args.pairs < 1:
        parser.error("--pairs must be at least 1 (a floor run and a catalog run)")
    if args.large_products and args.large_products <= args.products:
        parser.error("--large-products must be 0 (no large catalog) or more than --products")
    if args.bookings < 0 or (args.large_bookings and args.large_bookings <= args.bookings):
        parser.error("--large-bookings must be 0 (no comparison) or more than --bookings")
    args.large_database_url = common.large_database_url()
    if args.tool is None:
        args.tool = "wrk" if shutil.which("wrk") else "locust"
    elif args.tool == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install wrk), use --tool locust")
    args.threads = max(1, min(args.threads, args.connections))
    return args


# --- Operations ----------------------------------------------------------------------------------


def once_pool(args: argparse.Namespace, given: int) -> int:
    """Bodies to make for an operation sent once each (checkout carts, deliveries): ``given``,
    or enough for every attempt at 250 a second (see run_load for the factor of the threads)."""
    return given or 250 * args.duration * args.threads * (1 + args.retries)


def build_operations(
    args: argparse.Namespace, services: dict, couriers: dict
) -> dict[str, Operation]:
    variants = common.bench_variant_ids()
    variant_gids = [common.global_id("ProductVariant", pk) for pk in variants]
    catalog = common.graphql_body(common.CATALOG)
    products = [
        common.graphql_body(common.PRODUCT, {"slug": slug})
        for slug in common.catalog_slugs(args.products)
    ]
    adds = [
        common.graphql_body(common.CART_LINES_ADD, {"lines": [{"variantId": gid, "quantity": 1}]})
        for gid in variant_gids
    ]
    carts = once_pool(args, args.checkout_carts)
    tokens = common.create_guest_carts(variants, carts + SAMPLES)
    checkouts = [
        common.checkout_body(token, number, f"bench-{uuid.uuid4().hex}")
        for number, token in enumerate(tokens)
    ]
    service_tokens = common.create_service_carts(variants, services, carts + SAMPLES)
    service_checkouts = [
        common.checkout_body(token, number, f"bench-service-{uuid.uuid4().hex}")
        for number, token in enumerate(service_tokens)
    ]
    slots = common.slots_body(services)
    return {
        "floor": Operation(
            "floor", "floor (`GET /bench/catalog/`)", "GET", "/bench/catalog/", graphql=False
        ),
        "catalog": Operation(
            "catalog", "catalog", "POST", "/graphql/", bodies=[catalog], samples=[catalog]
        ),
        "catalog_cached": Operation(
            "catalog_cached",
            "catalog (response cache)",
            "POST",
            "/graphql/",
            bodies=[catalog],
            samples=[catalog],
        ),
        "product": Operation(
            "product", "product", "POST", "/graphql/", bodies=products, samples=products[:SAMPLES]
        ),
        "cartLinesAdd": Operation(
            "cartLinesAdd", "cartLinesAdd", "POST", "/graphql/", bodies=adds, samples=adds[:SAMPLES]
        ),
        "checkoutComplete": Operation(
            "checkoutComplete",
            "checkoutComplete",
            "POST",
            "/graphql/",
            bodies=checkouts[SAMPLES:],
            once=True,
            samples=checkouts[:SAMPLES],
        ),
        "checkoutService": Operation(
            "checkoutService",
            "checkoutComplete (service + goods)",
            "POST",
            "/graphql/",
            bodies=service_checkouts[SAMPLES:],
            once=True,
            samples=service_checkouts[:SAMPLES],
        ),
        "availableSlots": Operation(
            "availableSlots",
            f"availableSlots ({args.bookings:,} bookings)",
            "POST",
            "/graphql/",
            bodies=[slots],
            samples=[slots],
        ),
        **delivery_operations(couriers),
    }


def delivery_operations(couriers: dict) -> dict[str, Operation]:
    """myDeliveries of the courier with 50 open deliveries; deliveryComplete of the couriers'
    rounds, each body once (``couriers``: what ``bench.deliveries.seed`` returned)."""
    rounds = [bench_deliveries.complete_body(handover) for handover in couriers["complete"]]
    return {
        "myDeliveries": Operation(
            "myDeliveries",
            f"myDeliveries ({couriers['open']['fifty']} open)",
            "POST",
            "/graphql/",
            bodies=[bench_deliveries.my_deliveries_body()],
            samples=[bench_deliveries.my_deliveries_body()],
            headers=bench_deliveries.bearer(couriers["tokens"]["fifty"]),
            expect={"total": couriers["open"]["fifty"], "courier": "fifty"},
        ),
        "deliveryComplete": Operation(
            "deliveryComplete",
            "deliveryComplete (half cash)",
            "POST",
            "/graphql/",
            bodies=rounds[SAMPLES:],
            once=True,
            samples=rounds[:SAMPLES],
            headers=bench_deliveries.bearer(couriers["tokens"]["rounds"]),
        ),
    }


def _problem(op: Operation, payload) -> str | None:
    """What is wrong with one decoded answer of ``op``, or None."""
    if op.name == "floor":
        products = payload.get("products") or []
        return None if len(products) == 20 else f"{len(products)} products instead of 20"
    if payload.get("errors"):
        return f"GraphQL errors: {payload['errors']}"
    data = payload.get("data") or {}
    if op.name.startswith("catalog"):
        edges = (data.get("products") or {}).get("edges") or []
        if len(edges) != 20:
            return f"{len(edges)} products instead of 20"
        for edge in edges:
            node = edge["node"]
            if not (node["id"] and node["category"]["name"] and node["images"]):
                return f"incomplete product {node}"
        return None
    if op.name == "product":
        product = data.get("product")
        return None if product and product["variants"] else f"no product or variants: {product}"
    if op.name == "cartLinesAdd":
        cart = data.get("cartLinesAdd") or {}
        ok = cart.get("__typename") == "Cart" and cart.get("totalQuantity") == 1
        return None if ok else f"not a cart with one unit: {cart}"
    if op.name.startswith("availableSlots"):
        slots = data.get("availableSlots") or []
        resources = {slot["resource"]["id"] for slot in slots}
        if not slots or len(resources) != 1 or min(s["seatsLeft"] for s in slots) < 1:
            return f"not the free slots of one resource: {str(slots)[:300]}"
        return None
    if op.name in ("checkoutComplete", "checkoutService"):
        order = data.get("checkoutComplete") or {}
        ok = order.get("__typename") == "Order" and str(order.get("number", "")).startswith("SC-")
        return None if ok else f"not an order: {order}"
    if op.name.startswith("myDeliveries"):
        courier = op.expect["courier"]
        return bench_deliveries.my_deliveries_problem(
            data, op.expect["total"], bench_deliveries.courier_name(courier)
        )
    if op.name.startswith("deliveryComplete"):
        return bench_deliveries.complete_problem(data)
    return None


def verify_samples(op: Operation, port: int) -> list[str]:
    """Send the sample requests through gunicorn and check each decoded answer."""
    problems = []
    for body in op.samples or [None]:
        status, raw = common.request(port, op.method, op.path, body, headers=op.headers)
        if status != 200:
            problems.append(f"{op.name}: HTTP {status}: {raw[:300]!r}")
            continue
        problem = _problem(op, json.loads(raw))
        if problem:
            problems.append(f"{op.name}: {problem}")
    return problems


def verify_parity(port: int) -> list[str]:
    """The floor and the GraphQL catalog page answer the same products with the same values."""
    _, floor_raw = common.request(port, "GET", "/bench/catalog/")
    _, graphql_raw = common.request(port, "POST", "/graphql/", common.graphql_body(common.CATALOG))
    floor = json.loads(floor_raw)["products"]
    nodes = [edge["node"] for edge in json.loads(graphql_raw)["data"]["products"]["edges"]]
    problems = []
    for plain, node in zip(floor, nodes, strict=False):
        expected = {
            "id": node["id"],
            "name": node["name"],
            "slug": node["slug"],
            "category": node["category"],
            "priceRange": node["priceRange"],
            "inStock": node["inStock"],
            "image": node["images"][0]["url"] if node["images"] else None,
        }
        if plain != expected:
            problems.append(f"floor and GraphQL differ: {plain} != {expected}")
            break
    if len(floor) != len(nodes):
        problems.append(f"floor has {len(floor)} products, GraphQL {len(nodes)}")
    return problems


# --- SQL queries per request, in-process ---------------------------------------------------------


def captured_queries(op: Operation, bodies: list[str | None]) -> list[dict]:
    """The SQL queries (``sql``, ``time``) of the last of ``bodies`` sent in-process."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1", headers=op.headers)
    queries = []
    for body in bodies:  # the first ones warm up; the last one is captured
        with CaptureQueriesContext(connection) as captured:
            if op.method == "GET":
                response = client.get(op.path)
            else:
                response = client.post(op.path, body, content_type="application/json")
        if response.status_code != 200:
            sys.exit(f"{op.name} in-process: HTTP {response.status_code}")
        if problem := _problem(op, response.json()):
            sys.exit(f"{op.name} in-process: {problem}")
        queries = captured.captured_queries
    return queries


def count_queries(
    operations: dict[str, Operation], services: dict, couriers: dict
) -> dict[str, int]:
    from django.test import override_settings

    def measure(op: Operation, bodies: list[str | None]) -> int:
        return len(captured_queries(op, bodies))

    variants = common.bench_variant_ids(limit=2)
    checkout_bodies = [
        common.checkout_body(token, number, f"bench-count-{uuid.uuid4().hex}")
        for number, token in enumerate(common.create_guest_carts(variants, 2))
    ]
    service_bodies = [
        common.checkout_body(token, number, f"bench-count-{uuid.uuid4().hex}")
        for number, token in enumerate(common.create_service_carts(variants, services, 2))
    ]
    counts = {
        **count_delivery_queries(operations, couriers),
        "floor": measure(operations["floor"], [None, None]),
        "catalog": measure(operations["catalog"], operations["catalog"].bodies * 2),
        "product": measure(operations["product"], operations["product"].bodies[:2]),
        "cartLinesAdd": measure(operations["cartLinesAdd"], operations["cartLinesAdd"].bodies[:2]),
        "checkoutComplete": measure(operations["checkoutComplete"], checkout_bodies),
        "checkoutService": measure(operations["checkoutService"], service_bodies),
        "availableSlots": measure(
            operations["availableSlots"], operations["availableSlots"].bodies * 2
        ),
    }
    with override_settings(CATALOG_CACHE=True):
        counts["catalog_cached"] = measure(
            operations["catalog_cached"], operations["catalog_cached"].bodies * 2
        )
    return counts


def count_delivery_queries(operations: dict[str, Operation], couriers: dict) -> dict[str, int]:
    """myDeliveries at 50 and at 5 open deliveries; deliveryComplete of a cash order and of a
    card one (each delivery handed over once: the first of each kind warms up), and the more
    of the two as deliveryComplete's."""
    my_deliveries = operations["myDeliveries"]
    counts = {
        "myDeliveries": len(captured_queries(my_deliveries, my_deliveries.bodies * 2)),
        # The same page of another courier, with 5 open deliveries: the same queries.
        "myDeliveries_5": len(
            captured_queries(
                replace(
                    my_deliveries,
                    name="myDeliveries_5",
                    headers=bench_deliveries.bearer(couriers["tokens"]["five"]),
                    expect={"total": couriers["open"]["five"], "courier": "five"},
                ),
                my_deliveries.bodies * 2,
            )
        ),
        **{
            f"deliveryComplete_{kind}": len(
                captured_queries(
                    operations["deliveryComplete"],
                    [bench_deliveries.complete_body(h) for h in couriers["count"][kind]],
                )
            )
            for kind in ("cash", "card")
        },
    }
    counts["deliveryComplete"] = max(counts[f"deliveryComplete_{k}"] for k in ("cash", "card"))
    return counts


# --- The large catalog, in-process: seeding, SQL queries and their plans ------------------------


def prepare_large_catalog(args: argparse.Namespace, catalog: Operation) -> dict:
    """Migrate and seed the large bench database, then capture the catalog page's SQL there:
    its query count, and the plan of each statement."""
    name = common.database_name(args.large_database_url)
    with common.using_database(args.large_database_url, allow_any_database=args.allow_any_database):
        log(f"Database {name}: migrating and seeding {args.large_products:,} bench products")
        common.migrate()
        started = time.monotonic()
        common.seed_catalog(args.large_products)
        seeded = time.monotonic() - started
        log(f"  seeded in {seeded:.1f} s; the catalog page's SQL through EXPLAIN")
        queries = captured_queries(catalog, catalog.bodies * 2)
        plans = [explain(query["sql"]) for query in queries]
    return {
        "database": name,
        "seed_seconds": round(seeded, 1),
        "queries": len(queries),
        "plans": plans,
    }


def prepare_large_bookings(args: argparse.Namespace, slots: Operation) -> dict:
    """Migrate the large bench database and seed its services with BENCH_LARGE_BOOKINGS
    bookings; the availableSlots request there (its ids are that database's), its SQL queries
    and the plan of the bookings' one."""
    name = common.database_name(args.large_database_url)
    with common.using_database(args.large_database_url, allow_any_database=args.allow_any_database):
        log(f"Database {name}: migrating and seeding {args.large_bookings:,} bench bookings")
        common.migrate()
        started = time.monotonic()
        services = common.seed_services(args.large_bookings, layout=args.large_bookings)
        seeded = time.monotonic() - started
        body = common.slots_body(services)
        queries = captured_queries(replace(slots, bodies=[body]), [body, body])
        plans = [explain(query["sql"]) for query in queries if '"bookings_booking"' in query["sql"]]
    return {
        "database": name,
        "seed_seconds": round(seeded, 1),
        "queries": len(queries),
        "body": body,
        "plans": [{key: plan[key] for key in ("sql", "summary", "text")} for plan in plans],
    }


def explain(sql: str) -> dict:
    """The plan of one statement: a one-line summary, its problems and the EXPLAIN text.

    VERBOSE: PostgreSQL (15 at least) names a subplan hashed only in the expressions that use
    it (``(hashed SubPlan 2)``), not in the ``Subplan Name`` of the subplan's own node.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (VERBOSE, FORMAT JSON) {sql}")
        plan = cursor.fetchone()[0][0]["Plan"]
        cursor.execute(f"EXPLAIN (VERBOSE) {sql}")
        text = "\n".join(row[0] for row in cursor.fetchall())
    hashed = set(re.findall(r"hashed (SubPlan \d+)", json.dumps(plan)))
    return {
        "sql": sql,
        "summary": plan_summary(plan, hashed),
        "problems": [
            f"{subplan_name(node, hashed)}{describe_node(node)}"
            for node in plan_nodes(plan)
            if is_seq_scan_of_catalog(node) or "hashed" in subplan_name(node, hashed)
        ],
        "text": text,
    }


def plan_nodes(node: dict):
    """The node and every node below it, subplans included, depth first."""
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


def is_seq_scan_of_catalog(node: dict) -> bool:
    return node["Node Type"] == "Seq Scan" and node.get("Relation Name") in CATALOG_TABLES


def subplan_name(node: dict, hashed: set[str]) -> str:
    """``"hashed SubPlan 2: "`` on the top node of a subplan, ``""`` on other nodes."""
    name = node.get("Subplan Name", "")
    if not name:
        return ""
    return f"hashed {name}: " if name in hashed and "hashed" not in name else f"{name}: "


def describe_node(node: dict) -> str:
    """``Index Scan Backward on catalog_product``: the node type and what it reads."""
    backward = " Backward" if node.get("Scan Direction") == "Backward" else ""
    target = node.get("Relation Name") or node.get("Index Name")
    return f"{node['Node Type']}{backward}" + (f" on {target}" if target else "")


def plan_summary(node: dict, hashed: set[str]) -> str:
    """The plan on one line: ``A > B`` for one child, ``A (B, C)`` for several."""
    text = subplan_name(node, hashed) + describe_node(node)
    children = [plan_summary(child, hashed) for child in node.get("Plans", [])]
    if len(children) == 1:
        return f"{text} > {children[0]}"
    return f"{text} ({', '.join(children)})" if children else text


# --- Load ---------------------------------------------------------------------------------------


def tool_version(tool: str) -> str:
    if tool == "wrk":
        result = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)  # noqa: S607
        version = re.search(r"\d+\.\d+(\.\d+)?", result.stdout or result.stderr)
        return f"wrk {version.group(0) if version else ''}".strip()
    # Not imported: locust monkey-patches the process with gevent.
    return f"locust {importlib.metadata.version('locust')} (FastHttpUser)"


def run_load(
    op: Operation, server: common.Gunicorn, args: argparse.Namespace, duration: int, workdir: Path
) -> dict:
    port = server.port
    bodies_file = workdir / f"{op.name}.bodies"
    bodies = op.bodies[op.offset :]
    bodies_file.write_text("\n".join(bodies) + "\n" if bodies else "")
    env = {
        **os.environ,
        "BENCH_METHOD": op.method,
        "BENCH_PATH": op.path,
        "BENCH_BODIES": str(bodies_file) if bodies else "",
        "BENCH_ONCE": "1" if op.once else "0",
        "BENCH_THREADS": str(args.threads),
        "BENCH_GRAPHQL": "1" if op.graphql else "0",
        "BENCH_AUTHORIZATION": op.headers.get("Authorization", ""),
    }
    url = f"http://127.0.0.1:{port}{op.path}"
    before, started = common.cpu_snapshot(), time.monotonic()
    if args.tool == "wrk":
        result = _run_wrk(url, args, duration, env)
    else:
        result = _run_locust(port, args, duration, env, workdir / op.name)
    result["other_cpu_cores"] = common.other_cpu(
        before, common.cpu_snapshot(), server.process.pid, time.monotonic() - started
    )
    if op.once:
        # Thread t of T sends bodies t, t + T, ...: none beyond T x (its requests) was sent.
        sent = result["requests"] + result["exhausted"] + args.connections
        op.offset = min(len(op.bodies), op.offset + args.threads * sent)
    return result


def _run_wrk(url: str, args: argparse.Namespace, duration: int, env: dict) -> dict:
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(WRK_SCRIPT),
        url,
    ]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    for line in completed.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            raw = json.loads(line.removeprefix("BENCH_RESULT "))
            break
    else:
        sys.exit(f"wrk failed:\n{completed.stdout}\n{completed.stderr}")
    seconds = raw["duration_us"] / 1e6
    requests = raw["requests"] - raw["exhausted"]
    return {
        "requests": requests,
        "seconds": round(seconds, 2),
        "rps": round(requests / seconds, 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p90_ms": round(raw["p90_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "max_ms": round(raw["max_us"] / 1000, 2),
        "http_errors": raw["http_errors"],
        "graphql_errors": raw["graphql_errors"],
        "socket_errors": raw["socket_errors"],
        "errors": raw["http_errors"] + raw["graphql_errors"] + raw["socket_errors"],
        "exhausted": raw["exhausted"],
    }


def _run_locust(port: int, args: argparse.Namespace, duration: int, env: dict, prefix: Path):
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--only-summary",
        "--loglevel",
        "WARNING",
        "-u",
        str(args.connections),
        "-r",
        str(args.connections),
        "-t",
        f"{duration}s",
        "--stop-timeout",
        "5",
        "--host",
        f"http://127.0.0.1:{port}",
        "--csv",
        str(prefix),
    ]
    subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    with Path(f"{prefix}_stats.csv").open() as stats:
        row = next(r for r in csv.DictReader(stats) if r["Name"] == "Aggregated")
    requests = int(row["Request Count"])
    failures = int(row["Failure Count"])

    def number(name: str) -> float:
        return float(row[name]) if requests else 0.0  # "N/A" without requests

    return {
        "requests": requests,
        "seconds": duration,
        "rps": round(number("Requests/s"), 1),
        "p50_ms": number("50%"),
        "p90_ms": number("90%"),
        "p99_ms": number("99%"),
        "max_ms": number("Max Response Time"),
        "http_errors": failures,
        "graphql_errors": 0,
        "socket_errors": 0,
        "errors": failures,
        "exhausted": 0,
    }


def measure(
    op: Operation, server: common.Gunicorn, args: argparse.Namespace, workdir: Path
) -> dict:
    """One measured run of ``op``, run again (--retries) when other processes were busy. The
    run kept has the counts of every attempt (``all_attempts``: each sends new bodies of an
    operation sent once)."""
    attempts = []
    for attempt in range(1 + args.retries):
        if attempt:
            waited = common.wait_for_quiet(OTHER_CPU_LIMIT / 2, timeout=args.quiet_wait)
            log(f"    other processes were busy: again (after {waited:.0f} s)")
        result = run_load(op, server, args, args.duration, workdir)
        result["attempt"] = attempt + 1
        attempts.append({k: result[k] for k in ("requests", "errors", "socket_errors")})
        result["all_attempts"] = list(attempts)
        log(
            f"  {op.label:<30} {result['rps']:>8,.1f} req/s  p50 {result['p50_ms']:>7.2f} ms"
            f"  p99 {result['p99_ms']:>7.2f} ms  errors {result['errors']}  "
            f"other processes {result['other_cpu_cores']:.2f} cores"
        )
        if result["other_cpu_cores"] <= OTHER_CPU_LIMIT:
            break
    return result


def measure_growth(
    comparisons: list[tuple[Operation, Operation]], args: argparse.Namespace, workdir: Path
) -> tuple[dict[str, list[tuple[dict, dict]]], list[str]]:
    """Each (small, large) comparison: one operation on the bench database and on the large
    one, served by two servers side by side and loaded one at a time (small, large, small,
    ...). The adjacent (small, large) pairs of runs of each, by the small operation's name, and
    what was wrong with the answers."""
    options = {"workers": args.workers, "max_requests": args.max_requests}
    large_env = {"DATABASE_URL": args.large_database_url}
    with (
        common.Gunicorn(**options) as small,
        common.Gunicorn(**options, extra_env=large_env) as large,
    ):
        log(
            f"gunicorn on the bench database on port {small.port}, on the large one "
            f"({common.database_name(args.large_database_url)}) on port {large.port}"
        )
        problems = []
        for small_op, large_op in comparisons:
            if not small_op.name.startswith("catalog"):  # the catalog was checked already
                problems += verify_samples(small_op, small.port)
            problems += verify_samples(large_op, large.port)
            if small_op.name.startswith("catalog"):
                problems += [
                    f"{large_op.label}: {problem}" for problem in verify_parity(large.port)
                ]
            if small_op.name.startswith("availableSlots"):
                problems += verify_slots_parity(small_op, small.port, large_op, large.port)
        for small_op, large_op in comparisons:
            for op, server in ((small_op, small), (large_op, large)):
                run_load(op, server, args, WARMUP_SECONDS, workdir)
        pairs = {
            small_op.name: [
                (measure(small_op, small, args, workdir), measure(large_op, large, args, workdir))
                for _ in range(args.pairs)
            ]
            for small_op, large_op in comparisons
        }
    return pairs, problems


def verify_slots_parity(small_op: Operation, small_port: int, large_op, large_port) -> list[str]:
    """Both databases hold the same bookings in the window: the same slots (by resource name;
    the ids differ between databases)."""

    def slots(op: Operation, port: int) -> list[tuple]:
        _, raw = common.request(port, op.method, op.path, op.samples[0])
        answer = json.loads(raw).get("data") or {}
        return [
            (slot["start"], slot["end"], slot["seatsLeft"], slot["resource"]["name"])
            for slot in answer.get("availableSlots") or []
        ]

    small, large = slots(small_op, small_port), slots(large_op, large_port)
    if small != large:
        return [
            f"availableSlots differs: {len(small)} slots on the bench database, "
            f"{len(large)} on the large one"
        ]
    return []


def verify_deliveries(
    op: Operation, runs: list[dict], args: argparse.Namespace, queries: dict[str, int]
) -> dict[str, bool]:
    """The checks of the delivery scenarios: myDeliveries runs the same SQL queries at 5 and
    50 deliveries; after deliveryComplete (its samples, then every attempt of its run), each
    delivery sent was completed exactly once, cash orders paid (bench.deliveries)."""
    attempts = [attempt for run in runs for attempt in run["all_attempts"]]
    answered = len(op.samples) + sum(a["requests"] - a["errors"] for a in attempts)
    in_flight = sum(args.connections + a["socket_errors"] for a in attempts)
    pks = [bench_deliveries.body_delivery_pk(body) for body in op.samples + op.bodies]
    return {
        f"myDeliveries: the same SQL queries at 5 and at 50 deliveries "
        f"({queries['myDeliveries_5']} and {queries['myDeliveries']})": queries["myDeliveries_5"]
        == queries["myDeliveries"],
        **bench_deliveries.verify_complete(pks, len(op.samples) + op.offset, answered, in_flight),
    }


def verify_service_checkouts(op: Operation) -> list[str]:
    """Every order placed from the service carts sent confirmed its booking (one each)."""
    from django.db.models import Count, Q

    from apps.bookings.models import BookingStatus
    from apps.orders.models import Order

    sent = [json.loads(body)["variables"]["input"]["cartToken"] for body in op.bodies[: op.offset]]
    orders = Order.objects.filter(cart__token__in=sent).annotate(
        confirmed=Count("bookings", filter=Q(bookings__status=BookingStatus.CONFIRMED))
    )
    wrong = orders.exclude(confirmed=1).count()
    if wrong:
        return [f"{op.name}: {wrong} of {orders.count()} orders without one confirmed booking"]
    return []


# --- Results ------------------------------------------------------------------------------------


def clean(runs: list[dict]) -> list[dict]:
    """The runs during which other processes stayed under the limit (all of them if none did)."""
    return [r for r in runs if r["other_cpu_cores"] <= OTHER_CPU_LIMIT] or runs


def aggregate(runs: list[dict]) -> dict:
    used = clean(runs)
    return {
        "runs": len(used),
        "requests": sum(r["requests"] for r in used),
        "rps": round(statistics.mean(r["rps"] for r in used), 1),
        "p50_ms": round(statistics.median(r["p50_ms"] for r in used), 2),
        "p99_ms": round(max(r["p99_ms"] for r in used), 2),
        "errors": sum(r["errors"] for r in runs),
        "exhausted": sum(r["exhausted"] for r in runs),
        "other_cpu_cores_max": max(r["other_cpu_cores"] for r in used),
    }


def ratio(pairs: list[tuple[dict, dict]]) -> tuple[float, str]:
    """The median of run/floor over pairs of adjacent runs (each pair saw the same machine):
    over the pairs where other processes stayed under the CPU limit, when there are some."""
    quiet = [
        (floor, run)
        for floor, run in pairs
        if max(floor["other_cpu_cores"], run["other_cpu_cores"]) <= OTHER_CPU_LIMIT
    ]
    chosen = quiet or pairs
    basis = (
        f"median of {len(chosen)} quiet adjacent pairs"
        if quiet
        else (f"median of {len(chosen)} adjacent pairs, machine busy")
    )
    return statistics.median(run["rps"] / floor["rps"] for floor, run in chosen), basis


def p50_ratio(pairs: list[tuple[dict, dict]]) -> tuple[float, str]:
    """The median of large p50 / small p50 over adjacent (small, large) pairs of runs, over
    the quiet pairs when there are some."""
    quiet = [
        (small, large)
        for small, large in pairs
        if max(small["other_cpu_cores"], large["other_cpu_cores"]) <= OTHER_CPU_LIMIT
    ]
    chosen = quiet or pairs
    basis = (
        f"median of {len(chosen)} quiet adjacent pairs"
        if quiet
        else f"median of {len(chosen)} adjacent pairs, machine busy"
    )
    return statistics.median(large["p50_ms"] / small["p50_ms"] for small, large in chosen), basis


def run_errors(name: str, runs: list[dict]) -> list[str]:
    return [
        f"{name}: {run['errors']} errors in {run['requests']} answers (HTTP "
        f"{run['http_errors']}, GraphQL {run['graphql_errors']}, socket {run['socket_errors']})"
        for run in runs
        if run["errors"]
    ]


def add_catalog_size(
    report: dict, large: dict, pairs: list[tuple[dict, dict]], small_queries: int
) -> None:
    """The catalog page on both catalogs, the growth ratio and its target, the plan's problems."""
    config = report["config"]
    small_runs, large_runs = [small for small, _ in pairs], [big for _, big in pairs]
    # ratio() divides each pair's second run by its first: req/s small / req/s large.
    growth, basis = ratio([(big, small) for small, big in pairs])
    report["catalog_size"] = {
        "database": large["database"],
        "seed_seconds": large["seed_seconds"],
        "small": {
            "products": config["products"],
            **aggregate(small_runs),
            "queries": small_queries,
            "runs_detail": small_runs,
        },
        "large": {
            "products": config["large_products"],
            **aggregate(large_runs),
            "queries": large["queries"],
            "runs_detail": large_runs,
        },
        "plans": large["plans"],
    }
    report["ratios"].update(
        {
            "catalog_growth": round(growth, 3),
            "catalog_growth_pairs": [round(s["rps"] / b["rps"], 3) for s, b in pairs],
            "catalog_growth_basis": basis,
        }
    )
    report["targets"]["catalog_growth_ratio"] = growth <= TARGETS["catalog_growth_ratio"]
    report["problems"] += run_errors("catalog_small", small_runs)
    report["problems"] += run_errors("catalog_large", large_runs)
    report["problems"] += [
        f"the catalog page's plan at {config['large_products']:,} products: {problem}"
        for plan in large["plans"]
        for problem in plan["problems"]
    ]


def add_bookings(report: dict, large: dict, pairs: list[tuple[dict, dict]], queries: int) -> None:
    """availableSlots on both databases, its p50 growth and its target."""
    config = report["config"]
    small_runs, large_runs = [small for small, _ in pairs], [big for _, big in pairs]
    growth, basis = p50_ratio(pairs)
    report["bookings"] = {
        "database": large["database"],
        "seed_seconds": large["seed_seconds"],
        "small": {
            "bookings": config["bookings"],
            **aggregate(small_runs),
            "queries": queries,
            "runs_detail": small_runs,
        },
        "large": {
            "bookings": config["large_bookings"],
            **aggregate(large_runs),
            "queries": large["queries"],
            "runs_detail": large_runs,
        },
        "plans": large["plans"],
    }
    report["ratios"].update(
        {
            "slots_growth": round(growth, 3),
            "slots_growth_pairs": [round(b["p50_ms"] / s["p50_ms"], 3) for s, b in pairs],
            "slots_growth_basis": basis,
        }
    )
    report["targets"]["slots_growth_ratio"] = growth <= TARGETS["slots_growth_ratio"]
    report["targets"]["slots_queries"] = max(queries, large["queries"]) <= TARGETS["slots_queries"]
    report["problems"] += run_errors("availableSlots_small", small_runs)
    report["problems"] += run_errors("availableSlots_large", large_runs)


DELIVERY_ORDER = ["myDeliveries", "deliveryComplete"]
ORDER = [
    "floor",
    "catalog",
    "catalog_cached",
    "product",
    "cartLinesAdd",
    "checkoutComplete",
    "checkoutService",
    "myDeliveries",
    "deliveryComplete",
]


def write_results(report: dict, output: Path) -> None:
    output.mkdir(parents=True, exist_ok=True)
    (output / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    (output / "latest.md").write_text(markdown(report))
    chart(report, output / "latest.png")


def results_table(report: dict, names: list[str] = ORDER) -> str:
    lines = [
        "| operation | runs | req/s | p50 ms | p99 ms | errors | SQL queries/request |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in names:
        op = report["operations"][name]
        lines.append(
            f"| {op['label']} | {op['runs']} | {op['rps']:,.0f} | {op['p50_ms']:.1f} | "
            f"{op['p99_ms']:.1f} | {op['errors']} | {op['queries']} |"
        )
    return "\n".join(lines)


def markdown(report: dict) -> str:
    config, machine, ratios = report["config"], report["machine"], report["ratios"]
    ops = report["operations"]
    pairs = ", ".join(f"{r:.2f}" for r in ratios["catalog_floor_pairs"])
    checks = report["targets"]
    mark = {True: "met", False: "**not met**"}
    threads = f", {config['threads']} threads" if report["tool"].startswith("wrk") else ""
    recycling = f"every {config['max_requests']} requests" if config["max_requests"] else "off"
    sizes = report.get("catalog_size")
    bookings = report.get("bookings")
    measured = [
        *ops.values(),
        *([sizes["small"], sizes["large"]] if sizes else []),
        *([bookings["small"], bookings["large"]] if bookings else []),
    ]
    final_runs = [run for op in measured for run in op["runs_detail"]]
    busiest = max(run["other_cpu_cores"] for run in final_runs)
    repeated = sum(run["attempt"] > 1 for run in final_runs)
    flagged = sum(run["other_cpu_cores"] > OTHER_CPU_LIMIT for run in final_runs)
    notes = [
        f"- Other processes on the machine used at most {busiest:.2f} cores during a run "
        f"({repeated} of {len(final_runs)} runs were repeated because they used more than "
        f"{OTHER_CPU_LIMIT})."
    ]
    if flagged:
        notes.append(
            f"- **{flagged} runs are not comparable**: other processes still used more than "
            f"{OTHER_CPU_LIMIT} cores. Run again on a quiet machine."
        )
    for name in ("checkoutComplete", "checkoutService"):
        if ops[name]["exhausted"]:
            notes.append(f"- {name} ran out of pre-created carts: raise BENCH_CHECKOUT_CARTS.")
    if ops["deliveryComplete"]["exhausted"]:
        notes.append("- deliveryComplete ran out of deliveries: raise BENCH_DELIVERIES.")
    notes += [f"- **Problem:** {problem}" for problem in report["problems"]]
    return "\n".join(
        [
            "# Benchmark: latest run",
            "",
            f"{report['date']}; {machine['cores']} cores ({machine['cpu']}); "
            f"Python {machine['python']}; PostgreSQL {machine['postgresql']}.",
            f"gunicorn {config['workers']} sync workers (`gunicorn.conf.py`, "
            f"`backend.settings.bench`, worker recycling {recycling}); "
            f"{report['tool']}, {config['connections']} connections{threads}, "
            f"{config['duration']} s per run; {config['products']:,} bench products.",
            "",
            results_table(report),
            "",
            f"- catalog / floor: **{ratios['catalog_floor']:.2f}** ({ratios['catalog_floor_basis']}"
            f"; each catalog run right after a floor run on the same server, pair by pair: "
            f"{pairs})",
            f"- catalog (response cache) / floor: **{ratios['cached_catalog_floor']:.2f}** "
            f"(gunicorn restarted with `CATALOG_CACHE=true`, right after a floor run"
            f"{'' if 'busy' not in ratios['cached_catalog_floor_basis'] else ', machine busy'})",
            f"- checkoutComplete: **{ops['checkoutComplete']['orders_per_second']:,.0f} orders/s** "
            "(guest carts of one line, each checked out once)",
            f"- checkoutComplete with a service line: "
            f"**{ops['checkoutService']['orders_per_second']:,.0f} orders/s**, "
            f"**{ratios['service_checkout']:.2f}** x goods only (guest carts of a unit of goods "
            "and a held slot, each checked out once, right after the goods-only run)",
            "",
            *delivery_lines(report),
            *catalog_size_lines(report),
            *bookings_lines(report),
            "Targets:",
            "",
            f"- catalog >= {TARGETS['catalog_floor_ratio']:.2f} x floor: "
            f"{mark[checks['catalog_floor_ratio']]}",
            f"- catalog (response cache) >= {TARGETS['cached_catalog_floor_ratio']:.1f} x floor: "
            f"{mark[checks['cached_catalog_floor_ratio']]}",
            f"- checkoutComplete >= {TARGETS['checkout_orders_per_second']} orders/s: "
            f"{mark[checks['checkout_orders_per_second']]}",
            f"- SQL queries per catalog page <= {TARGETS['catalog_queries']}: "
            f"{mark[checks['catalog_queries']]}",
            f"- SQL queries per checkout <= {TARGETS['checkout_queries']}: "
            f"{mark[checks['checkout_queries']]}",
            *(
                [
                    f"- catalog at {config['large_products']:,} products <= "
                    f"{TARGETS['catalog_growth_ratio']:.1f} x its cost at {config['products']:,}: "
                    f"{mark[checks['catalog_growth_ratio']]}"
                ]
                if "catalog_growth_ratio" in checks
                else []
            ),
            f"- SQL queries per availableSlots <= {TARGETS['slots_queries']}: "
            f"{mark[checks['slots_queries']]}",
            *(
                [
                    f"- availableSlots p50 at {config['large_bookings']:,} bookings <= "
                    f"{TARGETS['slots_growth_ratio']:.1f} x its p50 at {config['bookings']:,}: "
                    f"{mark[checks['slots_growth_ratio']]}"
                ]
                if "slots_growth_ratio" in checks
                else []
            ),
            f"- checkoutComplete with a service line >= {TARGETS['service_checkout_ratio']:.1f} x "
            f"goods-only orders/s: {mark[checks['service_checkout_ratio']]}",
            f"- SQL queries per checkout with a service line <= "
            f"{TARGETS['service_checkout_queries']}: {mark[checks['service_checkout_queries']]}",
            "",
            "req/s is the mean of the runs, p50 their median, p99 the worst run's, over the runs "
            f"during which other processes used at most {OTHER_CPU_LIMIT} cores (all runs if "
            "none did). Errors count non-2xx answers, socket "
            "errors and GraphQL errors in every run (every answer is checked). SQL queries are "
            "counted in-process with Django's test client on the same database.",
            "",
            *notes,
            "",
        ]
    )


def delivery_lines(report: dict) -> list[str]:
    """The delivery scenarios' figures and checks."""
    ops, checks = report["operations"], report["checks"]
    mine, handed = ops["myDeliveries"], ops["deliveryComplete"]
    by_kind = handed["queries_by_kind"]
    return [
        f"Deliveries: `myDeliveries(first: 50, filters: {{isOpen: true}})` of a courier with "
        f"{mine['open']} open deliveries (bearer token), "
        f"**{mine['queries']}** SQL queries, **{mine['queries_at_5']}** for a courier with 5; "
        f"`deliveryComplete`: **{handed['deliveries_per_second']:,.0f} deliveries/s** (each "
        "request hands over a different delivery out for delivery with its code, half of them "
        f"cash on delivery with the exact cash), {by_kind['cash']} SQL queries for a cash order, "
        f"{by_kind['card']} for a card one. Checks:",
        "",
        *(f"- {name}: {'passed' if ok else '**FAILED**'}" for name, ok in checks.items()),
        "",
    ]


def catalog_size_lines(report: dict) -> list[str]:
    """The catalog page on both catalogs, its growth and its plan (none when skipped)."""
    if "catalog_size" not in report:
        return []
    sizes, ratios = report["catalog_size"], report["ratios"]
    small, large = sizes["small"], sizes["large"]
    lines = [
        f"Catalog size: the catalog page on {small['products']:,} and {large['products']:,} "
        f"bench products (the second database `{sizes['database']}`, seeded in "
        f"{sizes['seed_seconds']:.1f} s this run), two servers side by side loaded in turn:",
        "",
        "| products | runs | req/s | p50 ms | p99 ms | errors | SQL queries/request |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(
            f"| {size['products']:,} | {size['runs']} | {size['rps']:,.0f} | "
            f"{size['p50_ms']:.1f} | {size['p99_ms']:.1f} | {size['errors']} | {size['queries']} |"
            for size in (small, large)
        ),
        "",
        f"- cost growth, req/s at {small['products']:,} / req/s at {large['products']:,}: "
        f"**{ratios['catalog_growth']:.2f}** ({ratios['catalog_growth_basis']}; pair by pair: "
        f"{', '.join(f'{r:.2f}' for r in ratios['catalog_growth_pairs'])})",
    ]
    for plan in sizes["plans"]:
        verdict = (
            "**" + "; ".join(plan["problems"]) + "**"
            if plan["problems"]
            else f"no Seq Scan over {', '.join(CATALOG_TABLES)}, no hashed SubPlan"
        )
        lines.append(
            f"- `EXPLAIN` of the page's SQL at {large['products']:,} products: "
            f"{plan['summary']} ({verdict})"
        )
    return [*lines, ""]


def bookings_lines(report: dict) -> list[str]:
    """availableSlots on both databases and its growth (none when skipped)."""
    if "bookings" not in report:
        return []
    bookings, ratios = report["bookings"], report["ratios"]
    small, large = bookings["small"], bookings["large"]
    lines = [
        f"Bookings: `availableSlots` for one resource over {common.SLOTS_WINDOW_DAYS} days, with "
        f"{small['bookings']:,} and {large['bookings']:,} bookings in the database (the second "
        f"database `{bookings['database']}`, seeded in {bookings['seed_seconds']:.1f} s this "
        "run; 20 resources, the year ahead), two servers side by side loaded in turn:",
        "",
        "| bookings | runs | req/s | p50 ms | p99 ms | errors | SQL queries/request |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(
            f"| {size['bookings']:,} | {size['runs']} | {size['rps']:,.0f} | "
            f"{size['p50_ms']:.1f} | {size['p99_ms']:.1f} | {size['errors']} | {size['queries']} |"
            for size in (small, large)
        ),
        "",
        f"- p50 growth, p50 at {large['bookings']:,} / p50 at {small['bookings']:,}: "
        f"**{ratios['slots_growth']:.2f}** ({ratios['slots_growth_basis']}; pair by pair: "
        f"{', '.join(f'{r:.2f}' for r in ratios['slots_growth_pairs'])})",
    ]
    lines += [
        f"- `EXPLAIN` of the bookings' SQL at {large['bookings']:,} bookings: {plan['summary']}"
        for plan in bookings["plans"]
    ]
    return [*lines, ""]


def chart(report: dict, path: Path) -> None:
    import matplotlib

    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [report["operations"][name]["label"].split(" (`")[0] for name in ORDER]
    values = [report["operations"][name]["rps"] for name in ORDER]
    colors = [
        "#9e9e9e",
        "#1f77b4",
        "#6baed6",
        "#2ca02c",
        "#ff7f0e",
        "#d62728",
        "#9467bd",
        "#8c564b",
        "#e377c2",
    ]
    figure, axes = plt.subplots(figsize=(8, 4), dpi=90)
    bars = axes.bar(range(len(values)), values, color=colors)
    axes.bar_label(bars, labels=[f"{v:,.0f}" for v in values], fontsize=8)
    axes.set_xticks(range(len(values)), labels, rotation=20, ha="right", fontsize=8)
    axes.set_ylabel("requests per second")
    config = report["config"]
    axes.set_title(
        f"SilkCart, gunicorn {config['workers']} sync workers, {report['tool'].split(' (')[0]} "
        f"{config['connections']} connections ({report['date']})",
        fontsize=9,
    )
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


# --- Main ---------------------------------------------------------------------------------------


def seed_deliveries(args: argparse.Namespace) -> dict:
    pool = once_pool(args, args.deliveries) + SAMPLES
    log(f"Seeding the couriers' deliveries ({pool:,} out for delivery for deliveryComplete)")
    return bench_deliveries.seed(pool)


def add_delivery_figures(
    report_ops: dict, runs: dict[str, list[dict]], queries: dict[str, int], couriers: dict
) -> None:
    """deliveryComplete's deliveries/s and SQL queries by kind, myDeliveries' at 5."""
    handed = runs["deliveryComplete"][0]
    completed = (handed["requests"] - handed["errors"]) / max(handed["requests"], 1)
    report_ops["deliveryComplete"]["deliveries_per_second"] = round(handed["rps"] * completed, 1)
    report_ops["deliveryComplete"]["queries_by_kind"] = {
        kind: queries[f"deliveryComplete_{kind}"] for kind in ("cash", "card")
    }
    report_ops["myDeliveries"]["queries_at_5"] = queries["myDeliveries_5"]
    report_ops["myDeliveries"]["open"] = couriers["open"]["fifty"]


def deliveries_markdown(report: dict) -> str:
    config, machine = report["config"], report["machine"]
    ops = report["operations"]
    threads = f", {config['threads']} threads" if report["tool"].startswith("wrk") else ""
    runs = [run for op in ops.values() for run in op["runs_detail"]]
    notes = [
        f"- Other processes on the machine used at most "
        f"{max(run['other_cpu_cores'] for run in runs):.2f} cores during a run "
        f"({sum(run['attempt'] > 1 for run in runs)} of {len(runs)} runs were repeated because "
        f"they used more than {OTHER_CPU_LIMIT})."
    ]
    if ops["deliveryComplete"]["exhausted"]:
        notes.append("- deliveryComplete ran out of deliveries: raise BENCH_DELIVERIES.")
    notes += [f"- **Problem:** {problem}" for problem in report["problems"]]
    return "\n".join(
        [
            "# Benchmark: the delivery scenarios (`BENCH_ONLY=deliveries`)",
            "",
            f"{report['date']}; {machine['cores']} cores ({machine['cpu']}); "
            f"Python {machine['python']}; PostgreSQL {machine['postgresql']}.",
            f"gunicorn {config['workers']} sync workers (`gunicorn.conf.py`, "
            f"`backend.settings.bench`); {report['tool']}, {config['connections']} "
            f"connections{threads}, {config['duration']} s per run.",
            "",
            results_table(report, DELIVERY_ORDER),
            "",
            *delivery_lines(report),
            *notes,
            "",
        ]
    )


def main_deliveries(args: argparse.Namespace) -> None:
    """BENCH_ONLY=deliveries: the delivery scenarios alone, as the full run measures them."""
    url = common.setup_django(allow_any_database=args.allow_any_database)
    log(f"Database {url}: migrating and seeding {args.products} bench products")
    common.migrate()
    common.seed_catalog(args.products)
    couriers = seed_deliveries(args)
    operations = delivery_operations(couriers)
    log("Counting SQL queries per request in-process")
    queries = count_delivery_queries(operations, couriers)
    machine = common.machine()
    common.close_connections()

    runs: dict[str, list[dict]] = {name: [] for name in DELIVERY_ORDER}
    problems: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="silkcart-bench-"))
    log(f"Load: {tool_version(args.tool)}, {args.connections} connections, {args.duration} s runs")
    with common.Gunicorn(workers=args.workers, max_requests=args.max_requests) as server:
        log(f"gunicorn on port {server.port} (log: {server.log_path})")
        for name in DELIVERY_ORDER:
            problems += verify_samples(operations[name], server.port)
        run_load(operations["myDeliveries"], server, args, WARMUP_SECONDS, workdir)
        for name in DELIVERY_ORDER:
            runs[name].append(measure(operations[name], server, args, workdir))
    shutil.rmtree(workdir, ignore_errors=True)
    checks = verify_deliveries(
        operations["deliveryComplete"], runs["deliveryComplete"], args, queries
    )
    problems += [f"deliveries: {name}" for name, ok in checks.items() if not ok]

    report_ops = {
        name: {
            "label": operations[name].label,
            **aggregate(runs[name]),
            "queries": queries[name],
            "runs_detail": runs[name],
        }
        for name in DELIVERY_ORDER
    }
    add_delivery_figures(report_ops, runs, queries, couriers)
    for name in DELIVERY_ORDER:
        problems += run_errors(name, runs[name])
    report = {
        "date": common.now_iso(),
        "machine": machine,
        "tool": tool_version(args.tool),
        "only": "deliveries",
        "config": {
            "products": args.products,
            "duration": args.duration,
            "connections": args.connections,
            "threads": args.threads,
            "workers": args.workers,
            "max_requests": args.max_requests,
            "server": "gunicorn sync workers, gunicorn.conf.py, backend.settings.bench",
        },
        "operations": report_ops,
        "checks": checks,
        "problems": problems,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "deliveries.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.output_dir / "deliveries.md").write_text(deliveries_markdown(report))
    log("")
    log(deliveries_markdown(report))
    log(f"Written: {args.output_dir}/deliveries.md, deliveries.json")
    if problems:
        sys.exit(1)


def main() -> None:
    args = parse_args()
    if args.only == "deliveries":
        main_deliveries(args)
        return
    url = common.setup_django(allow_any_database=args.allow_any_database)
    log(f"Database {url}: migrating and seeding {args.products} bench products")
    common.migrate()
    common.seed_catalog(args.products)
    services = common.seed_services(args.bookings, layout=args.large_bookings)
    couriers = seed_deliveries(args)
    operations = build_operations(args, services, couriers)
    log("Counting SQL queries per request in-process")
    queries = count_queries(operations, services, couriers)
    machine = common.machine()
    large = prepare_large_catalog(args, operations["catalog"]) if args.large_products else None
    large_bookings = (
        prepare_large_bookings(args, operations["availableSlots"]) if args.large_bookings else None
    )
    common.close_connections()

    runs: dict[str, list[dict]] = {name: [] for name in ORDER}
    problems: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="silkcart-bench-"))

    log(f"Load: {tool_version(args.tool)}, {args.connections} connections, {args.duration} s runs")
    with common.Gunicorn(workers=args.workers, max_requests=args.max_requests) as server:
        log(f"gunicorn on port {server.port} (log: {server.log_path})")
        for name in (
            "floor",
            "catalog",
            "product",
            "cartLinesAdd",
            "checkoutComplete",
            "checkoutService",
            "myDeliveries",
            "deliveryComplete",
        ):
            problems += verify_samples(operations[name], server.port)
        problems += verify_parity(server.port)
        for name in ("floor", "catalog", "product", "cartLinesAdd", "myDeliveries"):
            run_load(operations[name], server, args, WARMUP_SECONDS, workdir)
        for name in ("floor", "catalog") * args.pairs + ("product", "cartLinesAdd"):
            runs[name].append(measure(operations[name], server, args, workdir))
        for name in ("checkoutComplete", "checkoutService"):  # adjacent: compared
            runs[name].append(measure(operations[name], server, args, workdir))
        for name in DELIVERY_ORDER:
            runs[name].append(measure(operations[name], server, args, workdir))
    problems += verify_service_checkouts(operations["checkoutService"])
    delivery_checks = verify_deliveries(
        operations["deliveryComplete"], runs["deliveryComplete"], args, queries
    )
    problems += [f"deliveries: {name}" for name, ok in delivery_checks.items() if not ok]

    cached_env = {"CATALOG_CACHE": "true"}
    with common.Gunicorn(
        workers=args.workers, max_requests=args.max_requests, extra_env=cached_env
    ) as server:
        log(f"gunicorn with CATALOG_CACHE=true on port {server.port}")
        problems += verify_samples(operations["catalog_cached"], server.port)
        problems += verify_parity(server.port)
        for name in ("floor", "catalog_cached"):
            run_load(operations[name], server, args, WARMUP_SECONDS, workdir)
        cached_floor_start = len(runs["floor"])
        for name in ("floor", "catalog_cached"):
            runs[name].append(measure(operations[name], server, args, workdir))
    comparisons = []
    if large:
        log(f"Catalog size: {args.products:,} and {args.large_products:,} products in turn")
        catalog = operations["catalog"]
        comparisons.append(
            (
                replace(
                    catalog, name="catalog_small", label=f"catalog ({args.products:,} products)"
                ),
                replace(
                    catalog,
                    name="catalog_large",
                    label=f"catalog ({args.large_products:,} products)",
                ),
            )
        )
    if large_bookings:
        log(f"availableSlots: {args.bookings:,} and {args.large_bookings:,} bookings in turn")
        # the checkouts added bookings: back to the count
        common.seed_services(args.bookings, layout=args.large_bookings)
        common.close_connections()
        slots = operations["availableSlots"]
        comparisons.append(
            (
                slots,
                replace(
                    slots,
                    name="availableSlots_large",
                    label=f"availableSlots ({args.large_bookings:,} bookings)",
                    bodies=[large_bookings["body"]],
                    samples=[large_bookings["body"]],
                ),
            )
        )
    growth_pairs, growth_problems = (
        measure_growth(comparisons, args, workdir) if comparisons else ({}, [])
    )
    problems += growth_problems
    shutil.rmtree(workdir, ignore_errors=True)

    report_ops = {}
    for name in ORDER:
        report_ops[name] = {
            "label": operations[name].label,
            **aggregate(runs[name]),
            "queries": queries[name],
            "runs_detail": runs[name],
        }
    for name in ORDER:
        problems += run_errors(name, runs[name])
    for name in ("checkoutComplete", "checkoutService"):
        checkout = runs[name][0]
        placed = (checkout["requests"] - checkout["errors"]) / max(checkout["requests"], 1)
        report_ops[name]["orders_per_second"] = round(checkout["rps"] * placed, 1)
    add_delivery_figures(report_ops, runs, queries, couriers)
    service_checkout = report_ops["checkoutService"]["orders_per_second"] / max(
        report_ops["checkoutComplete"]["orders_per_second"], 0.1
    )
    floor_a, floor_b = runs["floor"][:cached_floor_start], runs["floor"][cached_floor_start:]
    adjacent = list(zip(floor_a, runs["catalog"], strict=True))
    pairs = [c["rps"] / f["rps"] for f, c in adjacent]
    cached_pair = runs["catalog_cached"][0]["rps"] / floor_b[0]["rps"]
    catalog_floor, basis = ratio(adjacent)
    cached_floor, cached_basis = ratio([(floor_b[0], runs["catalog_cached"][0])])
    report = {
        "date": common.now_iso(),
        "machine": machine,
        "tool": tool_version(args.tool),
        "config": {
            "products": args.products,
            "large_products": args.large_products,
            "duration": args.duration,
            "connections": args.connections,
            "threads": args.threads,
            "workers": args.workers,
            "max_requests": args.max_requests,
            "bookings": args.bookings,
            "large_bookings": args.large_bookings,
            "server": "gunicorn sync workers, gunicorn.conf.py, backend.settings.bench",
        },
        "operations": report_ops,
        "ratios": {
            "catalog_floor": round(catalog_floor, 3),
            "catalog_floor_pairs": [round(p, 3) for p in pairs],
            "catalog_floor_basis": basis,
            "cached_catalog_floor": round(cached_floor, 3),
            "cached_catalog_floor_pair": round(cached_pair, 3),
            "cached_catalog_floor_basis": cached_basis,
            "service_checkout": round(service_checkout, 3),
        },
        "targets": {
            "catalog_floor_ratio": catalog_floor >= TARGETS["catalog_floor_ratio"],
            "cached_catalog_floor_ratio": cached_floor >= TARGETS["cached_catalog_floor_ratio"],
            "checkout_orders_per_second": report_ops["checkoutComplete"]["orders_per_second"]
            >= TARGETS["checkout_orders_per_second"],
            "catalog_queries": queries["catalog"] <= TARGETS["catalog_queries"],
            "checkout_queries": queries["checkoutComplete"] <= TARGETS["checkout_queries"],
            "slots_queries": queries["availableSlots"] <= TARGETS["slots_queries"],
            "service_checkout_ratio": service_checkout >= TARGETS["service_checkout_ratio"],
            "service_checkout_queries": queries["checkoutService"]
            <= TARGETS["service_checkout_queries"],
        },
        "checks": delivery_checks,
        "problems": problems,
    }
    if large:
        add_catalog_size(report, large, growth_pairs["catalog_small"], queries["catalog"])
    if large_bookings:
        add_bookings(
            report, large_bookings, growth_pairs["availableSlots"], queries["availableSlots"]
        )
    write_results(report, args.output_dir)
    log("")
    log(markdown(report))
    log(f"Written: {args.output_dir}/latest.md, latest.json, latest.png")
    if report["problems"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
