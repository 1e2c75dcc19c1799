"""Bookings under real concurrency: threads, each on its own PostgreSQL connection.

Every scenario commits for real (``transaction=True``): the resource's row lock, the
``lock_timeout`` and the exclusion constraint ``booking_no_overlap`` only show their effect
between separate transactions. Where an interleaving matters it is forced: a service function
is wrapped so that its first call stops (``Pause``) until the other buyer is known to wait for
a lock (``wait_for_lock_waiters``, which reads ``pg_locks``) or to have finished; the free races
run several rounds. Waits are bounded, so a deadlock or a lost lock fails a test instead of
hanging it.

The catalog of services is built here with the ORM (a resource with weekly hours, a service
with its settings and a 45-minute variant) until tests/bookings/factories.py exists.
"""

import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

import apps.bookings.services as booking_services
from apps.bookings.models import (
    ACTIVE_STATUSES,
    Booking,
    BookingEvent,
    BookingStatus,
    Resource,
    ServiceSettings,
    WeeklyHours,
)
from apps.bookings.services import holds, lifecycle
from apps.cart import services as cart_services
from apps.cart.models import Cart, CartLine
from apps.catalog.models import Category, Product, ProductKind, ProductVariant, StockMovement
from apps.orders import services as order_services
from apps.orders.models import Order
from tests.orders.test_concurrency import ADDRESS, GUEST_EMAIL, error_codes, unexpected

TIMEOUT = 60  # seconds: for a whole thread, and for any wait of the test itself
ZONE = ZoneInfo("Europe/Paris")
SLOT_UNAVAILABLE = ["slot_unavailable"]
_unique = itertools.count(1)


# --- A bookable service, built with the ORM ---------------------------------------------------


def bookable_service(
    *, seats: int = 1, buffer_before: int = 0, buffer_after: int = 15
) -> tuple[ProductVariant, Resource]:
    """A 45-minute service variant and the one resource that delivers it, open 08:00-20:00
    (Europe/Paris) every day, slots every 15 minutes, ``seats`` per slot."""
    n = next(_unique)
    category = Category.objects.create(name=f"Salon {n}", slug=f"salon-{n}")
    product = Product.objects.create(
        name=f"Haircut {n}", slug=f"haircut-{n}", category=category, kind=ProductKind.SERVICE
    )
    variant = ProductVariant.objects.create(
        product=product,
        sku=f"CUT-{n}",
        name="45 minutes",
        price=Decimal("45.00"),
        stock_quantity=0,
        duration_minutes=45,
    )
    service = ServiceSettings.objects.create(
        product=product,
        slot_interval_minutes=15,
        buffer_before_minutes=buffer_before,
        buffer_after_minutes=buffer_after,
        seats_per_slot=seats,
    )
    resource = Resource.objects.create(name=f"Alex {n}", time_zone=ZONE.key)
    WeeklyHours.objects.bulk_create(
        WeeklyHours(resource=resource, weekday=day, start=clock(8), end=clock(20))
        for day in range(1, 8)
    )
    service.resources.add(resource)
    return variant, resource


def goods_variant(stock: int = 10) -> ProductVariant:
    n = next(_unique)
    category = Category.objects.create(name=f"Shop {n}", slug=f"shop-{n}")
    product = Product.objects.create(name=f"Dryer {n}", slug=f"dryer-{n}", category=category)
    return ProductVariant.objects.create(
        product=product,
        sku=f"DRY-{n}",
        name="Default",
        price=Decimal("30.00"),
        stock_quantity=stock,
    )


def slot(days: int, hour: int, minute: int = 0) -> datetime:
    """A slot start on the grid, ``days`` ahead at ``hour`` local time (in UTC)."""
    day = date.today() + timedelta(days=days)
    return datetime.combine(day, clock(hour, minute), tzinfo=ZONE).astimezone(ZoneInfo("UTC"))


# --- What buyers do -----------------------------------------------------------------------------


