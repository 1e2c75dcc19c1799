"""Building blocks of subscriptions: follow events groups from a resolver, and read the state an
event announces with the reader's own visibility rules.

A subscription resolver checks, once, that its caller may see what they follow (``not_found``
otherwise, as a query would answer), then listens to the events groups of that object
(``apps.core.events``) on its connection, and for each event reads the object again, through
its type's ``get_queryset``: an event carries ids, never rows, so a subscriber never sees more
than its queries would, nor a state that was rolled back (events leave after the commit).

**One answer per event.** Ten tabs and phones following one order ask the same thing: the
subscriptions of a process that send the same document with the same variables, as the same
reader (the same user, or guests holding the same grants), answer an event alike. ``answers``
reads the object for the first of them to come to the event, and the schema's executor
(``SharedAnswers``) executes the selection for it alone; the others are given its result. A
reader's connections each re-read the user every ``REALTIME_AUTH_RECHECK_SECONDS``: an answer
one of them computed is at most that old in what the user may see.
"""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import strawberry
from channels.db import database_sync_to_async
from django.db.models import Model, QuerySet
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry_django.optimizer import optimize

from apps.core.errors import CoreErrorCode
from apps.core.events import MESSAGE_TYPE, layer_group

from .grants import grants_key
from .types import PublicError


def _consumer(info: strawberry.Info):
    consumer = getattr(info.context, "ws", None)
    if consumer is None:
        raise PublicError(
            "Subscriptions are served over WebSocket (graphql-transport-ws) at /graphql/.",
            code=CoreErrorCode.INVALID,
        )
    return consumer


@contextlib.asynccontextmanager
async def follow(info: strawberry.Info, groups: Iterable[str]) -> AsyncIterator[AsyncIterator]:
    """The events of ``groups`` as they arrive on the caller's connection (each a dict with
    ``event`` and ``payload``), until the subscription ends."""
    consumer = _consumer(info)
    channel_groups = [layer_group(group) for group in groups]
    async with consumer.listen_to_channel(MESSAGE_TYPE, groups=channel_groups) as messages:
        yield _of_groups(messages, frozenset(channel_groups))


async def _of_groups(messages: AsyncIterator[dict], groups: frozenset[str]) -> AsyncIterator[dict]:
    """The messages sent to ``groups``: the connection's channel also receives those of the
    groups its other subscriptions follow, and each of its listeners gets them all."""
    async for message in messages:
        if message.get("group") in groups:
            yield message


def not_found(what: str) -> PublicError:
    """What a subscription to an object the caller may not see (or that does not exist)
    answers before it ends, as a query would: the same for both."""
    return PublicError(f"No {what} found with this id.", code=CoreErrorCode.NOT_FOUND)


async def require(info: strawberry.Info, permission: str | None = None) -> None:
    """Refuse (``permission_denied``) an anonymous caller, or one without ``permission``."""
    user = info.context.request.user
    allowed = user.is_authenticated and (
        permission is None or await read(user.has_perm, permission)
    )
    if not allowed:
        if user.is_authenticated:
            message = "You do not have permission to do this."
        else:
            message = "You must be signed in."
        raise PublicError(message, code=CoreErrorCode.PERMISSION_DENIED)


class Reader:
    """Reads a row of ``model`` by id as the subscription's caller may see it as ``type_``,
    with what the subscription's selection needs (the optimizer's joins and prefetches): its
    fields are then resolved without further queries where they can be. Call it with
    ``read``, once per event.

    The query is planned once per subscription (the type's visibility rule, then the
    optimizer), and again when the caller's user or grants change (the connection re-reads
    its user every ``REALTIME_AUTH_RECHECK_SECONDS``).
    """

    def __init__(self, type_: type, model: type[Model]) -> None:
        self.type, self.model = type_, model
        self._plan: tuple[Any, frozenset, QuerySet] | None = None

    def __call__(self, info: strawberry.Info, pk: int) -> Model | None:
        user, grants = info.context.request.user, grants_key(info)
        if self._plan is None or self._plan[0] is not user or self._plan[1] != grants:
            queryset = self.type.get_queryset(self.model._default_manager.all(), info)
            self._plan = (user, grants, optimize(queryset, info))
        return self._plan[2].filter(pk=pk).first()


