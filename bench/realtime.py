"""`make bench-realtime`: 1,000 subscribers on one realtime process, 200 order updates through HTTP.

One realtime process (uvicorn, ``backend.asgi``, ``DATABASE_POOL=true``, as the ``realtime``
service runs) and the HTTP app under gunicorn (``gunicorn.conf.py``, ``backend.settings.bench``,
BENCH_WORKERS sync workers) share events through Redis (REALTIME_REDIS_URL, a prefix of the
run's own). The subscribers are ``graphql-transport-ws`` clients in this process (asyncio and
websockets), each a connection of its own with one ``orderUpdated`` subscription.

Two parts, on the same servers:

- **10 subscribers**, each following one of the orders that change (its buyer, bearer token);
- **1,000 subscribers**: the orders that change, each followed by BENCH_REALTIME_FOLLOWERS (10)
  subscribers (six connections of its buyer, bearer token; four guests with the order's token),
  and the rest each following an order of its own that does not change (its buyer).

In each part staff send BENCH_REALTIME_UPDATES (200) ``orderStatusUpdate`` mutations through
HTTP, BENCH_REALTIME_CONCURRENCY (4) in flight: every changing order (a quarter of the updates'
count) goes PAID, PROCESSING, SHIPPED, DELIVERED, in rounds (each round moves every order once; the
next starts when the round's events have arrived, so that no subscriber reads two changes as
one). Checked: every subscriber receives exactly the statuses of its own order, in order, and
nothing else; every mutation succeeds (exits non-zero otherwise). Measured: the delivery
latency of each event to each subscriber, from the send of its mutation to its receipt (p50,
p99); the realtime process's resident memory per idle connection (before and after opening the
1,000 connections, with their subscriptions). Target (reported): p99 at 1,000 at most 3 times
p99 at 10. Writes bench/results/realtime.{md,json}.

Environment: BENCH_REALTIME_SUBSCRIBERS (1000), BENCH_REALTIME_FOLLOWERS (10),
BENCH_REALTIME_UPDATES (200), BENCH_REALTIME_CONCURRENCY (4), BENCH_WORKERS (2), DATABASE_URL
(postgres://postgres@127.0.0.1:5432/silkcart_bench_realtime), CACHE_URL
(redis://127.0.0.1:6379/14), REALTIME_REDIS_URL (redis://127.0.0.1:6379/12).
"""

import argparse
import asyncio
import json
import logging
import os
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common
from bench.common import env_int, log
from bench.contention import percentile

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/silkcart_bench_realtime"
DEFAULT_REALTIME_URL = "redis://127.0.0.1:6379/12"  # no other benchmark or test uses it
PRODUCT_SLUG, SKU = "bench-realtime", "BENCH-REALTIME"
STEPS = ["PAID", "PROCESSING", "SHIPPED", "DELIVERED"]  # each a status update of every order
BUYER_SHARE = 0.6  # of an order's followers: its buyer's connections; the rest, guests
TARGET_RATIO = 3  # p99 at 1,000 subscribers / p99 at 10
SMALL = 10  # subscribers of the first part
WAIT = 60  # seconds: the longest a round's events, or opening the connections, may take
QUIET = 1.0  # seconds watched after the last event, for events that should not come
CONNECTING = 50  # handshakes in flight while the subscribers connect
PROTOCOL = "graphql-transport-ws"

