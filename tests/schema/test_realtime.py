"""The realtime transport (``schema.realtime``) over a live server: who is connected, the
limits, liveness, slow clients, and events shared between processes through Redis.

One uvicorn server (``backend.asgi``) serves the module, with short intervals and small limits
(``SERVER_ENV``); the Redis test starts its own three processes (see ``tests.realtime``).
"""

import asyncio
import contextlib
import json
import socket
import threading
import time
import uuid

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from apps.accounts.models import User
from apps.core.events import MESSAGE_TYPE
from apps.delivery.models import DeliveryStatus
from tests.accounts.factories import UserFactory
from tests.delivery.factories import card_order, delivery_at
from tests.orders.factories import place_order, variant
from tests.realtime import (
    ORDER_PROBE,
    QUIET,
    WAIT,
    WSClient,
    bearer,
    courier_agent,
    gid,
    gunicorn,
    realtime_db,
    realtime_server,
    redis_available,
    running,
    shared_database,
    staff_member,
    until,
    uvicorn,
)

RECHECK_SECONDS = 1
TRUSTED_ORIGIN = "https://shop.example.com"  # the storefront's (CSRF_TRUSTED_ORIGINS)
PING_SECONDS = 0.5
PONG_TIMEOUT_SECONDS = 1.5
SERVER_ENV = {
    "REALTIME_AUTH_RECHECK_SECONDS": str(RECHECK_SECONDS),
    "REALTIME_MAX_SUBSCRIPTIONS_PER_USER": "2",
    "REALTIME_MAX_SUBSCRIPTIONS_PER_CONNECTION": "3",
    "REALTIME_PING_SECONDS": str(PING_SECONDS),
    "REALTIME_PONG_TIMEOUT_SECONDS": str(PONG_TIMEOUT_SECONDS),
    "CSRF_TRUSTED_ORIGINS": TRUSTED_ORIGIN,
    "REALTIME_MAX_PENDING_EVENTS": "3",
    "DELIVERY_LOCATION_INTERVAL_SECONDS": "0",
}
server = realtime_server(**SERVER_ENV)

ORDER_UPDATED = """
subscription ($id: ID!, $token: UUID) {
  orderUpdated(id: $id, token: $token) { number status }
}
"""
STATUS_UPDATE = """
mutation ($id: ID!, $status: OrderStatus!) {
  orderStatusUpdate(id: $id, status: $status) {
    __typename
    ... on OperationInfo { messages { code } }
  }
}
"""
TOKEN_REVOKE = "mutation { tokenRevoke }"
FOREIGN_ORIGIN = "https://evil.example"


def set_status(web, order, status: str, staff_key: str) -> None:
    variables = {"id": gid("Order", order), "status": status}
    response = web.http(STATUS_UPDATE, variables, token=staff_key)
    assert response.data == {"orderStatusUpdate": {"__typename": "Order"}}


def seen(order, status: str) -> dict:
    return {"orderUpdated": {"number": order.number, "status": status}}


def customer_order(user=None):
    """A customer's unpaid card order (it may be PAID next)."""
    user = user or UserFactory()
    return user, card_order(user=user, paid=False, lines=[(variant(), 1)])


def guest_order():
    return place_order(user=None, method="CARD_PLACEHOLDER", lines=[(variant(), 1)])


def session_of(user) -> str:
    """A session of ``user`` (its key), as signing in makes one."""
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


# --- Who is connected ---------------------------------------------------------------------------


@realtime_db
@pytest.mark.parametrize(
    "authorization", ["Bearer not-a-token", "Bearer ", "Basic dXNlcjpwdw==", "not-a-scheme"]
)
def test_credentials_that_are_not_a_valid_token_close_the_connection(server, authorization):
    ws = WSClient.open(server, init=False)
    ws.send({"type": "connection_init", "payload": {"authorization": authorization}})

    closed = ws.wait_closed()

    assert (closed.code, closed.reason) == (4403, "Forbidden")


