"""Events that tell listeners (realtime subscriptions) what changed, once it is committed.

A service that changes state hands one ``Event`` to ``publish``, inside its transaction. The
event goes out only if that transaction commits, right after it does (never for a change that
was rolled back), through the backend named by ``settings.EVENTS_BACKEND``. Events carry ids,
never rows: a listener reads the current state itself, with the visibility rules of its reader.

``groups`` say who may be interested, as strings such as ``user:5``, ``order:12`` or
``resource:3``; a backend routes on them. ``ChannelLayerBackend`` (the default) sends them to
the Channels groups of the same names, where realtime subscriptions listen (``api.subscriptions``).
"""

import logging
import os
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, partial
from typing import Any, Protocol

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string
from redis import Redis, RedisError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    type: str  # "notification.created", "order.updated", ...
    groups: tuple[str, ...]
    payload: Mapping[str, Any] = field(default_factory=dict)


class Backend(Protocol):
    def send(self, event: Event) -> None: ...


class LogBackend:
    """Writes each event to the log (at DEBUG); the default until a transport is configured."""

    def send(self, event: Event) -> None:
        logger.debug("event %s to %s: %s", event.type, ", ".join(event.groups), dict(event.payload))


# The type of the Channels message that carries an event to a subscriber's consumer.
MESSAGE_TYPE = "silkcart.event"


def layer_group(group: str) -> str:
    """The Channels group of an events group: ``order:12`` is ``order.12`` (Channels allows
    letters, digits, hyphens, underscores and periods)."""
    return group.replace(":", ".")


def layer_message(event: Event) -> dict[str, Any]:
    """The Channels message of ``event``; its ``id`` is the same in every group it goes to (the
    subscriptions that answer it alike compute their answer once: ``api.subscriptions``)."""
    return {
        "type": MESSAGE_TYPE,
        "id": uuid.uuid4().hex,
        "event": event.type,
        "payload": dict(event.payload),
    }


class ChannelLayerBackend:
    """Sends each event to its groups through the Channels layer (``CHANNEL_LAYERS``).

    With Redis (``RedisPubSubChannelLayer``), an event is one ``PUBLISH`` per group on the
    channel the layer's subscribers listen to, all of an event's groups in one round trip, sent
    by the thread that committed: the realtime processes subscribed to a group hear it. No
    thread or event loop of its own: a sender thread's wake-ups cost a web worker more than the
    round trip (they contend for the GIL with the next request). A Redis that does not answer
    within ``REALTIME_PUBLISH_TIMEOUT`` costs that once: its events are logged and dropped,
    and no other is tried for ``REALTIME_RETRY_SECONDS``. The in-memory layer of development
    reaches only the consumers of its own event loop: there, events are sent on that loop.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client = None
        self._pid: int | None = None
        self._down_until = 0.0

    @staticmethod
    def _layer():
        from channels.layers import get_channel_layer

        return get_channel_layer()

    def send(self, event: Event) -> None:
        layer = self._layer()
        if layer is None:
            return
        message = layer_message(event)
        groups = [layer_group(group) for group in event.groups]
        if _in_memory(layer):
            async_to_sync(_send_to_groups)(layer, groups, message)
            return
        if time.monotonic() < self._down_until:
            logger.warning("Realtime Redis unavailable: event %s dropped", event.type)
            return
        prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]
        try:
            pipeline = self._redis().pipeline(transaction=False)
            for group in groups:
                # Each copy names its group (see _send_to_groups); the channel is the one
                # RedisPubSubChannelLayer subscribes a group's listeners to.
                copy = layer.serialize({**message, "group": group})
                pipeline.publish(f"{prefix}__group__{group}", copy)
            pipeline.execute()
        except RedisError:
            self._down_until = time.monotonic() + settings.REALTIME_RETRY_SECONDS
            logger.exception("Could not send the event %s", event.type)

    def _redis(self):
        """This process's client (made again after a fork)."""
        with self._lock:
            if self._client is None or self._pid != os.getpid():
                timeout = settings.REALTIME_PUBLISH_TIMEOUT
                self._client = Redis.from_url(
                    settings.REALTIME_REDIS_URL,
                    socket_timeout=timeout,
                    socket_connect_timeout=timeout,
                )
                self._pid = os.getpid()
            return self._client


def _in_memory(layer) -> bool:
    from channels.layers import InMemoryChannelLayer

    return isinstance(layer, InMemoryChannelLayer)


async def _send_to_groups(layer, groups: list[str], message: dict) -> None:
    for group in groups:
        # Each copy names its group: the subscriptions of one connection share its channel
        # (every one of them receives every copy), and each keeps those of the groups it
        # follows (``api.subscriptions.follow``).
        await layer.group_send(group, {**message, "group": group})


@cache
def _backend(path: str) -> Backend:
    return import_string(path)()


def backend() -> Backend:
    return _backend(settings.EVENTS_BACKEND)


def _send(event: Event) -> None:
    try:
        backend().send(event)
    except Exception:
        # The change is committed: a lost event must not turn it into an error for the caller.
        logger.exception("Could not publish the event %s", event.type)


def publish(event: Event) -> None:
    """Send ``event`` once the current transaction commits (at once outside a transaction)."""
    transaction.on_commit(partial(_send, event))
