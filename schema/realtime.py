"""The realtime entry point: GraphQL subscriptions over WebSocket, the ``graphql-transport-ws``
protocol, on strawberry's Channels consumer (served by ``backend.asgi``).

What this adds to strawberry's consumer:

- **Who is connected.** A bearer token in the ``connection_init`` payload
  (``{"authorization": "Bearer <token>"}``), or the session cookie when the page that opened the
  socket is one of ours (its ``Origin`` is allowed, as for CSRF: another site cannot borrow a
  visitor's session); no credentials: a guest. A token that is not valid closes the connection
  with 4403. Credentials are checked again every ``REALTIME_AUTH_RECHECK_SECONDS``: a revoked
  token or a closed session closes the connection (4403), and with it its subscriptions.
- **Limits.** At most ``REALTIME_MAX_SUBSCRIPTIONS_PER_CONNECTION`` operations per connection
  and ``REALTIME_MAX_SUBSCRIPTIONS_PER_USER`` per user in the process (``rate_limited``); the
  schema's own limits (depth, aliases, tokens, cost) apply to every operation as over HTTP.
- **Liveness.** The server pings every ``REALTIME_PING_SECONDS`` and closes (4408) a connection
  that has not answered for ``REALTIME_PONG_TIMEOUT_SECONDS``.
- **One answer per event.** Each operation runs with what it asks (document, variables,
  operation name) in ``api.subscriptions.OPERATION``: the subscriptions that ask the same as the
  same reader answer an event once (``api.subscriptions``).
- **Slow clients.** Events waiting for a connection that does not read them are bounded: past
  ``REALTIME_MAX_PENDING_EVENTS`` for one subscription the connection is closed (1013, try
  again later), never holding memory without bound. Nothing waits in Redis: the layer is
  Redis Pub/Sub.
"""

import asyncio
import contextlib
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import import_module
from typing import Any
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.models import AnonymousUser
from django.http.request import validate_host
from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.channels import GraphQLWSConsumer
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.types.execution import PreExecutionError
from strawberry.types.unset import UNSET

from api import subscriptions
from apps.accounts import services as account_services
from apps.accounts.models import AuthToken
from apps.core.errors import CoreErrorCode
from apps.core.events import MESSAGE_TYPE

logger = logging.getLogger(__name__)

# Open subscriptions of each user in this process (``None``: guests, who are counted per
# connection only).
_OPEN: Counter = Counter()


@dataclass
class RealtimeRequest:
    """What resolvers read of "the request" over WebSocket: who is connected. It lives as long
    as the connection (grants a resolver gives hold for the connection's later events)."""

    scope: dict
    user: Any = field(default_factory=AnonymousUser)
    token_id: int | None = None
    session_key: str | None = None

    @property
    def META(self) -> dict:
        client = self.scope.get("client") or ("", 0)
        return {"REMOTE_ADDR": client[0]}


@dataclass
class RealtimeContext:
    request: RealtimeRequest
    ws: "RealtimeConsumer"
    connection_params: dict = field(default_factory=dict)