@realtime_db
def test_a_valid_token_is_acknowledged_and_identifies_the_user(server):
    user, order = customer_order()
    staff_key = bearer(staff_member())

    with WSClient.open(server, bearer(user)) as ws:
        sub = ws.follow(ORDER_UPDATED, {"id": gid("Order", order)})
        set_status(server, order, "PAID", staff_key)

        assert ws.data(sub) == seen(order, "PAID")


@realtime_db
@pytest.mark.parametrize("how", ["token revoked", "user deactivated"])
def test_credentials_revoked_while_subscribed_close_the_connection(server, how):
    user, order = customer_order()
    key = bearer(user)

    with WSClient.open(server, key) as ws:
        ws.follow(ORDER_UPDATED, {"id": gid("Order", order)})
        if how == "token revoked":
            assert server.http(TOKEN_REVOKE, token=key).data == {"tokenRevoke": True}
        else:
            User.objects.filter(pk=user.pk).update(is_active=False)
        started = time.monotonic()

        closed = ws.wait_closed(timeout=RECHECK_SECONDS + WAIT)

        assert (closed.code, closed.reason) == (4403, "Credentials revoked")
        # Within the re-check interval (with room for a busy machine).
        assert time.monotonic() - started < RECHECK_SECONDS + 5


@realtime_db
@pytest.mark.parametrize("origin", ["own", "trusted", None])
def test_the_session_cookie_identifies_the_user_from_an_allowed_origin(server, origin):
    user, order = customer_order()
    cookies = {"sessionid": session_of(user)}
    origin = {"own": server.origin, "trusted": TRUSTED_ORIGIN, None: None}[origin]

    with WSClient.open(server, cookies=cookies, origin=origin) as ws:
        sub = ws.follow(ORDER_UPDATED, {"id": gid("Order", order)})
        set_status(server, order, "PAID", bearer(staff_member()))

        assert ws.data(sub) == seen(order, "PAID")


@realtime_db
def test_the_session_cookie_is_ignored_from_a_foreign_origin(server):
    user, order = customer_order()
    cookies = {"sessionid": session_of(user)}

    with WSClient.open(server, cookies=cookies, origin=FOREIGN_ORIGIN) as ws:
        sub = ws.subscribe(ORDER_UPDATED, {"id": gid("Order", order)})

        # A guest, to whom the customer's order does not exist.
        assert ws.refused(sub) == ["not_found"]


@realtime_db
def test_a_bearer_token_identifies_the_user_from_any_origin(server):
    user, order = customer_order()

    with WSClient.open(server, bearer(user), origin=FOREIGN_ORIGIN) as ws:
        sub = ws.follow(ORDER_UPDATED, {"id": gid("Order", order)})
        set_status(server, order, "PAID", bearer(staff_member()))

        assert ws.data(sub) == seen(order, "PAID")


@realtime_db
def test_a_session_ended_while_subscribed_closes_the_connection(server):
    user, order = customer_order()
    session_key = session_of(user)

    with WSClient.open(server, cookies={"sessionid": session_key}, origin=server.origin) as ws:
        ws.follow(ORDER_UPDATED, {"id": gid("Order", order)})
        Session.objects.filter(session_key=session_key).delete()  # signed out

        closed = ws.wait_closed(timeout=RECHECK_SECONDS + WAIT)

        assert (closed.code, closed.reason) == (4403, "Credentials revoked")


# --- Limits -------------------------------------------------------------------------------------


@realtime_db
def test_a_user_has_at_most_so_many_open_subscriptions(server):
    user, order = customer_order()
    key, staff_key = bearer(user), bearer(staff_member())
    variables = {"id": gid("Order", order)}
    limited = [
        {
            "message": "At most 2 open subscriptions per user: complete one first.",
            "extensions": {"code": "rate_limited"},
        }
    ]

    with WSClient.open(server, key) as first_ws, WSClient.open(server, key) as second_ws:
        first = first_ws.follow(ORDER_UPDATED, variables)
        second = second_ws.subscribe(ORDER_UPDATED, variables)
        # The user's limit, over all their connections.
        third = second_ws.subscribe(ORDER_UPDATED, variables)
        assert second_ws.error(third) == limited

        # Completing one frees its place, at once.
        second_ws.complete(second)
        again = second_ws.subscribe(ORDER_UPDATED, variables)
        fourth = second_ws.subscribe(ORDER_UPDATED, variables)
        assert second_ws.error(fourth) == limited
        with WSClient.open(server) as probe_ws:  # lets `again` join its group first
            assert probe_ws.refused(probe_ws.subscribe(*ORDER_PROBE)) == ["not_found"]

        set_status(server, order, "PAID", staff_key)

        assert first_ws.data(first) == seen(order, "PAID")
        assert second_ws.data(again) == seen(order, "PAID")
        second_ws.quiet()


