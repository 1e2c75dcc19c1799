"""Events that tell listeners (realtime subscriptions) what changed, once it is committed.

A service that changes state hands one ``Event`` to ``publish``, inside its transaction. The
event goes out only if that transaction commits, right after it does (never for a change that
was rolled back), through the backend named by ``settings.EVENTS_BACKEND``. Events carry ids,
never rows: a listener reads the current state itself, with the visibility rules of its reader.

``groups`` say who may be interested, as strings such as ``user:5``, ``order:12`` or
``resource:3``; a backend routes on them.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, partial
from typing import Any, Protocol

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