def take(variant_pk: int, start: datetime, *, seats: int = 1, goods: ProductVariant | None = None):
    """cartLinesAdd for a guest asking for the slot (and a unit of ``goods``): a new cart."""
    variant = ProductVariant.objects.select_related("product").get(pk=variant_pk)
    lines = [cart_services.NewLine(variant=variant, quantity=seats, slot=cart_services.Slot(start))]
    if goods is not None:
        lines.append(cart_services.NewLine(variant=goods, quantity=1))
    return cart_services.cart_lines_add(cart=None, user=AnonymousUser(), lines=lines)


def check_out(cart: Cart, key: str, *, shipping: bool = True) -> Order:
    return order_services.checkout_complete(
        cart_token=cart.token,
        user=AnonymousUser(),
        payment_method="CASH_ON_DELIVERY" if shipping else "CARD_PLACEHOLDER",
        idempotency_key=key,
        email=GUEST_EMAIL,
        shipping_address=ADDRESS if shipping else None,
    )


def outcome(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except Exception as exc:
        return exc


def codes(result: Any) -> list[str]:
    return error_codes(result) if isinstance(result, ValidationError) else [repr(result)]


def active_at(resource: Resource, start: datetime):
    return Booking.objects.filter(resource=resource, start=start, status__in=ACTIVE_STATUSES)


def hold_of(cart: Cart) -> Booking:
    return Booking.objects.get(cart_line__cart=cart)


# --- Threads ------------------------------------------------------------------------------------


def _worker(call: Callable[[], Any], barrier: threading.Barrier | None) -> Any:
    try:
        if barrier is not None:
            barrier.wait(timeout=TIMEOUT)
        return call()
    except Exception as exc:
        return exc
    finally:
        connection.close()


class Threads:
    """Each call in its own thread (its own connection); all released at once by default."""

    def __init__(self, calls: list[Callable[[], Any]], *, together: bool = True) -> None:
        barrier = threading.Barrier(len(calls)) if together else None
        self.pool = ThreadPoolExecutor(max_workers=len(calls))
        self.futures = [self.pool.submit(_worker, call, barrier) for call in calls]

    def results(self) -> list[Any]:
        try:
            return [future.result(timeout=TIMEOUT) for future in self.futures]
        except FutureTimeout:
            pytest.fail(f"a thread did not finish within {TIMEOUT} s (deadlock?)")
        finally:
            self.pool.shutdown(wait=False, cancel_futures=True)


def run_together(calls: list[Callable[[], Any]]) -> list[Any]:
    return Threads(calls).results()


class Pause:
    """The first call of ``module.name`` stops (before it runs, or ``after``) until released."""

    def __init__(self, monkeypatch, module, name: str, *, after: bool = False) -> None:
        self.reached, self._go = threading.Event(), threading.Event()
        self._first = threading.Lock()
        original = getattr(module, name)

        def wrapper(*args, **kwargs):
            first = self._first.acquire(blocking=False)
            if first and not after:
                self._stop()
            result = original(*args, **kwargs)
            if first and after:
                self._stop()
            return result

        monkeypatch.setattr(module, name, wrapper)

    def _stop(self) -> None:
        self.reached.set()
        if not self._go.wait(TIMEOUT):
            raise RuntimeError("never released")

    def wait(self) -> None:
        if not self.reached.wait(TIMEOUT):
            pytest.fail("the paused call was never reached")

    def release(self) -> None:
        self._go.set()


def lock_waiters() -> int:
    """Backends of this (test) database waiting for a lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE NOT l.granted AND a.datname = current_database()"
        )
        return cursor.fetchone()[0]


def wait_for_lock_waiters(count: int, threads: Threads, *, watch: list[int]) -> bool:
    """Until ``count`` backends wait for a lock (True), or the threads ``watch`` finished
    (False: they did not need to wait)."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if lock_waiters() >= count:
            return True
        if all(threads.futures[index].done() for index in watch):
            return False
        time.sleep(0.02)
    pytest.fail(f"no {count} lock waiter(s) within {TIMEOUT} s")


def deadlocked(result: Any) -> bool:
    """Whether ``result`` (an exception) comes from a deadlock PostgreSQL broke."""
    seen = result
    while isinstance(seen, BaseException):
        if "deadlock detected" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def after(event: threading.Event, call: Callable[[], Any]) -> Callable[[], Any]:
    def later():
        if not event.wait(TIMEOUT):
            raise RuntimeError("never started")
        return call()

    return later


# --- 1. Fifty buyers, one slot of a one-seat service -----------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_buyers_racing_for_one_slot_get_one_hold_and_forty_nine_refusals():
    variant, resource = bookable_service()
    for round_ in range(3):
        start = slot(3, 9 + 2 * round_)
        carts_before, lines_before = Cart.objects.count(), CartLine.objects.count()

        outcomes = run_together([partial(take, variant.pk, start) for _ in range(50)])

        assert unexpected(outcomes, Cart, ValidationError) == [], f"round {round_}"
        won = [o for o in outcomes if isinstance(o, Cart)]
        refused = [o for o in outcomes if isinstance(o, ValidationError)]
        assert len(won) == 1, f"round {round_}: {len(won)} holds"
        assert [codes(r) for r in refused] == [SLOT_UNAVAILABLE] * 49
        assert {field for r in refused for field in r.error_dict} == {"lines.0.slot"}
        (hold,) = active_at(resource, start)
        assert hold.status == BookingStatus.HELD
        assert hold.cart_line.cart_id == won[0].pk
        assert hold.hold_expires_at > timezone.now()
        assert Booking.objects.filter(start=start).count() == 1  # the losers wrote nothing
        assert BookingEvent.objects.filter(booking__start=start).count() == 1
        assert Cart.objects.count() == carts_before + 1
        assert CartLine.objects.count() == lines_before + 1


# --- 2. A hundred buyers, a class of twelve seats -------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_hundred_buyers_for_a_twelve_seat_class_get_twelve_seats():
    """50 threads of 2 buyers each (PostgreSQL allows 100 connections on this machine), each
    buyer a cart and a transaction of its own."""
    variant, resource = bookable_service(seats=12)
    for round_ in range(2):
        start = slot(4, 9 + 2 * round_)

        def two_buyers(start=start):
            return [outcome(partial(take, variant.pk, start)) for _ in range(2)]

        outcomes = [o for pair in run_together([two_buyers] * 50) for o in pair]

        assert unexpected(outcomes, Cart, ValidationError) == [], f"round {round_}"
        won = [o for o in outcomes if isinstance(o, Cart)]
        refused = [o for o in outcomes if isinstance(o, ValidationError)]
        assert len(won) == 12, f"round {round_}: {len(won)} seats"
        assert [codes(r) for r in refused] == [SLOT_UNAVAILABLE] * 88
        held = active_at(resource, start)
        assert held.count() == 12
        assert held.aggregate(seats=Sum("seats"))["seats"] == 12
        assert set(held.values_list("status", flat=True)) == {BookingStatus.HELD}
        assert set(held.values_list("cart_line__cart", flat=True)) == {c.pk for c in won}
        assert Booking.objects.filter(start=start).count() == 12


# --- 3. A reschedule racing a new booking for the same slot ---------------------------------


def confirmed_booking(variant: ProductVariant, start: datetime) -> Booking:
    cart = take(variant.pk, start)
    order = check_out(cart, f"confirm-{cart.pk}", shipping=False)
    return Booking.objects.get(order=order)


def reschedule(booking_pk: int, start: datetime) -> Booking:
    booking = Booking.objects.get(pk=booking_pk)
    return booking_services.booking_reschedule(booking=booking, start=start, actor=None)


def booking_state(booking: Booking) -> dict:
    return {
        "row": Booking.objects.filter(pk=booking.pk).values().get(),
        "events": list(BookingEvent.objects.filter(booking=booking).values_list("type", flat=True)),
    }


def assert_one_of_reschedule_and_booking(moved, taken, *, booking, before, target, resource):
    assert unexpected([moved, taken], Booking, Cart, ValidationError) == []
    assert not deadlocked(moved), moved
    assert not deadlocked(taken), taken
    assert active_at(resource, target).count() == 1
    if isinstance(moved, Booking):
        assert codes(taken) == SLOT_UNAVAILABLE
        assert list(taken.error_dict) == ["lines.0.slot"]
        booking.refresh_from_db()
        assert (booking.start, booking.status) == (target, BookingStatus.CONFIRMED)
        assert booking.sequence == before["row"]["sequence"] + 1
        assert Booking.objects.filter(start=target).count() == 1  # the new booking: nothing
        return "reschedule"
    assert isinstance(taken, Cart), taken
    assert codes(moved) == SLOT_UNAVAILABLE
    assert list(moved.error_dict) == ["slot"]
    assert booking_state(booking) == before  # the moved booking: as it was
    assert hold_of(taken).start == target
    return "new booking"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first", ["reschedule", "new booking"])
def test_a_reschedule_and_a_new_booking_for_one_slot_when_one_holds_the_lock(monkeypatch, first):
    """Forced: the first one stops while it holds the resource's lock, just before it writes;
    the other starts and waits for the lock; then the first goes on and wins."""
    variant, resource = bookable_service()
    booking = confirmed_booking(variant, slot(5, 9))
    target = slot(5, 14)
    before = booking_state(booking)
    move, book = partial(reschedule, booking.pk, target), partial(take, variant.pk, target)
    if first == "reschedule":
        pause = Pause(monkeypatch, lifecycle, "_write")
        threads, second = Threads([move, after(pause.reached, book)], together=False), 1
    else:
        pause = Pause(monkeypatch, holds, "_write")
        threads, second = Threads([after(pause.reached, move), book], together=False), 0
    try:
        pause.wait()
        waited = wait_for_lock_waiters(1, threads, watch=[second])
        assert waited, "the second one did not wait for the resource's lock"
    finally:
        pause.release()
    moved, taken = threads.results()

    winner = assert_one_of_reschedule_and_booking(
        moved, taken, booking=booking, before=before, target=target, resource=resource
    )
    assert winner == first


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_reschedule_racing_a_new_booking_for_one_slot_lets_exactly_one_win():
    variant, resource = bookable_service()
    winners = []
    for round_ in range(6):
        booking = confirmed_booking(variant, slot(6 + round_, 9))
        target = slot(6 + round_, 14)
        before = booking_state(booking)

        moved, taken = run_together(
            [partial(reschedule, booking.pk, target), partial(take, variant.pk, target)]
        )

        winners.append(
            assert_one_of_reschedule_and_booking(
                moved, taken, booking=booking, before=before, target=target, resource=resource
            )
        )
    assert len(winners) == 6


# --- 4. A checkout racing the expiry of its hold ---------------------------------------------


class ExpiredHold:
    """A guest cart with a service line whose hold expired, and a unit of goods."""

    def __init__(self, variant: ProductVariant, resource: Resource, start: datetime, **expiry):
        self.variant, self.resource, self.start = variant, resource, start
        self.goods = goods_variant(stock=10)
        self.cart = take(variant.pk, start, goods=self.goods)
        self.booking = hold_of(self.cart)
        expires = timezone.now() + timedelta(**(expiry or {"minutes": -1}))
        Booking.objects.filter(pk=self.booking.pk).update(hold_expires_at=expires)
        self.carts = Cart.objects.count()

    def checkout(self) -> Order:
        return check_out(self.cart, f"expired-{self.cart.pk}")

    def other_buyer(self) -> Cart:
        return take(self.variant.pk, self.start)

    def assert_consistent(self, ordered: Any, taken: Any) -> str:
        """Either the checkout confirmed the booking and the other buyer was refused, or the
        other buyer holds the slot and the checkout answered slot_unavailable, changing
        nothing. Never both."""
        assert unexpected([ordered, taken], Order, Cart, ValidationError) == []
        assert not deadlocked(ordered), ordered
        assert not deadlocked(taken), taken
        mine = Booking.objects.get(pk=self.booking.pk)
        self.goods.refresh_from_db()
        assert active_at(self.resource, self.start).count() == 1
        if isinstance(ordered, Order):
            assert codes(taken) == SLOT_UNAVAILABLE
            assert (mine.status, mine.order_id) == (BookingStatus.CONFIRMED, ordered.pk)
            assert mine.hold_expires_at is None
            assert self.goods.stock_quantity == 9
            assert Cart.objects.count() == self.carts  # the other buyer's cart: rolled back
            return "checkout"
        assert isinstance(taken, Cart), taken
        assert codes(ordered) == SLOT_UNAVAILABLE
        assert not Order.objects.filter(cart=self.cart).exists()
        self.cart.refresh_from_db()
        assert self.cart.status == Cart.Status.ACTIVE
        assert self.goods.stock_quantity == 10  # stock untouched
        assert not StockMovement.objects.filter(variant=self.goods).exists()
        assert (mine.status, mine.order_id) == (BookingStatus.EXPIRED, None)
        assert mine.cart_line.cart_id == self.cart.pk  # still the cart's line
        theirs = hold_of(taken)
        assert (theirs.status, theirs.start) == (BookingStatus.HELD, self.start)
        return "other buyer"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_expired_hold_taken_by_another_buyer_first_fails_the_checkout_and_changes_nothing():
    variant, resource = bookable_service()
    for round_ in range(2):
        hold = ExpiredHold(variant, resource, slot(3, 9 + round_))
        taken = outcome(hold.other_buyer)
        ordered = outcome(hold.checkout)
        assert hold.assert_consistent(ordered, taken) == "other buyer"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_expired_hold_checked_out_first_is_taken_again_and_the_other_buyer_refused():
    variant, resource = bookable_service()
    for round_ in range(2):
        hold = ExpiredHold(variant, resource, slot(3, 9 + round_))
        ordered = outcome(hold.checkout)
        taken = outcome(hold.other_buyer)
        assert hold.assert_consistent(ordered, taken) == "checkout"
        # taken again by its own checkout: never marked EXPIRED on the way
        events = BookingEvent.objects.filter(booking=hold.booking).values_list("type", flat=True)
        assert BookingEvent.Type.EXPIRED not in events
        assert (events[0], events.reverse()[0]) == (
            BookingEvent.Type.HELD,
            BookingEvent.Type.CONFIRMED,
        )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(2))