@realtime_db
def test_a_connection_has_at_most_so_many_operations(server):
    order = guest_order()  # guests are counted per connection only
    variables = {"id": gid("Order", order), "token": str(order.token)}

    with WSClient.open(server) as ws:
        for _ in range(3):
            ws.subscribe(ORDER_UPDATED, variables)
        fourth = ws.subscribe(ORDER_UPDATED, variables)

        assert ws.error(fourth) == [{"message": "Subscription limit reached"}]


def _nested(depth: int) -> str:
    """``orderUpdated`` selecting ``lines { booking { order { ... } } }`` ``depth`` times."""
    selection = "number"
    for _ in range(depth):
        selection = f"lines {{ booking {{ order {{ {selection} }} }} }}"
    return f"subscription ($id: ID!) {{ orderUpdated(id: $id) {{ {selection} }} }}"


@realtime_db
@pytest.mark.parametrize(
    ("document", "message"),
    [
        (_nested(4), "'anonymous' exceeds maximum operation depth of 10"),
        (
            "subscription ($id: ID!) { orderUpdated(id: $id) { "
            + " ".join(f"a{n}: number" for n in range(31))
            + " } }",
            "31 aliases found. Allowed: 30",
        ),
    ],
    ids=["depth", "aliases"],
)
def test_the_documents_limits_apply_to_a_subscription(server, document, message):
    user, order = customer_order()

    with WSClient.open(server, bearer(user)) as ws:
        sub = ws.subscribe(document, {"id": gid("Order", order)})

        assert [error["message"] for error in ws.error(sub)] == [message]
        # Nothing was subscribed: the order's change is not sent, the connection goes on.
        set_status(server, order, "PAID", bearer(staff_member()))
        ws.quiet()
        ws.follow(ORDER_UPDATED, {"id": gid("Order", order)})


@realtime_db
@pytest.mark.parametrize(
    ("selection", "reason"),
    [
        ("number " * 2001, "Document contains more than 2000 tokens. Parsing aborted."),
        # An argument list needs an argument in every version of the grammar (an empty
        # selection set, "number { }", is one graphql-core 3.3 accepts).
        ("number (", "Expected Name, found '}'."),
    ],
    ids=["tokens", "syntax"],
)
def test_a_document_the_parser_refuses_closes_the_connection(server, selection, reason):
    user, order = customer_order()
    document = f"subscription ($id: ID!) {{ orderUpdated(id: $id) {{ {selection} }} }}"
    log_size = server.log_size()

    with WSClient.open(server, bearer(user)) as ws:
        ws.subscribe(document, {"id": gid("Order", order)})

        # As graphql-transport-ws answers a document that does not parse: closed (4400).
        closed = ws.wait_closed()

    assert (closed.code, closed.reason) == (4400, f"Syntax Error: {reason}")
    assert "Exception" not in server.log(since=log_size)  # the client's mistake, not ours


# --- Liveness -----------------------------------------------------------------------------------


@realtime_db
def test_the_server_pings_and_a_client_that_answers_stays_connected(server):
    user, order = customer_order()

    with WSClient.open(server, bearer(user)) as ws:
        until(lambda: ws.pings >= 4, timeout=WAIT, what="four pings")

        assert ws.closed is None  # past the pong timeout: the pongs kept it alive
        sub = ws.follow(ORDER_UPDATED, {"id": gid("Order", order)})
        set_status(server, order, "PAID", bearer(staff_member()))
        assert ws.data(sub) == seen(order, "PAID")