ORDER_UPDATED = (
    "subscription ($id: ID!, $token: UUID) { orderUpdated(id: $id, token: $token) "
    "{ number status payment { status } delivery { status } } }"
)
# Refused (not_found) after the same database reads: answered once the subscription before it
# on the connection listens to its group (``tests.realtime.WSClient.follow``).
PROBE = "subscription ($id: ID!) { orderUpdated(id: $id) { number } }"
STATUS_UPDATE = (
    "mutation ($id: ID!, $status: OrderStatus!) { orderStatusUpdate(id: $id, status: $status) "
    "{ __typename ... on Order { number status } ... on OperationInfo { messages { code } } } }"
)
ADDRESS = {
    "full_name": "Bench Buyer",
    "line1": "1 Loopback Street",
    "line2": "",
    "city": "Localhost",
    "region": "",
    "postal_code": "12345",
    "country": "US",
    "phone": "",
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--subscribers", type=int, default=env_int("BENCH_REALTIME_SUBSCRIBERS", 1000)
    )
    parser.add_argument("--followers", type=int, default=env_int("BENCH_REALTIME_FOLLOWERS", 10))
    parser.add_argument("--updates", type=int, default=env_int("BENCH_REALTIME_UPDATES", 200))
    parser.add_argument("--concurrency", type=int, default=env_int("BENCH_REALTIME_CONCURRENCY", 4))
    parser.add_argument("--workers", type=int, default=env_int("BENCH_WORKERS", 2))
    parser.add_argument("--output-dir", type=Path, default=common.RESULTS)
    parser.add_argument("--allow-any-database", action="store_true")
    args = parser.parse_args()
    if args.updates % len(STEPS) or args.updates < len(STEPS) * SMALL:
        parser.error(f"--updates must be a multiple of {len(STEPS)}, at least {len(STEPS) * SMALL}")
    if args.followers < 2:
        parser.error("--followers must be 2 or more (a buyer and a guest)")
    if args.subscribers < args.updates // len(STEPS) * args.followers:
        parser.error("--subscribers must be at least the changing orders times --followers")
    return args


# --- Data -----------------------------------------------------------------------------------------


@dataclass
class Followed:
    """An order the bench follows: its number, secret token, and its buyer's bearer token."""

    pk: int
    gid: str
    number: str
    token: str
    buyer_key: str


def seed_variant():
    """The variant every bench order buys one unit of (a product of the bench's own)."""
    from apps.catalog.models import Product, ProductVariant

    product, _ = Product.objects.update_or_create(
        slug=PRODUCT_SLUG,
        defaults={
            "name": "Bench Realtime Parcel",
            "description": "What the orders of make bench-realtime buy.",
            "category": common._leaf_categories()[0],
            "is_active": True,
        },
    )
    variant, _ = ProductVariant.objects.update_or_create(
        sku=SKU,
        defaults={
            "product": product,
            "name": "One size",
            "price": Decimal("12.00"),
            "stock_quantity": common.LARGE_STOCK,
            "is_active": True,
        },
    )
    return ProductVariant.objects.select_related("product").get(pk=variant.pk)


def place_orders(variant, count: int, run: str) -> list[Followed]:
    """``count`` orders placed through the checkout service (card, PENDING), each by a buyer
    of its own, with a bearer token of that buyer."""
    from apps.accounts import services as account_services
    from apps.accounts.models import User
    from apps.cart import services as cart_services
    from apps.orders import services as order_services

    orders = []
    for index in range(count):
        user = User.objects.create_user(f"rt-{run}-{len(orders)}-{index}@bench.example.com")
        cart = cart_services.cart_lines_add(cart=None, user=user, lines=[(variant, 1)])
        order = order_services.checkout_complete(
            cart=cart,
            user=user,
            payment_method="CARD_PLACEHOLDER",
            idempotency_key=f"rt-{run}-{index}",
            shipping_address=ADDRESS,
        )
        key = account_services.token_create(user=user)[1]
        gid = common.global_id("Order", order.pk)
        orders.append(Followed(order.pk, gid, order.number, str(order.token), key))
    return orders


def staff_key(run: str) -> str:
    from django.contrib.auth.models import Group

    from apps.accounts import services as account_services
    from apps.accounts.models import User

    user = User.objects.create_user(f"rt-staff-{run}@bench.example.com", is_staff=True)
    user.groups.add(Group.objects.get(name="Store admin"))
    return account_services.token_create(user=user)[1]


# --- Subscribers --------------------------------------------------------------------------------


@dataclass
class Subscriber:
    order: Followed
    guest: bool  # follows with the order's token, not signed in
    expected: list[str]  # the statuses it must receive, in order
    received: list[tuple[str, str, float]] = field(default_factory=list)  # number, status, at
    unexpected: list = field(default_factory=list)  # any other message, or how it ended
    ws: object = None
    reader: asyncio.Task | None = None
    closing: bool = False