def test_another_buyer_arriving_while_the_checkout_holds_its_expired_booking(monkeypatch, round_):
    """Forced: the checkout has locked its (expired) booking's row and not yet the resource's;
    the other buyer locks the resource and would expire that booking. Waiting for its row
    there, under the resource's lock, deadlocks with the checkout that comes for the resource
    next: the other buyer must be refused (slot_unavailable), never fail."""
    variant, resource = bookable_service()
    hold = ExpiredHold(variant, resource, slot(3, 9 + round_))
    pause = Pause(monkeypatch, booking_services, "lock_for_lines", after=True)
    threads = Threads([hold.checkout, after(pause.reached, hold.other_buyer)], together=False)
    try:
        pause.wait()
        wait_for_lock_waiters(1, threads, watch=[1])  # the other buyer waits, or is done
    finally:
        pause.release()
    ordered, taken = threads.results()
    assert hold.assert_consistent(ordered, taken) == "checkout"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(2))
def test_a_checkout_arriving_while_another_buyer_holds_the_resource(monkeypatch, round_):
    """Forced: the other buyer holds the resource's lock (before it expires stale holds); the
    checkout locks its booking and waits for the resource; then the other buyer goes on."""
    variant, resource = bookable_service()
    hold = ExpiredHold(variant, resource, slot(3, 9 + round_))
    pause = Pause(monkeypatch, holds, "_expire_stale_holds")
    threads = Threads([after(pause.reached, hold.checkout), hold.other_buyer], together=False)
    try:
        pause.wait()
        waited = wait_for_lock_waiters(1, threads, watch=[0])
        assert waited, "the checkout did not wait for the resource"
    finally:
        pause.release()
    ordered, taken = threads.results()
    # the other buyer is refused by the constraint (the checkout's booking is locked, so it
    # is not expired under it), then the checkout takes its slot again
    assert hold.assert_consistent(ordered, taken) == "checkout"