@realtime_db
def test_a_client_that_never_answers_is_closed(server):
    ws = WSClient.open(server, answer_pings=False)
    started = time.monotonic()

    closed = ws.wait_closed(timeout=PONG_TIMEOUT_SECONDS + WAIT)

    assert (closed.code, closed.reason) == (4408, "No answer to pings")
    assert time.monotonic() - started >= PONG_TIMEOUT_SECONDS
    assert ws.pings >= 2


# --- Slow clients -------------------------------------------------------------------------------


LOCATION_UPDATE = """
mutation ($id: ID!, $latitude: Float!, $longitude: Float!) {
  deliveryLocationUpdate(id: $id, latitude: $latitude, longitude: $longitude) { __typename }
}
"""
MAX_EVENTS = 200  # sent at most, waiting for the server to give up on the client
TOO_SLOW = "A subscriber is too slow: closing its connection"  # its log line


def _recv_skipping_pings(connection, timeout: float = WAIT) -> dict:
    while True:
        message = json.loads(connection.recv(timeout=timeout))
        if message.get("type") != "ping":
            return message


@realtime_db
def test_a_client_that_stops_reading_is_closed_once_its_events_pile_up(server):
    # Big answers (some 300 kB an event): a few fill the buffers between the server and a
    # client that reads nothing; the next ones wait in the server, up to a point.
    lines = [(variant(product__name=f"{n:02d} " + "p" * 250, name="v" * 255), 1) for n in range(20)]
    order = card_order(user=UserFactory(), lines=lines)
    courier = courier_agent()
    delivery = delivery_at(DeliveryStatus.PICKED_UP, order=order, courier=courier)
    courier_key, staff_key = bearer(courier.user), bearer(staff_member())
    document = (
        "subscription ($id: ID!) { orderUpdated(id: $id) { "
        + " ".join(f"l{n}: lines {{ productName variantName }}" for n in range(30))
        + " } }"
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window
    sock.settimeout(WAIT)
    sock.connect(("127.0.0.1", server.port))
    connection = connect(
        server.ws_url,
        sock=sock,
        subprotocols=["graphql-transport-ws"],
        proxy=None,
        legacy=True,
        compression=None,
        ping_interval=None,
        max_queue=1,  # the client's own buffer: one message, then it stops reading
    )
    stop = threading.Event()
    log_size = server.log_size()

    def keep_answering() -> None:  # pongs keep it from looking dead (4408): it only lags
        while not stop.wait(0.3):
            with contextlib.suppress(Exception):
                connection.send(json.dumps({"type": "pong"}))

    try:
        connection.send(
            json.dumps(
                {"type": "connection_init", "payload": {"authorization": f"Bearer {staff_key}"}}
            )
        )
        assert _recv_skipping_pings(connection) == {"type": "connection_ack"}
        payload = {"query": document, "variables": {"id": gid("Order", order)}}
        connection.send(json.dumps({"id": "slow", "type": "subscribe", "payload": payload}))
        probe_query, probe_variables = ORDER_PROBE
        payload = {"query": probe_query, "variables": probe_variables}
        connection.send(json.dumps({"id": "probe", "type": "subscribe", "payload": payload}))
        assert _recv_skipping_pings(connection)["id"] == "probe"
        assert _recv_skipping_pings(connection) == {"id": "probe", "type": "complete"}
        threading.Thread(target=keep_answering, daemon=True).start()

        # Events until the server gives up on the client (how many fit in the buffers first
        # depends on the machine); the client reads none of them meanwhile.
        sent = 0
        while TOO_SLOW not in server.log(since=log_size):
            assert sent < MAX_EVENTS, f"{sent} events waited for the client: never closed"
            response = server.http(
                LOCATION_UPDATE,
                {"id": gid("Delivery", delivery), "latitude": 45 + sent / 100, "longitude": 2.0},
                token=courier_key,
            )
            assert response.data == {"deliveryLocationUpdate": {"__typename": "Delivery"}}
            sent += 1

        received = 0
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                if _recv_skipping_pings(connection).get("type") == "next":
                    received += 1
    finally:
        stop.set()
        connection.close()

    close = closed.value.rcvd
    assert (close.code, close.reason) == (1013, "Too slow: events are waiting"), closed.value
    # What was in the buffers arrived; the event that found three waiting, and those three,
    # were dropped.
    assert received <= sent - 4
    assert "Exception" not in server.log(since=log_size)


def test_a_slow_client_is_closed_rather_than_buffered(settings):
    """The rule of ``RealtimeConsumer.dispatch`` exactly, its listeners' queues filled by hand
    (live, above, how many events the buffers take first depends on the machine)."""
    from schema.realtime import RealtimeConsumer
    from schema.schema import schema

    settings.REALTIME_MAX_PENDING_EVENTS = 3
    consumer = RealtimeConsumer(schema)
    closed = []

    async def close(code=None, reason=None) -> None:
        closed.append((code, reason))

    consumer.close = close
    event = {"type": MESSAGE_TYPE, "event": "order.updated", "group": "order.1", "payload": {}}

    async def scenario() -> tuple[list[int], list[int]]:
        slow, reading = asyncio.Queue(), asyncio.Queue()
        consumer.listen_queues[MESSAGE_TYPE].update([slow, reading])
        for _ in range(3):
            await consumer.dispatch(event)
            reading.get_nowait()  # this one keeps up
        waiting = [slow.qsize(), reading.qsize()]
        assert closed == []
        await consumer.dispatch(event)  # a fourth for the slow one: too many
        return waiting, [slow.qsize(), reading.qsize()]

    waiting, after = asyncio.run(scenario())

    assert waiting == [3, 0]
    assert closed == [(1013, "Too slow: events are waiting")]
    assert after == [0, 0]  # what waited was let go, the fourth never queued


# --- Several processes ---------------------------------------------------------------------------

REDIS_URL = "redis://127.0.0.1:6379/10"


@pytest.fixture(scope="module")
def processes(django_db_setup, django_db_blocker, tmp_path_factory):
    """Two web processes (gunicorn, backend.wsgi) and one realtime process (uvicorn), their
    events through Redis."""
    if not redis_available(REDIS_URL):
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    import redis

    tmp_path = tmp_path_factory.mktemp("redis")
    env = {"REALTIME_REDIS_URL": REDIS_URL, "REALTIME_PREFIX": f"silkcart-test-{uuid.uuid4().hex}"}
    with (
        shared_database(django_db_blocker, tmp_path) as url,
        running(
            uvicorn(url, tmp_path, "realtime", **env),
            gunicorn(url, tmp_path, "web-a", **env),
            gunicorn(url, tmp_path, "web-b", **env),
        ) as servers,
    ):
        client = redis.Redis.from_url(REDIS_URL)
        try:
            yield (*servers, client, env["REALTIME_PREFIX"])
        finally:
            keys = list(client.scan_iter(f"{env['REALTIME_PREFIX']}*"))
            if keys:
                client.delete(*keys)
            client.close()


@realtime_db
def test_events_of_each_web_process_reach_the_realtime_process_through_redis(processes):
    realtime, web_a, web_b, redis_client, prefix = processes
    user, order = customer_order()
    staff_key = bearer(staff_member())

    with WSClient.open(realtime, bearer(user)) as ws:
        sub = ws.subscribe(ORDER_UPDATED, {"id": gid("Order", order)})
        # The subscription listens once the realtime process subscribes to the order's group
        # (a Redis Pub/Sub channel).
        group = f"{prefix}__group__order.{order.pk}"
        until(
            lambda: dict(redis_client.pubsub_numsub(group)).get(group.encode()) == 1,
            what="the realtime process subscribed to the order's group in Redis",
        )

        set_status(web_a, order, "PAID", staff_key)
        assert ws.data(sub) == seen(order, "PAID")

        set_status(web_b, order, "PROCESSING", staff_key)
        assert ws.data(sub) == seen(order, "PROCESSING")
        ws.quiet(QUIET)
