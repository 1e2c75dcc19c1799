"""Events that tell listeners (realtime subscriptions) what changed, once it is committed.

A service that changes state hands one ``Event`` to ``publish``, inside its transaction. The
event goes out only if that transaction commits, right after it does (never for a change that
was rolled back), through the backend named by ``settings.EVENTS_BACKEND``. Events carry ids,
never rows: a listener reads the current state itself, with the visibility rules of its reader.

``groups`` say who may be interested, as strings such as ``user:5``, ``order:12`` or
``resource:3``; a backend routes on them. ``ChannelLayerBackend`` (the default) sends them to
the Channels groups of the same names, where realtime subscriptions listen (``api.subscriptions``).
"""

import asyncio
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, partial
from typing import Any, Protocol

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

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
    return {"type": MESSAGE_TYPE, "event": event.type, "payload": dict(event.payload)}


class ChannelLayerBackend:
    """Sends each event to its groups through the Channels layer (``CHANNEL_LAYERS``).

    With Redis, every process's subscribers hear it. The sending is off the request: a thread
    of the process, with an event loop of its own (and the layer's connections), sends the
    events in the order they were published, so that a request never waits for Redis, and a
    slow or absent Redis costs it nothing (events that cannot be sent are logged and dropped;
    at most ``REALTIME_PUBLISH_BACKLOG`` wait). The in-memory layer of development reaches only
    the consumers of its own event loop: there, events are sent on the server's loop instead.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid: int | None = None
        self._pending = 0
        self._idle = threading.Condition(self._lock)

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
        with self._lock:
            if self._pending >= settings.REALTIME_PUBLISH_BACKLOG:
                logger.warning("Events backlog full: event %s dropped", event.type)
                return
            self._pending += 1
            loop = self._running_loop()
        loop.call_soon_threadsafe(self._schedule, layer, groups, message)

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        """The sender thread's loop, started in this process on first use (after a fork too)."""
        if self._loop is None or self._pid != os.getpid():
            ready = threading.Event()
            loop = asyncio.new_event_loop()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            threading.Thread(target=run, name="events-sender", daemon=True).start()
            ready.wait()
            self._loop, self._pid, self._pending = loop, os.getpid(), 1
        return self._loop

    def _schedule(self, layer, groups: list[str], message: dict) -> None:
        # One task chain per process keeps the order in which events were published.
        previous = getattr(self, "_tail", None)
        self._tail = asyncio.ensure_future(self._send_after(previous, layer, groups, message))

    async def _send_after(self, previous, layer, groups: list[str], message: dict) -> None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        try:
            await asyncio.wait_for(
                _send_to_groups(layer, groups, message), settings.REALTIME_PUBLISH_TIMEOUT
            )
        except Exception:
            logger.exception("Could not send the event %s", message["event"])
        finally:
            with self._lock:
                self._pending -= 1
                if self._pending == 0:
                    self._idle.notify_all()

    def wait_until_sent(self, timeout: float = 5.0) -> bool:
        """Block until every event handed over so far was sent (tests, shutdown)."""
        with self._lock:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)


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