# The checkout once locked every line's variant FOR UPDATE, the service's too. Django's foreign
# keys are DEFERRABLE INITIALLY DEFERRED: a buyer's transaction that inserted a booking (or a
# cart line) of that variant takes FOR KEY SHARE on the variant's row when it commits, which
# FOR UPDATE blocks. A buyer who expired the checkout's hold (or holds the resource its checkout
# takes again) then waited at COMMIT for the checkout, which waited for that buyer: a deadlock.
# The checkout now locks only the goods' variants (``_lock_cart`` in
# apps/orders/services/checkout.py), FOR NO KEY UPDATE, which lets key-share locks through.
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_checkout_arriving_after_another_buyer_expired_its_hold(monkeypatch):
    """Forced: the other buyer has expired the checkout's hold and written its own, and not
    committed yet; the checkout locks the cart's variants, then waits for its booking's row;
    then the other buyer commits. The other buyer holds the slot; the checkout answers
    slot_unavailable."""
    variant, resource = bookable_service()
    hold = ExpiredHold(variant, resource, slot(3, 11))
    pause = Pause(monkeypatch, holds, "_write", after=True)
    threads = Threads([after(pause.reached, hold.checkout), hold.other_buyer], together=False)
    try:
        pause.wait()
        waited = wait_for_lock_waiters(1, threads, watch=[0])
        assert waited, "the checkout did not wait for its booking"
    finally:
        pause.release()
    ordered, taken = threads.results()
    assert hold.assert_consistent(ordered, taken) == "other buyer"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("stop", ["before confirming", "after confirming"])
