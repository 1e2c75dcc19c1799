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

Every option has an environment variable: BENCH_PRODUCTS (1000), BENCH_DURATION (10 s per run),
BENCH_CONNECTIONS (8), BENCH_THREADS (2, wrk threads), BENCH_WORKERS (2), BENCH_PAIRS (3: floor
and catalog runs in turn), BENCH_MAX_REQUESTS (0: no worker recycling during the runs),
BENCH_TOOL (wrk or locust; default: wrk when installed), BENCH_CHECKOUT_CARTS (guest carts made
for checkoutComplete; default: enough for 250 orders/s), BENCH_RETRIES (1: a run during which
other processes used more than 0.25 cores is run again, after waiting up to BENCH_QUIET_WAIT
seconds, 20, for a quiet machine), BENCH_LARGE_PRODUCTS (50000; 0 skips the large catalog),
DATABASE_URL (postgres://postgres@127.0.0.1:5432/silkcart_bench), BENCH_LARGE_DATABASE_URL
(DATABASE_URL with ``_large`` after the database's name), CACHE_URL (redis://127.0.0.1:6379/14).
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
    parser.add_argument("--pairs", type=int, default=env_int("BENCH_PAIRS", 3))
    parser.add_argument("--retries", type=int, default=env_int("BENCH_RETRIES", 1))
    parser.add_argument("--quiet-wait", type=int, default=env_int("BENCH_QUIET_WAIT", 20))
    parser.add_argument("--tool", choices=["wrk", "locust"], default=os.environ.get("BENCH_TOOL"))
    parser.add_argument("--output-dir", type=Path, default=common.RESULTS)
    parser.add_argument("--allow-any-database", action="store_true")
    args = parser.parse_args()
    if args.products < 20:
        parser.error("--products must be at least 20 (one catalog page)")
    if args.pairs < 1:
        parser.error("--pairs must be at least 1 (a floor run and a catalog run)")
    if args.large_products and args.large_products <= args.products:
        parser.error("--large-products must be 0 (no large catalog) or more than --products")
    args.large_database_url = common.large_database_url()
    if args.tool is None:
        args.tool = "wrk" if shutil.which("wrk") else "locust"
    elif args.tool == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install wrk), use --tool locust")
    args.threads = max(1, min(args.threads, args.connections))
    return args


# --- Operations ----------------------------------------------------------------------------------


def build_operations(args: argparse.Namespace) -> dict[str, Operation]:
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
    # Enough for every attempt at 250 orders/s (see run_load for the factor of the threads).
    carts = args.checkout_carts or 250 * args.duration * args.threads * (1 + args.retries)
    tokens = common.create_guest_carts(variants, carts + SAMPLES)
    checkouts = [
        common.checkout_body(token, number, f"bench-{uuid.uuid4().hex}")
        for number, token in enumerate(tokens)
    ]
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
    if op.name == "checkoutComplete":
        order = data.get("checkoutComplete") or {}
        ok = order.get("__typename") == "Order" and str(order.get("number", "")).startswith("SC-")
        return None if ok else f"not an order: {order}"
    return None


def verify_samples(op: Operation, port: int) -> list[str]:
    """Send the sample requests through gunicorn and check each decoded answer."""
    problems = []
    for body in op.samples or [None]:
        status, raw = common.request(port, op.method, op.path, body)
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

    client = Client(HTTP_HOST="127.0.0.1")
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


def count_queries(operations: dict[str, Operation]) -> dict[str, int]:
    from django.test import override_settings

    def measure(op: Operation, bodies: list[str | None]) -> int:
        return len(captured_queries(op, bodies))

    variants = common.bench_variant_ids(limit=2)
    checkout_bodies = [
        common.checkout_body(token, number, f"bench-count-{uuid.uuid4().hex}")
        for number, token in enumerate(common.create_guest_carts(variants, 2))
    ]
    counts = {
        "floor": measure(operations["floor"], [None, None]),
        "catalog": measure(operations["catalog"], operations["catalog"].bodies * 2),
        "product": measure(operations["product"], operations["product"].bodies[:2]),
        "cartLinesAdd": measure(operations["cartLinesAdd"], operations["cartLinesAdd"].bodies[:2]),
        "checkoutComplete": measure(operations["checkoutComplete"], checkout_bodies),
    }
    with override_settings(CATALOG_CACHE=True):
        counts["catalog_cached"] = measure(
            operations["catalog_cached"], operations["catalog_cached"].bodies * 2
        )
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
    """One measured run of ``op``, run again (--retries) when other processes were busy."""
    for attempt in range(1 + args.retries):
        if attempt:
            waited = common.wait_for_quiet(OTHER_CPU_LIMIT / 2, timeout=args.quiet_wait)
            log(f"    other processes were busy: again (after {waited:.0f} s)")
        result = run_load(op, server, args, args.duration, workdir)
        result["attempt"] = attempt + 1
        log(
            f"  {op.label:<30} {result['rps']:>8,.1f} req/s  p50 {result['p50_ms']:>7.2f} ms"
            f"  p99 {result['p99_ms']:>7.2f} ms  errors {result['errors']}  "
            f"other processes {result['other_cpu_cores']:.2f} cores"
        )
        if result["other_cpu_cores"] <= OTHER_CPU_LIMIT:
            break
    return result


def measure_growth(
    catalog: Operation, args: argparse.Namespace, workdir: Path
) -> tuple[list[tuple[dict, dict]], list[str]]:
    """The catalog page on the bench database and on the large one, served by two servers side
    by side and loaded one at a time (small, large, small, ...): the adjacent (small, large)
    pairs of runs, and what was wrong with the large server's answers."""
    small_op = replace(catalog, name="catalog_small", label=f"catalog ({args.products:,} products)")
    large_op = replace(
        catalog, name="catalog_large", label=f"catalog ({args.large_products:,} products)"
    )
    options = {"workers": args.workers, "max_requests": args.max_requests}
    large_env = {"DATABASE_URL": args.large_database_url}
    with (
        common.Gunicorn(**options) as small,
        common.Gunicorn(**options, extra_env=large_env) as large,
    ):
        log(
            f"gunicorn on {args.products:,} products on port {small.port}, "
            f"on {args.large_products:,} products on port {large.port}"
        )
        problems = verify_samples(large_op, large.port)
        problems += [f"{large_op.label}: {problem}" for problem in verify_parity(large.port)]
        for op, server in ((small_op, small), (large_op, large)):
            run_load(op, server, args, WARMUP_SECONDS, workdir)
        pairs = [
            (measure(small_op, small, args, workdir), measure(large_op, large, args, workdir))
            for _ in range(args.pairs)
        ]
    return pairs, problems


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


ORDER = ["floor", "catalog", "catalog_cached", "product", "cartLinesAdd", "checkoutComplete"]


def write_results(report: dict, output: Path) -> None:
    output.mkdir(parents=True, exist_ok=True)
    (output / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    (output / "latest.md").write_text(markdown(report))
    chart(report, output / "latest.png")


def results_table(report: dict) -> str:
    lines = [
        "| operation | runs | req/s | p50 ms | p99 ms | errors | SQL queries/request |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in ORDER:
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
    measured = [*ops.values(), *([sizes["small"], sizes["large"]] if sizes else [])]
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
    if ops["checkoutComplete"]["exhausted"]:
        notes.append("- checkoutComplete ran out of pre-created carts: raise BENCH_CHECKOUT_CARTS.")
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
            "",
            *catalog_size_lines(report),
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


def chart(report: dict, path: Path) -> None:
    import matplotlib

    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [report["operations"][name]["label"].split(" (`")[0] for name in ORDER]
    values = [report["operations"][name]["rps"] for name in ORDER]
    colors = ["#9e9e9e", "#1f77b4", "#6baed6", "#2ca02c", "#ff7f0e", "#d62728"]
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


def main() -> None:
    args = parse_args()
    url = common.setup_django(allow_any_database=args.allow_any_database)
    log(f"Database {url}: migrating and seeding {args.products} bench products")
    common.migrate()
    common.seed_catalog(args.products)
    operations = build_operations(args)
    log("Counting SQL queries per request in-process")
    queries = count_queries(operations)
    machine = common.machine()
    large = prepare_large_catalog(args, operations["catalog"]) if args.large_products else None
    common.close_connections()

    runs: dict[str, list[dict]] = {name: [] for name in ORDER}
    problems: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="silkcart-bench-"))

    log(f"Load: {tool_version(args.tool)}, {args.connections} connections, {args.duration} s runs")
    with common.Gunicorn(workers=args.workers, max_requests=args.max_requests) as server:
        log(f"gunicorn on port {server.port} (log: {server.log_path})")
        for name in ("floor", "catalog", "product", "cartLinesAdd", "checkoutComplete"):
            problems += verify_samples(operations[name], server.port)
        problems += verify_parity(server.port)
        for name in ("floor", "catalog", "product", "cartLinesAdd"):
            run_load(operations[name], server, args, WARMUP_SECONDS, workdir)
        for name in ("floor", "catalog") * args.pairs + ("product", "cartLinesAdd"):
            runs[name].append(measure(operations[name], server, args, workdir))
        runs["checkoutComplete"].append(
            measure(operations["checkoutComplete"], server, args, workdir)
        )

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
    if large:
        log(f"Catalog size: {args.products:,} and {args.large_products:,} products in turn")
        growth_pairs, growth_problems = measure_growth(operations["catalog"], args, workdir)
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
    checkout = runs["checkoutComplete"][0]
    placed = (checkout["requests"] - checkout["errors"]) / max(checkout["requests"], 1)
    report_ops["checkoutComplete"]["orders_per_second"] = round(checkout["rps"] * placed, 1)
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
        },
        "targets": {
            "catalog_floor_ratio": catalog_floor >= TARGETS["catalog_floor_ratio"],
            "cached_catalog_floor_ratio": cached_floor >= TARGETS["cached_catalog_floor_ratio"],
            "checkout_orders_per_second": report_ops["checkoutComplete"]["orders_per_second"]
            >= TARGETS["checkout_orders_per_second"],
            "catalog_queries": queries["catalog"] <= TARGETS["catalog_queries"],
            "checkout_queries": queries["checkoutComplete"] <= TARGETS["checkout_queries"],
        },
        "problems": problems,
    }
    if large:
        add_catalog_size(report, large, growth_pairs, queries["catalog"])
    write_results(report, args.output_dir)
    log("")
    log(markdown(report))
    log(f"Written: {args.output_dir}/latest.md, latest.json, latest.png")
    if report["problems"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
