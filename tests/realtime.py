"""Live realtime servers for tests, and a small ``graphql-transport-ws`` client.

``realtime_server(**env)`` makes a module-scoped fixture: uvicorn serving ``backend.asgi`` (its
WebSocket route: subscriptions; its HTTP route: Django, for the mutations) on a free loopback
port, in a subprocess, with the test settings and ``env`` on top, against the test database:

- PostgreSQL: the test database itself (tests commit: ``realtime_db`` is
  ``django_db(transaction=True)``);
- SQLite: pytest-django's test database lives in this process's memory, which no other process
  can open. For the module, it is copied into a file, and this process's connection opens that
  file instead (the in-memory database is kept alive meanwhile, and used again after).

Between tests, ``realtime_db`` empties the tables of the project's apps but not those of
``contenttypes`` and ``auth`` (``available_apps``): the content types, permissions and role
groups keep their ids, which a long-lived server caches (``ContentType.objects`` does).

``WSClient`` speaks the protocol over ``websockets``' threaded client: a reader thread answers
the server's pings (unless told not to), so that a test may spend time on HTTP calls without
being taken for a dead client; every wait is bounded.
"""

import contextlib
import http.client
import json
import os
import queue
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from strawberry.relay import to_base64
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

ROOT = Path(settings.BASE_DIR)
BIN = Path(sys.executable).parent
START_TIMEOUT = 90  # seconds for a server to answer /healthz (a busy machine imports slowly)
REQUEST_TIMEOUT = 30  # seconds for one HTTP request
WAIT = 10  # seconds: the longest an expected message may take
QUIET = 1.0  # seconds watched to tell that nothing arrives
PROTOCOL = "graphql-transport-ws"
MISSING_PK = 10**9  # no row has it

# The apps whose tables each test empties: all but those of content types, permissions and
# groups (see the module's docstring).
APPS = [
    app
    for app in settings.INSTALLED_APPS
    if app not in ("django.contrib.contenttypes", "django.contrib.auth")
]
realtime_db = pytest.mark.django_db(transaction=True, available_apps=APPS)

# The environment every server starts with (the test settings, a quiet log, no rate limits:
# many requests come from one address); a test module adds its own.
BASE_ENV = {
    "DJANGO_SETTINGS_MODULE": "backend.settings.test",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "RATELIMIT_ENABLE": "false",
    "PYTHONUNBUFFERED": "1",
}
_OWN_PREFIXES = ("DJANGO_", "DATABASE_", "REALTIME_", "GRAPHQL_", "GUNICORN_", "WEB_CONCURRENCY")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_available(url: str) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except Exception:
        return False


# --- The test database, for other processes ---------------------------------------------------


def _postgres_url(db: dict) -> str:
    credentials = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{quote(db['NAME'], safe='')}"


class _SharedDatabase:
    """The test database as a URL another process can open (see the module's docstring);
    entered once per module however many servers share it."""

    def __init__(self) -> None:
        self.users = 0
        self.url = ""
        self._restore = None

    def enter(self, tmp_path: Path) -> str:
        from django.db import connection

        self.users += 1
        if self.users > 1:
            return self.url
        db = connection.settings_dict
        if connection.vendor == "postgresql":
            self.url = _postgres_url(db)
        elif not connection.is_in_memory_db():
            self.url = f"sqlite:///{db['NAME']}"
        else:
            memory_name = db["NAME"]
            keep_alive = sqlite3.connect(memory_name, uri=True)
            path = tmp_path / "realtime.sqlite3"
            copy = sqlite3.connect(path)
            keep_alive.backup(copy)
            copy.execute("PRAGMA journal_mode=WAL")
            copy.close()
            db["NAME"] = str(path)
            connection.close()  # a real close now (the name is a file's): the file opens next

            def restore() -> None:
                connection.close()
                db["NAME"] = memory_name
                connection.ensure_connection()  # holds the in-memory database again...
                keep_alive.close()  # ...before this lets it go

            self._restore = restore
            self.url = f"sqlite:///{path}"
        return self.url

    def leave(self) -> None:
        self.users -= 1
        if self.users == 0 and self._restore is not None:
            self._restore, restore = None, self._restore
            restore()