def _header(scope: dict, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin1")
    return ""


def origin_allowed(scope: dict) -> bool:
    """Whether the session cookie may be used: no ``Origin`` (not a browser: a cookie sent by
    hand is no forgery), or one of the trusted origins, or the host itself (same origin)."""
    origin = _header(scope, b"origin")
    if not origin:
        return True
    trusted = {*settings.CSRF_TRUSTED_ORIGINS, *getattr(settings, "CORS_ALLOWED_ORIGINS", ())}
    if origin.rstrip("/") in {item.rstrip("/") for item in trusted}:
        return True
    host = urlsplit(origin).netloc
    return host == _header(scope, b"host") and validate_host(
        host.rsplit(":", 1)[0] if not host.startswith("[") else host, settings.ALLOWED_HOSTS
    )


def _bearer(params: dict) -> str | None:
    """The token of ``{"authorization": "Bearer <token>"}``; "" when the value is not one."""
    value = params.get("authorization") or params.get("Authorization")
    if value is None:
        return None
    scheme, _, key = str(value).partition(" ")
    return key.strip() if scheme.lower() == "bearer" else ""


def _token_user(key: str) -> tuple[Any, int] | None:
    token = account_services.token_authenticate(key=key) if key else None
    return (token.user, token.pk) if token is not None else None


class _SessionScope:
    """What ``django.contrib.auth.get_user`` reads of a request: its session."""

    def __init__(self, session) -> None:
        self.session = session


def _session_user(scope: dict):
    session = scope.get("session")
    if session is None or not session.session_key:
        return None
    user = get_user(_SessionScope(session))
    return user if user.is_authenticated else None


def _still_valid(request: RealtimeRequest):
    """The connected user, read again (their permissions may have changed); ``None`` when their
    token was revoked or expired, or their session ended."""
    if request.token_id is not None:
        token = (
            AuthToken.objects.active()
            .select_related("user")
            .filter(pk=request.token_id, user__is_active=True)
            .first()
        )
        return token.user if token is not None else None
    if request.session_key is not None:
        # Read from its store again: the connection's own copy was loaded once, at connect.
        session = import_module(settings.SESSION_ENGINE).SessionStore(request.session_key)
        return _session_user({"session": session})
    return request.user


class RealtimeHandler(BaseGraphQLTransportWSHandler):
    """strawberry's graphql-transport-ws handler, with pings, re-checked credentials and a
    per-user cap on subscriptions."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._last_heard = time.monotonic()
        self._watchers: list[asyncio.Task] = []

    @property
    def _user_key(self):
        user = self.context.request.user
        return user.pk if user.is_authenticated else None

    async def handle(self) -> None:
        try:
            await super().handle()
        finally:
            for task in self._watchers:
                task.cancel()

    async def handle_message(self, message) -> None:
        self._last_heard = time.monotonic()
        await super().handle_message(message)

    async def handle_connection_init(self, message) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged:
            self._watchers = [
                asyncio.create_task(self._ping()),
                asyncio.create_task(self._recheck()),
            ]

    async def handle_subscribe(self, message) -> None:
        key = self._user_key
        if (
            self.connection_acknowledged
            and key is not None
            and message.get("id") not in self.operations
            and _OPEN[key] >= settings.REALTIME_MAX_SUBSCRIPTIONS_PER_USER
        ):
            error = GraphQLError(
                f"At most {settings.REALTIME_MAX_SUBSCRIPTIONS_PER_USER} open subscriptions "
                "per user: complete one first.",
                extensions={"code": CoreErrorCode.RATE_LIMITED},
            )
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [error.formatted]}
            )
            return
        known = set(self.operations)
        await super().handle_subscribe(message)
        operation = self.operations.get(message.get("id"))
        if key is not None and operation is not None and message["id"] not in known:
            _OPEN[key] += 1
            operation.task.add_done_callback(lambda _task: self._release(key))

    async def run_operation(self, operation) -> None:
        # In the operation's own task: what its events' answers are shared by (api.subscriptions)
        subscriptions.OPERATION.set(
            subscriptions.operation_key(
                operation.query, operation.variables, operation.operation_name
            )
        )
        await super().run_operation(operation)

    async def _send_result_stream(self, operation, result_source) -> None:
        try:
            await super()._send_result_stream(operation, result_source)
        except GraphQLSyntaxError as error:
            # A document the parser refuses (one over GRAPHQL_MAX_TOKENS too) escapes the
            # stream: the schema's ParserCache parses in its hook, before strawberry's handling
            # of syntax errors. Answered as strawberry answers those (closed, 4400), rather than
            # logged as a server error.
            await self._handle_pre_execution_error(
                operation, PreExecutionError(data=None, errors=[error])
            )

    @staticmethod
    def _release(key) -> None:
        _OPEN[key] -= 1
        if _OPEN[key] <= 0:
            del _OPEN[key]

    async def _ping(self) -> None:
        with contextlib.suppress(Exception):
            await self._ping_until_silent()

    async def _ping_until_silent(self) -> None:
        while True:
            await asyncio.sleep(settings.REALTIME_PING_SECONDS)
            if time.monotonic() - self._last_heard > settings.REALTIME_PONG_TIMEOUT_SECONDS:
                await self.websocket.close(code=4408, reason="No answer to pings")
                return
            await self.send_message({"type": "ping"})

    async def _recheck(self) -> None:
        with contextlib.suppress(Exception):
            await self._recheck_until_revoked()

    async def _recheck_until_revoked(self) -> None:
        request = self.context.request
        while True:
            await asyncio.sleep(settings.REALTIME_AUTH_RECHECK_SECONDS)
            if not request.user.is_authenticated:
                continue
            user = await database_sync_to_async(_still_valid)(request)
            if user is None or user.pk != request.user.pk:
                await self.websocket.close(code=4403, reason="Credentials revoked")
                return
            request.user = user  # permissions read afresh from now on


class RealtimeConsumer(GraphQLWSConsumer):
    graphql_transport_ws_handler_class = RealtimeHandler

    def __init__(self, schema, **kwargs) -> None:
        super().__init__(
            schema,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=10),
            max_subscriptions_per_connection=settings.REALTIME_MAX_SUBSCRIPTIONS_PER_CONNECTION,
            **kwargs,
        )

    _closed = False

    async def close(self, code=None, reason=None) -> None:
        if self._closed:
            return
        self._closed = True
        await super().close(code=code, reason=reason)

    async def send(self, text_data=None, bytes_data=None, close=False) -> None:
        # Closed by the server (4403, 4408, 1013): what its subscriptions still had on the way
        # is dropped (the server would refuse it, an error for every late event).
        if self._closed:
            return
        await super().send(text_data=text_data, bytes_data=bytes_data, close=close)

    def is_websocket_origin_allowed(self, request, origin: str) -> bool:
        # A page of any origin may connect (strawberry would refuse other origins' handshakes
        # with a 403): as a guest, or with a bearer token. Only the connections of an allowed
        # origin use the session cookie (``on_ws_connect``, ``origin_allowed``).
        return True

    async def get_context(self, request, response) -> RealtimeContext:
        return RealtimeContext(request=RealtimeRequest(scope=self.scope), ws=self)

    async def on_ws_connect(self, context: RealtimeContext):
        request = context.request
        key = _bearer(context.connection_params or {})
        if key is not None:
            found = await database_sync_to_async(_token_user)(key)
            if found is None:
                raise ConnectionRejectionError()
            request.user, request.token_id = found
        elif origin_allowed(self.scope):
            user = await database_sync_to_async(_session_user)(self.scope)
            if user is not None:
                request.user, request.session_key = user, self.scope["session"].session_key
        return UNSET

    async def dispatch(self, message) -> None:
        if message.get("type") == MESSAGE_TYPE:
            backlog = max((queue.qsize() for queue in self.listen_queues[MESSAGE_TYPE]), default=0)
            if backlog >= settings.REALTIME_MAX_PENDING_EVENTS:
                logger.warning("A subscriber is too slow: closing its connection")
                for queue in list(self.listen_queues[MESSAGE_TYPE]):
                    while not queue.empty():
                        queue.get_nowait()
                await self.close(code=1013, reason="Too slow: events are waiting")
                return
        await super().dispatch(message)
