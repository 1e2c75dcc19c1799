"""Building blocks of subscriptions: follow events groups from a resolver, and read the state an
event announces with the reader's own visibility rules.

A subscription resolver checks, once, that its caller may see what they follow (``not_found``
otherwise, as a query would answer), then listens to the events groups of that object
(``apps.core.events``) on its connection, and for each event reads the object again, through
its type's ``get_queryset``: an event carries ids, never rows, so a subscriber never sees more
than its queries would, nor a state that was rolled back (events leave after the commit).
"""

import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import strawberry
from channels.db import database_sync_to_async
from django.db.models import Model, QuerySet
from strawberry_django.optimizer import optimize

from apps.core.errors import CoreErrorCode
from apps.core.events import MESSAGE_TYPE, layer_group

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


def visible(info: strawberry.Info, type_: type, queryset: QuerySet) -> Model | None:
    """The first row of ``queryset`` that the caller may see as ``type_``, with what the
    subscription's selection needs (the optimizer's joins and prefetches): its fields are then
    resolved without further queries where they can be."""
    queryset = type_.get_queryset(queryset, info)
    return optimize(queryset, info).first()


async def read(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``function`` (database work) off the event loop, with Django's connection handling."""
    return await database_sync_to_async(function)(*args, **kwargs)