async def read(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``function`` (database work) off the event loop, with Django's connection handling."""
    return await database_sync_to_async(function)(*args, **kwargs)


# --- One answer per event -----------------------------------------------------------------------

# What the running subscription asks (document, variables, operation name): set by the realtime
# handler for each operation (``schema.realtime``); unset, nothing is shared.
OPERATION: ContextVar[tuple | None] = ContextVar("silkcart_subscription_operation", default=None)
# An event's answer (the row read and the result) is kept this long for the subscriptions that
# come to the event later; one later still reads and executes it on its own. Short: every event
# with subscribers keeps one per kind of subscription meanwhile.
ANSWER_SECONDS = 5


def operation_key(query: str, variables: dict | None, operation_name: str | None) -> tuple:
    return (query, json.dumps(variables or {}, sort_keys=True, default=str), operation_name)


@dataclass(eq=False)
class _Answer:
    """An event's answer for one kind of subscription: the value read, then the result."""

    value: asyncio.Future
    result: asyncio.Future

    def abandon(self) -> None:
        """The first subscription could not finish it: the others do their own."""
        for future in (self.value, self.result):
            if not future.done():
                future.cancel()


@dataclass(frozen=True, eq=False)
class Shared:
    """What a subscription yields for an event whose answer it shares."""

    value: Any
    answer: _Answer
    first: bool  # this subscription computes the result; the others wait for it


_ANSWERS: dict[tuple, _Answer] = {}


def _answer_key(info: strawberry.Info, event: dict) -> tuple | None:
    operation, event_id = OPERATION.get(), event.get("id")
    if operation is None or event_id is None:
        return None
    user = info.context.request.user
    reader = (user.pk if user.is_authenticated else None, grants_key(info))
    return (event_id, operation, tuple(info.path.as_list()), reader)


def _forget(key: tuple, answer: _Answer) -> None:
    if _ANSWERS.get(key) is answer:
        del _ANSWERS[key]
    answer.abandon()


async def _answer(info: strawberry.Info, event: dict, function: Callable, args: tuple) -> Any:
    """What to yield for ``event``: ``function(info, *args)`` read once for the subscriptions
    that answer it alike, wrapped in ``Shared`` (or read for this one alone, unwrapped, when
    nothing can be shared); ``None`` when there is nothing to see."""
    key = _answer_key(info, event)
    if key is None:
        return await read(function, info, *args)
    answer = _ANSWERS.get(key)
    if answer is not None:
        try:
            value = await asyncio.shield(answer.value)
        except asyncio.CancelledError:
            if not answer.value.cancelled():
                raise  # this subscription was cancelled, not the first one's read
            return await read(function, info, *args)
        return None if value is None else Shared(value, answer, first=False)
    loop = asyncio.get_running_loop()
    answer = _ANSWERS[key] = _Answer(loop.create_future(), loop.create_future())
    loop.call_later(ANSWER_SECONDS, _forget, key, answer)
    try:
        value = await read(function, info, *args)
    except BaseException:
        _forget(key, answer)
        raise
    answer.value.set_result(value)
    if value is None:
        answer.result.cancel()
        return None
    return Shared(value, answer, first=True)


async def answers(
    info: strawberry.Info,
    events: AsyncIterator[dict],
    function: Callable,
    arguments: Callable[[dict], tuple | None],
    *,
    end_when_missing: bool = False,
) -> AsyncIterator[Any]:
    """For each event, ``function(info, *arguments(event))`` (database work, as ``read``) to
    yield, shared with the subscriptions that answer it alike. An event whose ``arguments`` are
    ``None`` is not for this subscription. When ``function`` finds nothing (deleted, or no
    longer visible), the event is skipped, or the stream ends with ``end_when_missing``."""
    async for event in events:
        args = arguments(event)
        if args is None:
            continue
        payload = await _answer(info, event, function, args)
        if payload is None:
            if end_when_missing:
                return
            continue
        try:
            yield payload
        except BaseException:
            if isinstance(payload, Shared) and payload.first:
                payload.answer.abandon()  # closed before it was executed
            raise


class SharedAnswers(StrawberryGraphQLCoreExecutionContext):
    """The schema's executor: executes a ``Shared`` event once, for its first subscription,
    and gives the others that result (or executes it for them too, when the first could not)."""

    shared: Shared | None = None

    def build_per_event_executor(self, payload: Any):
        if not isinstance(payload, Shared):
            return super().build_per_event_executor(payload)
        executor = super().build_per_event_executor(payload.value)
        executor.shared = payload
        return executor

    def execute_operation(self, serially=None):
        shared = self.shared
        if shared is None:
            return super().execute_operation(serially)
        if not shared.first:
            return self._given(shared.answer.result, serially)
        try:
            result = super().execute_operation(serially)
        except BaseException:
            shared.answer.abandon()
            raise
        if self.is_awaitable(result):
            return self._settled(result, shared.answer.result)
        if not shared.answer.result.done():
            shared.answer.result.set_result(result)
        return result

    @staticmethod
    async def _settled(awaitable, future: asyncio.Future):
        try:
            result = await awaitable
        except BaseException:
            if not future.done():
                future.cancel()
            raise
        if not future.done():
            future.set_result(result)
        return result

    async def _given(self, future: asyncio.Future, serially):
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            if not future.cancelled():
                raise  # this subscription was cancelled
        result = super().execute_operation(serially)
        return await result if self.is_awaitable(result) else result