_shared = _SharedDatabase()


@contextlib.contextmanager
def shared_database(django_db_blocker, tmp_path: Path) -> Iterator[str]:
    with django_db_blocker.unblock():
        url = _shared.enter(tmp_path)
        try:
            yield url
        finally:
            _shared.leave()


# --- Servers ------------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    body: dict
    cookies: dict[str, str]

    @property
    def data(self) -> dict:
        assert "errors" not in self.body, self.body
        return self.body["data"]


@dataclass
class Server:
    """One server subprocess (uvicorn or gunicorn) on ``127.0.0.1:port``."""

    name: str
    command: list[str]
    env: dict[str, str]
    port: int
    log_path: Path
    process: subprocess.Popen | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql/"

    def log(self, since: int = 0) -> str:
        """What the server wrote from offset ``since`` (its last 6000 characters by default)."""
        try:
            text = self.log_path.read_bytes()[since:].decode(errors="replace")
        except OSError:
            return ""
        return text if since else text[-6000:]

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    def ready(self) -> bool:
        assert self.process is not None
        assert self.process.poll() is None, f"{self.name} exited:\n{self.log()}"
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                connection.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
                return connection.getresponse().status == 200
            finally:
                connection.close()
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def http(
        self,
        query: str,
        variables: dict | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """POST a GraphQL document as a client does (JSON, no cookies unless in ``headers``)."""
        sent = {"Host": "127.0.0.1", "Content-Type": "application/json", **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        try:
            connection.request(
                "POST",
                "/graphql/",
                body=json.dumps({"query": query, "variables": variables or {}}),
                headers=sent,
            )
            response = connection.getresponse()
            raw = response.read()
            cookies = SimpleCookie()
            for header in response.headers.get_all("Set-Cookie") or ():
                cookies.load(header)
            try:
                body = json.loads(raw)
            except ValueError:
                raise AssertionError(
                    f"{self.name} answered {response.status}: {raw[:500]!r}\n{self.log()}"
                ) from None
            return Response(response.status, body, {k: m.value for k, m in cookies.items()})
        finally:
            connection.close()


def _env(database_url: str, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_PREFIXES)}
    # No proxy for loopback, whatever the machine's settings.
    env = {k: v for k, v in env.items() if k.lower() not in ("http_proxy", "https_proxy")}
    return {**env, **BASE_ENV, "DATABASE_URL": database_url, **extra}


def uvicorn(database_url: str, tmp_path: Path, name: str = "uvicorn", **env: str) -> Server:
    port = free_port()
    command = [str(BIN / "uvicorn"), "backend.asgi:application", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--lifespan", "off", "--no-access-log"]
    command += ["--log-level", "warning"]
    return Server(name, command, _env(database_url, env), port, tmp_path / f"{name}.log")


def gunicorn(database_url: str, tmp_path: Path, name: str = "gunicorn", **env: str) -> Server:
    """backend.wsgi under gunicorn, as in production (its gunicorn.conf.py), one worker."""
    port = free_port()
    command = [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py")]
    extra = {
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "LOG_FORMAT": "plain",
        "LOG_LEVEL": "WARNING",
        **env,
    }
    return Server(name, command, _env(database_url, extra), port, tmp_path / f"{name}.log")


@contextlib.contextmanager
def running(*servers: Server) -> Iterator[tuple[Server, ...]]:
    """Start the servers at once (they import Django side by side), wait for all to answer."""
    for server in servers:
        if not Path(server.command[0]).exists():
            pytest.skip(f"{server.command[0]} is not installed")
    try:
        for server in servers:
            server.start()
        deadline = time.monotonic() + START_TIMEOUT
        waiting = list(servers)
        while waiting:
            waiting = [server for server in waiting if not server.ready()]
            if waiting:
                assert time.monotonic() < deadline, "did not start:\n" + "\n".join(
                    f"{server.name}:\n{server.log()}" for server in waiting
                )
                time.sleep(0.1)
        yield servers
    finally:
        for server in servers:
            server.stop()


def realtime_server(**env: str):
    """A module-scoped fixture: one uvicorn server (``backend.asgi``) for the module's tests,
    with ``env`` on top of the test settings."""

    @pytest.fixture(scope="module")
    def fixture(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Server]:
        tmp_path = tmp_path_factory.mktemp("realtime")
        with (
            shared_database(django_db_blocker, tmp_path) as url,
            running(uvicorn(url, tmp_path, **env)) as (server,),
        ):
            yield server

    return fixture


# --- Data -----------------------------------------------------------------------------------


def gid(type_name: str, obj) -> str:
    return to_base64(type_name, obj.pk)


def missing(type_name: str) -> str:
    """The global id of a ``type_name`` that does not exist."""
    return to_base64(type_name, MISSING_PK)


def bearer(user) -> str:
    """A new bearer token of ``user`` (its clear key)."""
    from apps.accounts import services

    return services.token_create(user=user)[1]


STAFF_APPS = ["accounts", "catalog", "cart", "orders", "payments", "notifications"]
STAFF_APPS += ["bookings", "delivery", "reports"]


def staff_member(**kwargs):
    """A staff user with every permission of the commerce apps (as ``Store admin``), given
    directly: the role groups may be gone (other transactional tests empty ``auth``)."""
    from django.contrib.auth.models import Permission

    from tests.accounts.factories import UserFactory

    user = UserFactory(is_staff=True, **kwargs)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=STAFF_APPS))
    return user


def courier_agent(**kwargs):
    """A courier (``agent_create``, as staff make one) who may carry out deliveries: the
    ``delivery.deliver`` of the ``Delivery agent`` role given directly, for the same reason (a
    group that ``agent_create`` makes again after a flush has no permissions)."""
    from django.contrib.auth.models import Permission

    from tests.delivery.factories import agent

    made = agent(**kwargs)
    made.user.user_permissions.add(
        Permission.objects.get(content_type__app_label="delivery", codename="deliver")
    )
    return made


# --- The client -----------------------------------------------------------------------------

# A subscription refused (``not_found``) after one database read: an order that does not exist.
ORDER_PROBE = (
    "subscription ($id: ID!) { orderUpdated(id: $id) { number } }",
    {"id": missing("Order")},
)


class Closed(Exception):
    """The server closed the connection (``code``, ``reason``)."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"closed {code}: {reason}")
        self.code, self.reason = code, reason


@dataclass
class WSClient:
    """One ``graphql-transport-ws`` connection. Messages arrive on a reader thread: the
    server's pings are counted (and answered with a pong, unless ``answer_pings`` is false);
    everything else waits in ``inbox`` for the test."""

    connection: ClientConnection
    answer_pings: bool = True
    pings: int = 0
    inbox: queue.Queue = field(default_factory=queue.Queue)
    closed: Closed | None = None
    _ids: int = 0

    @classmethod
    def open(
        cls,
        server: Server,
        token: str | None = None,
        *,
        payload: dict | None = None,
        init: bool = True,
        answer_pings: bool = True,
        origin: str | None = None,
        cookies: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> "WSClient":
        """Connect; with ``init``, send ``connection_init`` (the bearer ``token``, or
        ``payload``) and expect ``connection_ack``."""
        sent = dict(headers or {})
        if cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
        connection = connect(
            server.ws_url,
            subprotocols=[PROTOCOL],
            origin=origin,
            additional_headers=sent,
            proxy=None,
            open_timeout=WAIT,
            close_timeout=2,
            compression=None,
            legacy=True,
        )
        assert connection.subprotocol == PROTOCOL
        client = cls(connection, answer_pings=answer_pings)
        threading.Thread(target=client._read, name="ws-reader", daemon=True).start()
        if init:
            if payload is None:
                payload = {"authorization": f"Bearer {token}"} if token else {}
            client.send({"type": "connection_init", "payload": payload})
            assert client.receive() == {"type": "connection_ack"}
        return client

    def __enter__(self) -> "WSClient":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _read(self) -> None:
        try:
            while True:
                message = json.loads(self.connection.recv())
                if message.get("type") == "ping":
                    self.pings += 1
                    if self.answer_pings:
                        self.send({"type": "pong"})
                    continue
                self.inbox.put(message)
        except ConnectionClosed as error:
            close = error.rcvd
            self.closed = Closed(close.code if close else None, close.reason if close else "")
            self.inbox.put(self.closed)
        except Exception as error:  # an unexpected frame: the test sees it
            self.inbox.put(error)

    def send(self, message: dict) -> None:
        with contextlib.suppress(ConnectionClosed):
            self.connection.send(json.dumps(message))

    def close(self) -> None:
        self.connection.close()

    def receive(self, timeout: float = WAIT) -> dict:
        """The next message; ``Closed`` if the server closed the connection first."""
        try:
            message = self.inbox.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no message within {timeout} s") from None
        if isinstance(message, Exception):
            self.inbox.put(message)  # every later receive sees it too
            raise message
        return message

    def subscribe(self, query: str, variables: dict | None = None, id: str | None = None) -> str:
        self._ids += 1
        id = id or str(self._ids)
        payload = {"query": query, "variables": variables or {}}
        self.send({"id": id, "type": "subscribe", "payload": payload})
        return id

    def follow(
        self, query: str, variables: dict | None = None, *, probe: tuple[str, dict] | None = None
    ) -> str:
        """Subscribe, and return once the subscription listens to its events.

        The protocol acknowledges no subscription; ``probe`` (another subscription, refused
        after the same database reads, ``ORDER_PROBE`` by default) is sent next, and its refusal
        awaited. A realtime process runs the database reads of all its subscriptions one after
        the other, in the order they were asked for, on one thread (``database_sync_to_async``
        is thread-sensitive): once the probe's last read is done, so are the subscription's,
        which then joined its events groups before the probe could answer.
        """
        id = self.subscribe(query, variables)
        probe_query, probe_variables = probe or ORDER_PROBE
        probe_id = self.subscribe(probe_query, probe_variables)
        assert self.refused(probe_id) == ["not_found"]
        return id

    def complete(self, id: str) -> None:
        self.send({"id": id, "type": "complete"})

    def next(self, id: str, timeout: float = WAIT) -> dict:
        """The payload of the next message, a ``next`` of operation ``id``."""
        message = self.receive(timeout)
        assert (message.get("type"), message.get("id")) == ("next", id), message
        return message["payload"]

    def data(self, id: str, timeout: float = WAIT) -> dict:
        """The data of the next message, a ``next`` of ``id`` without errors."""
        payload = self.next(id, timeout)
        assert "errors" not in payload, payload
        return payload["data"]

    def refused(self, id: str) -> list[str]:
        """The codes of a subscription that answers errors and ends: a ``next`` with them,
        then ``complete``."""
        payload = self.next(id)
        assert payload["data"] is None, payload
        message = self.receive()
        assert message == {"id": id, "type": "complete"}, message
        return [error.get("extensions", {}).get("code") for error in payload["errors"]]

    def error(self, id: str) -> list[dict]:
        """The payload of an ``error`` message of ``id`` (the operation never started)."""
        message = self.receive()
        assert (message.get("type"), message.get("id")) == ("error", id), message
        return message["payload"]

    def quiet(self, seconds: float = QUIET) -> None:
        """Nothing arrives for ``seconds`` (and the connection stays open)."""
        try:
            message = self.inbox.get(timeout=seconds)
        except queue.Empty:
            return
        raise AssertionError(f"expected nothing, got {message!r}")

    def wait_closed(self, timeout: float = WAIT) -> Closed:
        """The close the server sends within ``timeout``, messages before it skipped."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"still open after {timeout} s"
            try:
                self.receive(left)
            except Closed as closed:
                return closed


def until(condition, timeout: float = WAIT, what: str = "the condition") -> Any:
    """Poll ``condition`` until it is truthy (its value), at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.05)
