"""The shop goes on when Redis is down or hangs: the cache fails open behind a circuit breaker.

Each test points the cache at a Redis that is not there (a closed port) or one that hangs (a
socket, started by the test, that accepts connections and never answers).
"""

import socket
import threading
import time

import pytest
from django.test import override_settings

from apps.core import cache as resilient
from tests.accounts.factories import DEFAULT_PASSWORD, UserFactory
from tests.catalog.factories import ProductFactory, ProductVariantFactory
from tests.conftest import GraphQLClient

CATALOG = "{ products(first: 5) { edges { node { name } } } }"
LOGIN = """mutation($email: String!, $password: String!) { login(email: $email, password: $password)
{ __typename ... on OperationInfo { messages { code } } } }"""
RESET = 'mutation { passwordResetRequest(email: "casey@example.com") }'


def _redis(location: str) -> dict:
    return {
        "default": {
            "BACKEND": "apps.core.cache.ResilientRedisCache",
            "LOCATION": location,
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class HungRedis:
    """A TCP server that accepts connections and never answers, counting them."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.connections.append(connection)  # read nothing, answer nothing

    def close(self) -> None:
        self.server.close()
        for connection in self.connections:
            connection.close()


@pytest.fixture(autouse=True)
def _breaker_closed():
    resilient._reset()
    yield
    resilient._reset()


@pytest.fixture
def stopped_redis():
    with override_settings(
        CACHES=_redis(f"redis://127.0.0.1:{_free_port()}/0"),
        SESSION_ENGINE="django.contrib.sessions.backends.cached_db",
        CATALOG_CACHE=True,
    ):
        yield


@pytest.fixture
def hung_redis():
    server = HungRedis()
    with override_settings(
        CACHES=_redis(f"redis://127.0.0.1:{server.port}/0"),
        SESSION_ENGINE="django.contrib.sessions.backends.cached_db",
        CATALOG_CACHE=True,
        CACHE_BREAKER_SECONDS=60,
    ):
        yield server
    server.close()


@pytest.fixture
def shelf(db):
    ProductVariantFactory(product=ProductFactory(name="Kettle"))


def test_the_catalog_is_read_from_the_database_while_redis_is_down(shelf, stopped_redis):
    response = GraphQLClient()(CATALOG)

    assert response.status_code == 200
    assert response.data == {"products": {"edges": [{"node": {"name": "Kettle"}}]}}


def test_sign_in_works_while_redis_is_down(db, stopped_redis, caplog):
    UserFactory(email="casey@example.com")
    client = GraphQLClient()

    response = client(LOGIN, {"email": "casey@example.com", "password": DEFAULT_PASSWORD})

    assert response.data == {"login": {"__typename": "User"}}
    assert "_auth_user_id" in client.client.session  # the session, from the database
    assert "Redis is unavailable" in caplog.text


def test_the_password_reset_limit_fails_closed_while_redis_is_down(db, stopped_redis):
    response = GraphQLClient()(RESET)

    assert response.errors[0]["extensions"]["code"] == "rate_limited"


def test_a_hung_redis_is_asked_once_then_bypassed(shelf, hung_redis):
    client = GraphQLClient()

    answers = [client(CATALOG) for _ in range(10)]

    assert all(a.data == {"products": {"edges": [{"node": {"name": "Kettle"}}]}} for a in answers)
    # The first call timed out and opened the breaker: the other nine never reached Redis.
    assert len(hung_redis.connections) == 1
    assert not resilient.available()


def test_the_breaker_lets_a_call_through_again_once_its_time_is_up(shelf, stopped_redis, settings):
    settings.CACHE_BREAKER_SECONDS = 0
    client = GraphQLClient()

    client(CATALOG)
    assert resilient.available()  # tripped, and already closed again
    assert client(CATALOG).status_code == 200


@pytest.fixture
def realtime_redis_layer(settings):
    """The Redis Pub/Sub layer, for the web process's side of realtime events."""
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": settings.REALTIME_REDIS_URL}], "prefix": "t"},
        }
    }
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def test_an_event_for_a_hung_realtime_redis_costs_one_timeout_then_none(
    settings, realtime_redis_layer, caplog
):
    from apps.core.events import ChannelLayerBackend, Event

    server = HungRedis()
    settings.REALTIME_REDIS_URL = f"redis://127.0.0.1:{server.port}/0"
    settings.REALTIME_PUBLISH_TIMEOUT = 0.2
    backend = ChannelLayerBackend()
    event = Event("order.updated", ("order:1", "user:2"), {"id": 1})
    try:
        started = time.monotonic()
        backend.send(event)  # waits for the timeout once, logs, drops the event
        first = time.monotonic() - started
        started = time.monotonic()
        backend.send(event)  # the breaker is open: not tried
        second = time.monotonic() - started
    finally:
        server.close()

    assert 0.2 <= first < 2
    assert second < 0.05
    messages = [r.getMessage() for r in caplog.records]
    assert "Could not send the event order.updated" in messages
    assert "Realtime Redis unavailable: event order.updated dropped" in messages


def test_an_event_reaches_the_group_channels_of_the_pubsub_layer(settings, realtime_redis_layer):
    import redis

    from apps.core.events import ChannelLayerBackend, Event, layer_group

    settings.REALTIME_REDIS_URL = "redis://127.0.0.1:6379/10"
    client = redis.Redis.from_url(settings.REALTIME_REDIS_URL)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    listener = client.pubsub()
    listener.subscribe("t__group__order.1", "t__group__user.2")
    for _ in range(2):
        listener.get_message(timeout=2)  # the subscribe confirmations
    from channels.layers import get_channel_layer

    ChannelLayerBackend().send(Event("order.updated", ("order:1", "user:2"), {"id": 1}))

    received = [listener.get_message(timeout=2) for _ in range(2)]
    listener.close()
    layer = get_channel_layer()
    got = {m["channel"].decode(): layer.deserialize(m["data"]) for m in received}
    ids = {message.pop("id") for message in got.values()}
    assert len(ids) == 1, "one event: the same id in every group"
    assert got == {
        f"t__group__{layer_group(group)}": {
            "type": "silkcart.event",
            "event": "order.updated",
            "payload": {"id": 1},
            "group": layer_group(group),
        }
        for group in ("order:1", "user:2")
    }