def test_a_hold_that_expires_during_its_checkout_is_not_taken_from_the_order(monkeypatch, stop):
    """Forced: the hold is valid when the checkout checks it and expires before the checkout
    commits; the other buyer comes meanwhile and finds it stale by its timestamp. It must not
    mark EXPIRED the booking the checkout confirms, nor take its slot."""
    variant, resource = bookable_service()
    hold = ExpiredHold(variant, resource, slot(3, 10), seconds=1)
    pause = Pause(
        monkeypatch, booking_services, "confirm_for_lines", after=stop == "after confirming"
    )
    expired = threading.Event()
    threads = Threads([hold.checkout, after(expired, hold.other_buyer)], together=False)
    try:
        pause.wait()
        time.sleep(max(0.0, (hold_expiry(hold.booking) - timezone.now()).total_seconds()) + 0.05)
        expired.set()
        wait_for_lock_waiters(1, threads, watch=[1])  # the other buyer waits, or is done
    finally:
        pause.release()
    ordered, taken = threads.results()
    assert hold.assert_consistent(ordered, taken) == "checkout"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_checkouts_of_one_service_at_other_times_do_not_wait_for_each_other(monkeypatch):
    """Forced: a checkout of a haircut and a dryer stops before it commits (its booking
    confirmed, its stock taken); another buyer's checkout of the same haircut at another time,
    with other goods, completes meanwhile: the service's variant is no lock they share."""
    variant, _ = bookable_service()
    first = take(variant.pk, slot(3, 9), goods=goods_variant())
    second = take(variant.pk, slot(3, 11), goods=goods_variant())
    pause = Pause(monkeypatch, booking_services, "confirm_for_lines", after=True)
    threads = Threads(
        [
            partial(check_out, first, "first"),
            after(pause.reached, partial(check_out, second, "second")),
        ],
        together=False,
    )
    try:
        pause.wait()
        waited = wait_for_lock_waiters(1, threads, watch=[1])
    finally:
        pause.release()
    orders = threads.results()
    assert [type(order) for order in orders] == [Order, Order], orders
    assert not waited, "the second checkout waited for the first"
    assert Booking.objects.filter(order__in=orders, status=BookingStatus.CONFIRMED).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_carts_of_a_service_and_scarce_goods_racing_never_oversell_the_goods():
    """The service's variant is not locked; the goods' still are: twelve buyers, each with a
    slot of their own and a unit of a dryer of which three are left, get three orders; the
    others are refused for the stock, and their slots stay held, not confirmed."""
    variant, _ = bookable_service()
    dryer = goods_variant(stock=3)
    carts = [take(variant.pk, slot(4, 8 + n), goods=dryer) for n in range(12)]
    results = run_together([partial(check_out, cart, f"key-{n}") for n, cart in enumerate(carts)])
    orders = [result for result in results if isinstance(result, Order)]
    refused = [codes(result) for result in results if not isinstance(result, Order)]
    assert len(orders) == 3
    assert refused == [["insufficient_stock"]] * 9
    dryer.refresh_from_db()
    assert dryer.stock_quantity == 0
    assert Booking.objects.filter(status=BookingStatus.CONFIRMED, variant=variant).count() == 3
    assert Booking.objects.filter(status=BookingStatus.HELD, variant=variant).count() == 9


