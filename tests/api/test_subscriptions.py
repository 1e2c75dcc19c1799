"""One answer per event (``api.subscriptions``): the subscriptions of a process that send the
same document and variables, as the same reader, read and execute an event once; any other
subscription answers it on its own.

A small schema of its own, on the project's executor (``SharedAnswers``), with events handed to
each subscription by the test: what is counted is how often the row is read and how often its
field is resolved.
"""

import asyncio
import threading
import uuid
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

import strawberry
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q

from api.grants import grant
from api.subscriptions import OPERATION, SharedAnswers, answers, operation_key

DOCUMENT = "subscription ($id: Int!) { thing(id: $id) { id label } }"


@dataclass
class Reader:
    pk: int | None = None

    @property
    def is_authenticated(self) -> bool:
        return self.pk is not None


@dataclass
class Request:
    user: Any = field(default_factory=AnonymousUser)


@dataclass
class Context:
    request: Request
    events: asyncio.Queue
    holds_grant: bool = False  # the subscription grants its caller the thing, as a token does


class Counts:
    def __init__(self, *, fail_first_read: bool = False) -> None:
        self.reads = 0
        self.resolved = 0
        self.fail_first_read = fail_first_read
        self._lock = threading.Lock()

    def read(self, info: strawberry.Info, pk: int):
        with self._lock:  # called in Django's database thread
            self.reads += 1
            if self.fail_first_read and self.reads == 1:
                raise RuntimeError("the database went away")
        return Thing(id=pk) if pk > 0 else None


COUNTS: Counts


@strawberry.type
class Thing:
    id: int

    @strawberry.field
    def label(self) -> str:
        COUNTS.resolved += 1
        return f"thing {self.id}"


async def _events(context: Context):
    while True:
        yield await context.events.get()


@strawberry.type
class Query:
    ping: int = 0


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def thing(self, info: strawberry.Info, id: int) -> AsyncGenerator[Thing, None]:
        if info.context.holds_grant:
            grant(info, "things.Thing", Q(pk=id))
        async for thing in answers(
            info, _events(info.context), COUNTS.read, lambda _: (id,), end_when_missing=True
        ):
            yield thing


schema = strawberry.Schema(
    query=Query, subscription=Subscription, execution_context_class=SharedAnswers
)


def new_event() -> dict:
    """An event as ``apps.core.events`` sends it: its id is unique."""
    return {"id": uuid.uuid4().hex, "event": "thing.updated"}


async def _subscriber(context: Context, variables: dict, *, shared: bool = True) -> list:
    """Subscribe as the realtime handler does (``OPERATION`` set in the operation's task); the
    results of the first event."""
    if shared:
        OPERATION.set(operation_key(DOCUMENT, variables, None))
    stream = await schema.subscribe(DOCUMENT, variable_values=variables, context_value=context)
    try:
        result = await anext(stream)
        return [result.data, result.errors]
    finally:
        await stream.aclose()


def run(
    readers: list,
    *,
    event: dict | None = None,
    shared: bool = True,
    thing: int = 7,
    grants: tuple[bool, ...] = (),
):
    """Each reader subscribes to ``thing`` (holding a grant where ``grants`` says); once all
    listen, each gets the same event."""
    event = new_event() if event is None else event
    grants = grants or (False,) * len(readers)

    async def main() -> list:
        contexts = [
            Context(Request(user), asyncio.Queue(), holds_grant=holds)
            for user, holds in zip(readers, grants, strict=True)
        ]
        tasks = [
            asyncio.create_task(_subscriber(context, {"id": thing}, shared=shared))
            for context in contexts
        ]
        await asyncio.sleep(0.05)  # every subscription waits for its events
        for context in contexts:
            context.events.put_nowait(dict(event))
        return await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)

    return asyncio.run(main())


def setup_function() -> None:
    global COUNTS
    COUNTS = Counts()


def test_subscriptions_of_one_reader_read_and_execute_an_event_once():
    results = run([Reader(1), Reader(1), Reader(1)])
    assert results == [[{"thing": {"id": 7, "label": "thing 7"}}, None]] * 3
    assert (COUNTS.reads, COUNTS.resolved) == (1, 1)


def test_guests_share_their_answer_and_a_customer_has_their_own():
    results = run([AnonymousUser(), Reader(1), AnonymousUser(), Reader(2)])
    assert [data for data, _errors in results] == [{"thing": {"id": 7, "label": "thing 7"}}] * 4
    assert (COUNTS.reads, COUNTS.resolved) == (3, 3)


def test_readers_holding_other_grants_do_not_share():
    guests = [AnonymousUser(), AnonymousUser(), AnonymousUser()]
    results = run(guests, grants=(True, False, True))
    assert [data for data, _errors in results] == [{"thing": {"id": 7, "label": "thing 7"}}] * 3
    assert (COUNTS.reads, COUNTS.resolved) == (2, 2)


def test_other_variables_are_another_question():
    async def main() -> list:
        contexts = [Context(Request(Reader(1)), asyncio.Queue()) for _ in range(2)]
        tasks = [
            asyncio.create_task(_subscriber(context, {"id": thing}))
            for context, thing in zip(contexts, (7, 8), strict=True)
        ]
        await asyncio.sleep(0.05)
        event = new_event()
        for context in contexts:
            context.events.put_nowait(event)
        return await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)

    results = asyncio.run(main())
    assert [data["thing"]["id"] for data, _errors in results] == [7, 8]
    assert (COUNTS.reads, COUNTS.resolved) == (2, 2)


def test_without_an_event_id_or_outside_the_realtime_handler_nothing_is_shared():
    run([Reader(1), Reader(1)], event={"event": "thing.updated"})
    assert (COUNTS.reads, COUNTS.resolved) == (2, 2)
    setup_function()
    run([Reader(1), Reader(1)], shared=False)
    assert (COUNTS.reads, COUNTS.resolved) == (2, 2)


def test_nothing_to_see_ends_every_subscription_that_shares_the_read():
    async def main() -> list:
        contexts = [Context(Request(Reader(1)), asyncio.Queue()) for _ in range(3)]
        OPERATION.set(operation_key(DOCUMENT, {"id": -1}, None))
        streams = [
            await schema.subscribe(DOCUMENT, variable_values={"id": -1}, context_value=context)
            for context in contexts
        ]
        event = new_event()
        for context in contexts:
            context.events.put_nowait(event)
        return await asyncio.wait_for(
            asyncio.gather(*(anext(stream, "ended") for stream in streams)), timeout=10
        )

    assert asyncio.run(main()) == ["ended"] * 3
    assert (COUNTS.reads, COUNTS.resolved) == (1, 0)


def test_when_the_first_read_fails_the_others_read_on_their_own():
    global COUNTS
    COUNTS = Counts(fail_first_read=True)
    results = run([Reader(1), Reader(1), Reader(1)])
    failed = [errors for data, errors in results if errors]
    answered = [data for data, errors in results if not errors]
    assert len(failed) == 1 and "the database went away" in str(failed[0])
    assert answered == [{"thing": {"id": 7, "label": "thing 7"}}] * 2
    assert (COUNTS.reads, COUNTS.resolved) == (3, 2)