class Receipts:
    """Wakes whoever waits for deliveries, at each one."""

    def __init__(self) -> None:
        self.changed = asyncio.Condition()

    async def delivered(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def until(self, predicate, what: str) -> None:
        async with self.changed:
            try:
                await asyncio.wait_for(self.changed.wait_for(predicate), WAIT)
            except TimeoutError:
                sys.exit(f"Realtime bench: {what} did not arrive within {WAIT} s")


async def _recv(ws) -> dict:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        if message.get("type") == "ping":
            await ws.send(json.dumps({"type": "pong"}))
            continue
        return message


async def _open(sub: Subscriber, url: str, gate: asyncio.Semaphore, receipts: Receipts) -> None:
    """Connect, subscribe, and return once the subscription listens (its probe answered)."""
    from websockets.asyncio.client import connect

    async with gate:
        ws = await connect(
            url,
            subprotocols=[PROTOCOL],
            compression=None,
            proxy=None,
            open_timeout=WAIT,
            ping_interval=None,
            max_queue=None,
        )
        payload = {} if sub.guest else {"authorization": f"Bearer {sub.order.buyer_key}"}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = await _recv(ws)
        if ack != {"type": "connection_ack"}:
            sys.exit(f"Realtime bench: connection_init answered {ack}")
        variables = {"id": sub.order.gid, **({"token": sub.order.token} if sub.guest else {})}
        query = {"query": ORDER_UPDATED, "variables": variables}
        await ws.send(json.dumps({"id": "s", "type": "subscribe", "payload": query}))
        probe = {"query": PROBE, "variables": {"id": common.global_id("Order", 10**9)}}
        await ws.send(json.dumps({"id": "p", "type": "subscribe", "payload": probe}))
        for expected in ("next", "complete"):
            message = await _recv(ws)
            if (message.get("id"), message.get("type")) != ("p", expected):
                sys.exit(f"Realtime bench: the subscription answered {message}")
    sub.ws = ws
    sub.reader = asyncio.create_task(_read(sub, receipts))


async def _read(sub: Subscriber, receipts: Receipts) -> None:
    from websockets.exceptions import ConnectionClosed

    ws = sub.ws
    try:
        async for raw in ws:
            at = time.perf_counter()
            message = json.loads(raw)
            kind = message.get("type")
            if kind == "ping":
                await ws.send(json.dumps({"type": "pong"}))
            elif (
                kind == "next" and message.get("id") == "s" and not message["payload"].get("errors")
            ):
                order = message["payload"]["data"]["orderUpdated"]
                sub.received.append((order["number"], order["status"], at))
                await receipts.delivered()
            else:
                sub.unexpected.append(message)
    except ConnectionClosed as error:
        if not sub.closing:
            sub.unexpected.append(f"closed: {error}")


async def open_all(subs: list[Subscriber], url: str, receipts: Receipts) -> float:
    gate = asyncio.Semaphore(CONNECTING)
    started = time.perf_counter()
    await asyncio.wait_for(
        asyncio.gather(*(_open(sub, url, gate, receipts) for sub in subs)), WAIT * 5
    )
    return time.perf_counter() - started


async def close_all(subs: list[Subscriber]) -> None:
    gate = asyncio.Semaphore(CONNECTING * 4)

    async def close(sub: Subscriber) -> None:
        sub.closing = True
        async with gate:
            await sub.ws.close()
        await sub.reader

    await asyncio.gather(*(close(sub) for sub in subs))


# --- Updates ----------------------------------------------------------------------------------


class Sender:
    """Staff's status updates through HTTP, from threads; when each was sent."""

    def __init__(self, port: int, key: str, concurrency: int) -> None:
        self.port, self.key = port, key
        self.pool = ThreadPoolExecutor(max_workers=concurrency)
        self.sent: dict[tuple[str, str], float] = {}
        self.failures: list[str] = []
        self._lock = threading.Lock()

    def _update(self, order: Followed, status: str) -> None:
        body = common.graphql_body(STATUS_UPDATE, {"id": order.gid, "status": status})
        headers = {"Authorization": f"Bearer {self.key}"}
        sent = time.perf_counter()
        code, raw = common.request(self.port, "POST", "/graphql/", body, headers=headers)
        answer = json.loads(raw) if code == 200 else {"body": raw[:300]}
        wanted = {"__typename": "Order", "number": order.number, "status": status}
        with self._lock:
            self.sent[(order.number, status)] = sent
            if (answer.get("data") or {}).get("orderStatusUpdate") != wanted:
                self.failures.append(f"{order.number} -> {status}: HTTP {code} {answer}")

    def round(self, orders: list[Followed], status: str) -> None:
        list(self.pool.map(lambda order: self._update(order, status), orders))


async def run_part(
    subs: list[Subscriber], changing: list[Followed], sender: Sender, receipts: Receipts
) -> float:
    """The updates, round by round; their wall time."""
    loop = asyncio.get_running_loop()
    followers = [sub for sub in subs if sub.expected]
    started = time.perf_counter()
    for number, status in enumerate(STEPS, start=1):
        await loop.run_in_executor(None, sender.round, changing, status)
        if sender.failures:
            sys.exit("Realtime bench: updates failed:\n" + "\n".join(sender.failures[:10]))
        await receipts.until(
            lambda n=number: all(len(sub.received) >= n for sub in followers),
            f"the events of round {number} ({status})",
        )
    seconds = time.perf_counter() - started
    await asyncio.sleep(QUIET)  # events that should not come: none arrives meanwhile
    return seconds


def verify(subs: list[Subscriber], sender: Sender) -> tuple[dict, list[float]]:
    """Every subscriber got exactly its order's statuses, in order, and nothing else; the
    latencies (ms) of every delivery."""
    wrong, latencies = [], []
    for sub in subs:
        got = [(number, status) for number, status, _ in sub.received]
        if got != [(sub.order.number, status) for status in sub.expected] or sub.unexpected:
            wrong.append(
                f"{'guest' if sub.guest else 'buyer'} of {sub.order.number}: expected "
                f"{sub.expected}, got {got}, and {sub.unexpected[:3]}"
            )
            continue
        latencies += [
            (at - sender.sent[(number, status)]) * 1000 for number, status, at in sub.received
        ]
    checks = {
        "every subscriber received every event of its order, in order": not wrong,
        "no subscriber received an event of another order, or any other message": not wrong,
        "every delivery measured": len(latencies) == sum(len(sub.expected) for sub in subs),
    }
    return {"checks": checks, "wrong": wrong[:20]}, latencies


def latency_of(values: list[float]) -> dict:
    return {
        "deliveries": len(values),
        "p50": round(percentile(values, 50), 1),
        "p99": round(percentile(values, 99), 1),
        "max": round(max(values, default=0.0), 1),
    }


# --- The run ------------------------------------------------------------------------------------


def subscribers_of(changing: list[Followed], idle: list[Followed], followers: int) -> list:
    buyers = max(1, round(followers * BUYER_SHARE))
    subs = [
        Subscriber(order, guest=index >= buyers, expected=list(STEPS))
        for order in changing
        for index in range(followers)
    ]
    return subs + [Subscriber(order, guest=False, expected=[]) for order in idle]


async def measure(args, realtime, web, data: dict) -> dict:
    url = f"ws://127.0.0.1:{realtime.port}/graphql/"
    receipts = Receipts()
    report = {}

    # 10 subscribers, one for each of 10 of the orders that change.
    sender = Sender(web.port, data["staff"], args.concurrency)
    small = subscribers_of(data["small_changing"][:SMALL], [], 1)
    await open_all(small, url, receipts)
    log(f"{len(small)} subscribers: {args.updates} updates")
    seconds = await run_part(small, data["small_changing"], sender, receipts)
    small_result, small_ms = verify(small, sender)
    await close_all(small)
    report["small"] = {
        "subscribers": len(small),
        "seconds": round(seconds, 2),
        **small_result,
        "latency_ms": latency_of(small_ms),
    }

    # The 1,000.
    sender = Sender(web.port, data["staff"], args.concurrency)
    large = subscribers_of(data["changing"], data["idle"], args.followers)
    rss_before = common.rss_bytes(realtime.process.pid)
    connect_seconds = await open_all(large, url, receipts)
    rss_after = common.rss_bytes(realtime.process.pid)
    log(f"{len(large)} subscribers connected in {connect_seconds:.1f} s; {args.updates} updates")
    before = common.cpu_snapshot()
    seconds = await run_part(large, data["changing"], sender, receipts)
    other_cpu = common.other_cpu(before, common.cpu_snapshot(), None, seconds)
    large_result, large_ms = verify(large, sender)
    await close_all(large)
    report["large"] = {
        "subscribers": len(large),
        "following_changing_orders": sum(bool(sub.expected) for sub in large),
        "guests": sum(sub.guest for sub in large),
        "seconds": round(seconds, 2),
        "connect_seconds": round(connect_seconds, 2),
        "other_cpu_cores": other_cpu,
        **large_result,
        "latency_ms": latency_of(large_ms),
    }
    report["memory"] = {
        "rss_before_mb": round(rss_before / 2**20, 1),
        "rss_after_mb": round(rss_after / 2**20, 1),
        "per_connection_kb": round((rss_after - rss_before) / len(large) / 1024, 1),
    }
    return report


def markdown(report: dict) -> str:
    config, machine = report["config"], report["machine"]
    small, large, memory = report["small"], report["large"], report["memory"]
    s, m = small["latency_ms"], large["latency_ms"]
    lines = [
        "# Realtime: latest run",
        "",
        f"{report['date']}; {machine['cores']} cores ({machine['cpu']}); PostgreSQL "
        f"{machine['postgresql']}. One realtime process (uvicorn, `backend.asgi`, "
        f"`DATABASE_POOL=true`) and gunicorn {config['workers']} sync workers "
        "(`gunicorn.conf.py`, `backend.settings.bench`), their events through Redis. "
        f"{config['updates']} `orderStatusUpdate` mutations by staff through HTTP "
        f"({config['changing_orders']} orders, each PAID, PROCESSING, SHIPPED, DELIVERED), "
        f"{config['concurrency']} in flight; the subscribers are `graphql-transport-ws` "
        "connections (asyncio, websockets) in one client process, one `orderUpdated` each.",
        "",
        f"At {large['subscribers']:,}: {large['following_changing_orders']} follow the orders "
        f"that change ({config['followers']} each: buyers' connections and "
        f"{large['guests']} guests with the order's token), the other "
        f"{large['subscribers'] - large['following_changing_orders']} each an order of its own "
        "that does not change. At 10: one for each of 10 of the orders that change.",
        "",
        f"| measure | 10 subscribers | {large['subscribers']:,} subscribers |",
        "| --- | ---: | ---: |",
        f"| deliveries (each checked) | {s['deliveries']:,} | {m['deliveries']:,} |",
        f"| latency p50, mutation sent to event received | {s['p50']:.0f} ms | {m['p50']:.0f} ms |",
        f"| latency p99 | {s['p99']:.0f} ms | {m['p99']:.0f} ms |",
        f"| latency max | {s['max']:.0f} ms | {m['max']:.0f} ms |",
        f"| wall time of the updates | {small['seconds']:.2f} s | {large['seconds']:.2f} s |",
        "",
        f"Memory of the realtime process: {memory['rss_before_mb']:.0f} MB before the "
        f"{large['subscribers']:,} connections, {memory['rss_after_mb']:.0f} MB with them open and "
        f"subscribed: **{memory['per_connection_kb']:.0f} kB per idle connection**. Opening them "
        f"took {large['connect_seconds']:.1f} s ({CONNECTING} handshakes in flight).",
        "",
        "Checks:",
        "",
    ]
    lines += [
        f"- {name}: {'passed' if ok else '**FAILED**'}" for name, ok in report["checks"].items()
    ]
    lines += [
        "",
        f"Target p99 at {large['subscribers']:,} subscribers at most {TARGET_RATIO} times p99 at "
        f"10 ({m['p99']:.0f} ms against {TARGET_RATIO} x {s['p99']:.0f} ms): "
        f"{'met' if report['target_met'] else '**not met**'}.",
        "",
        f"Other processes on the machine (Redis among them) used "
        f"{large['other_cpu_cores']:.2f} cores during the updates at "
        f"{large['subscribers']:,}.",
        "",
    ]
    wrong = small["wrong"] + large["wrong"]
    if wrong:
        lines += ["Wrong deliveries (the first ones):", "", *(f"- {w}" for w in wrong), ""]
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("REALTIME_REDIS_URL", DEFAULT_REALTIME_URL)
    run = uuid.uuid4().hex[:12]
    os.environ["REALTIME_PREFIX"] = f"silkcart-bench-realtime-{run}"
    files = common.raise_open_file_limit(args.subscribers * 2 + 1024)
    if files < args.subscribers + 256:
        sys.exit(f"Open file limit {files}: too low for {args.subscribers} connections")
    url = common.setup_django(allow_any_database=args.allow_any_database)
    logging.getLogger("procrastinate").setLevel(logging.WARNING)  # a line for each order placed
    changing = args.updates // len(STEPS)
    idle = args.subscribers - changing * args.followers
    log(f"Database {url}; events through {os.environ['REALTIME_REDIS_URL']}")
    common.migrate()
    common.delete_stale_rows()
    variant = seed_variant()
    log(f"Placing {2 * changing + idle} orders")
    data = {
        "small_changing": place_orders(variant, changing, f"{run}-s"),
        "changing": place_orders(variant, changing, f"{run}-c"),
        "idle": place_orders(variant, idle, f"{run}-i"),
        "staff": staff_key(run),
    }
    common.analyze()
    machine = common.machine()
    common.close_connections()

    try:
        with common.Uvicorn() as realtime, common.Gunicorn(workers=args.workers) as web:
            log(f"realtime on port {realtime.port} (log: {realtime.log_path})")
            log(f"gunicorn on port {web.port} (log: {web.log_path})")
            measured = asyncio.run(measure(args, realtime, web, data))
    finally:
        _forget_groups(os.environ["REALTIME_PREFIX"])

    checks = {f"10 subscribers: {k}": v for k, v in measured["small"]["checks"].items()}
    checks |= {
        f"{measured['large']['subscribers']:,} subscribers: {k}": v
        for k, v in measured["large"]["checks"].items()
    }
    p99_small, p99_large = (measured[part]["latency_ms"]["p99"] for part in ("small", "large"))
    report = {
        "date": common.now_iso(),
        "machine": machine,
        "config": {
            "subscribers": args.subscribers,
            "followers": args.followers,
            "updates": args.updates,
            "changing_orders": changing,
            "concurrency": args.concurrency,
            "workers": args.workers,
            "server": "uvicorn backend.asgi (DATABASE_POOL=true) and gunicorn sync workers, "
            "backend.settings.bench, events through Redis",
        },
        **measured,
        "checks": checks,
        "passed": all(checks.values()),
        # A target, reported; not a check (timings depend on the machine).
        "target_met": p99_large <= TARGET_RATIO * p99_small,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "realtime.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.output_dir / "realtime.md").write_text(markdown(report))
    log("")
    log(markdown(report))
    log(f"Written: {args.output_dir}/realtime.md, realtime.json")
    if not report["passed"]:
        failed = [name for name, ok in checks.items() if not ok]
        sys.exit(f"Realtime checks failed: {', '.join(failed)}")


def _forget_groups(prefix: str) -> None:
    """The run's keys in Redis (its groups and channels), deleted."""
    import redis

    client = redis.Redis.from_url(os.environ["REALTIME_REDIS_URL"])
    try:
        keys = list(client.scan_iter(f"{prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


if __name__ == "__main__":
    main()