def hold_expiry(booking: Booking) -> datetime:
    return Booking.objects.filter(pk=booking.pk).values_list("hold_expires_at", flat=True).get()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_checkout_racing_another_buyer_for_its_expired_hold_is_consistent():
    variant, resource = bookable_service()
    winners = []
    for round_ in range(8):
        hold = ExpiredHold(variant, resource, slot(4 + round_ // 4, 9 + 2 * (round_ % 4)))
        ordered, taken = run_together([hold.checkout, hold.other_buyer])
        winners.append(hold.assert_consistent(ordered, taken))
    assert len(winners) == 8


# --- 5. The database's guard: the exclusion constraint ---------------------------------------


def insert(
    resource: Resource,
    start: datetime,
    *,
    minutes: int = 45,
    before: int = 0,
    after: int = 0,
    status: str = BookingStatus.HELD,
    exclusive: bool = True,
) -> Booking:
    end = start + timedelta(minutes=minutes)
    return Booking.objects.create(
        resource=resource,
        resource_name=resource.name,
        product_name="Haircut",
        start=start,
        end=end,
        blocked_start=start - timedelta(minutes=before),
        blocked_end=end + timedelta(minutes=after),
        exclusive=exclusive,
        status=status,
        hold_expires_at=timezone.now() + timedelta(minutes=15),
    )


def refused(call: Callable[[], Any]) -> None:
    with pytest.raises(IntegrityError, match="booking_no_overlap"), transaction.atomic():
        call()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("first", "second"),
    [
        (BookingStatus.HELD, BookingStatus.HELD),
        (BookingStatus.HELD, BookingStatus.CONFIRMED),
        (BookingStatus.CONFIRMED, BookingStatus.HELD),
        (BookingStatus.CONFIRMED, BookingStatus.CONFIRMED),
    ],
)
def test_the_database_refuses_two_overlapping_active_one_seat_bookings(first, second):
    _, resource = bookable_service()
    kept = insert(resource, slot(3, 10), status=first)

    refused(partial(insert, resource, slot(3, 10, 30), status=second))

    assert list(Booking.objects.values_list("pk", flat=True)) == [kept.pk]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_exclusion_constraint_counts_the_buffers():
    _, resource = bookable_service()
    ten = slot(3, 10)
    # 10:00-10:45, blocked 09:50-11:00
    kept = insert(resource, ten, before=10, after=15)

    # spans apart, buffers meet: refused
    refused(partial(insert, resource, ten + timedelta(minutes=45)))  # 10:45, no buffer
    refused(partial(insert, resource, ten + timedelta(minutes=65), before=10))  # 11:05 - 10
    refused(partial(insert, resource, ten - timedelta(minutes=50), after=5))  # ends 09:10+40+5
    # blocked spans that touch do not overlap ('[)'): accepted
    at_eleven = insert(resource, ten + timedelta(hours=1))  # blocked from 11:00
    at_nine = insert(resource, ten - timedelta(minutes=65), after=10)  # blocked until 09:50
    # another resource, or seats of a class (counted under the lock, not by the constraint)
    _, other = bookable_service()
    elsewhere = insert(other, ten)
    seats = [insert(resource, ten, exclusive=False) for _ in range(2)]

    assert set(Booking.objects.values_list("pk", flat=True)) == {
        kept.pk,
        at_eleven.pk,
        at_nine.pk,
        elsewhere.pk,
        *(seat.pk for seat in seats),
    }


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("gone", [BookingStatus.CANCELLED, BookingStatus.EXPIRED])
def test_a_cancelled_or_expired_booking_does_not_block_its_time(gone):
    _, resource = bookable_service()
    ten = slot(3, 10)
    old = insert(resource, ten, after=15, status=gone)

    new = insert(resource, ten, after=15)  # the same span: accepted

    refused(partial(insert, resource, ten))  # the new one blocks it
    # made active again (a hold taken again at checkout), the old one meets the constraint
    refused(lambda: Booking.objects.filter(pk=old.pk).update(status=BookingStatus.HELD))
    assert dict(Booking.objects.values_list("pk", "status")) == {
        old.pk: gone,
        new.pk: BookingStatus.HELD,
    }


# --- 6. A buyer who cannot get the resource's lock in time ------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_buyer_who_cannot_lock_the_resource_in_time_gets_slot_unavailable(settings):
    settings.BOOKING_LOCK_TIMEOUT_MS = 200
    variant, resource = bookable_service()
    start = slot(3, 10)
    locked, done = threading.Event(), threading.Event()

    def hold_the_resource():
        with transaction.atomic():
            Resource.objects.select_for_update().get(pk=resource.pk)
            locked.set()
            done.wait(TIMEOUT)

    def buyer():
        started = time.monotonic()
        try:
            return outcome(partial(take, variant.pk, start)), time.monotonic() - started
        finally:
            done.set()

    holder, (result, seconds) = Threads(
        [hold_the_resource, after(locked, buyer)], together=False
    ).results()

    assert holder is None
    assert codes(result) == SLOT_UNAVAILABLE
    assert list(result.error_dict) == ["lines.0.slot"]
    assert seconds < 2
    assert not Booking.objects.exists()
    assert not Cart.objects.exists()


# --- 7. What expiring stale holds must leave alone: the booking being worked on ----------------


@pytest.mark.django_db
def test_more_seats_on_a_hold_past_its_expiry_keep_it_held():
    variant, _ = bookable_service(seats=12)
    cart = take(variant.pk, slot(3, 10), seats=2)
    booking = hold_of(cart)
    Booking.objects.filter(pk=booking.pk).update(hold_expires_at=timezone.now())

    cart_services.cart_lines_update(cart=cart, lines=[(booking.cart_line_id, 3)])

    booking.refresh_from_db()
    assert (booking.status, booking.seats) == (BookingStatus.HELD, 3)
    assert booking.hold_expires_at > timezone.now()
    events = BookingEvent.objects.filter(booking=booking).values_list("type", flat=True)
    assert list(events) == [BookingEvent.Type.HELD, BookingEvent.Type.SEATS_CHANGED]
