"""The rules of bookings: holds placed from the cart and refused with their codes, let go,
moved and resized; checkout that confirms them with the goods' stock, both or neither; expired
holds taken again; cancelling and moving a booking, and staff's outcomes; events, notifications
and what followers hear once the change commits."""

from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.bookings import services
from apps.bookings.models import Booking, BookingEvent, BookingStatus
from apps.cart import services as cart_services
from apps.cart.models import Cart
from apps.catalog.models import ProductVariant
from apps.notifications.models import Notification
from apps.orders import services as order_services
from apps.orders.models import OrderLine, OrderStatus
from tests.bookings.factories import (
    GUEST,
    BookingFactory,
    ResourceFactory,
    ServiceVariantFactory,
    TimeOffFactory,
    book,
    book_confirmed,
    calendar_snapshot,
    expire,
    free_slot,
    move,
    resource_of,
)
from tests.catalog.factories import ProductVariantFactory
from tests.orders.factories import NO_ADDRESS, cart_with, place_order, variant

OPEN_9_TO_5 = [(weekday, "09:00", "17:00") for weekday in range(1, 8)]


def codes(raised: pytest.ExceptionInfo) -> dict[str, list[str]] | str:
    error = raised.value
    if not hasattr(error, "error_dict"):
        return error.code
    return {field: [e.code for e in errors] for field, errors in error.error_dict.items()}


def day(days: int = 3) -> datetime:
    """Midnight UTC ``days`` from today: far outside the notice and the cancellation window."""
    return (timezone.now() + timedelta(days=days)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )


def salon(**settings) -> ProductVariant:
    """A 45-minute cut by Alex, open 09:00-17:00 UTC every day, 30 days ahead at most."""
    stylist = ResourceFactory(name="Alex", hours=OPEN_9_TO_5)
    return ServiceVariantFactory(
        product__name="Haircut",
        product__settings__resources=[stylist],
        product__settings__maximum_advance_days=30,
        **{f"product__settings__{name}": value for name, value in settings.items()},
    )


def add(variant, start, *, seats=1, resource=None, cart=None, user=GUEST) -> Cart:
    return cart_services.cart_lines_add(
        cart=cart,
        user=user,
        lines=[
            cart_services.NewLine(
                variant=variant,
                quantity=seats,
                slot=cart_services.Slot(start=start, resource=resource),
            )
        ],
    )


def events_of(booking: Booking) -> list[tuple]:
    return list(
        booking.events.order_by("pk").values_list("type", "from_status", "to_status", "note")
    )


# --- holds ---------------------------------------------------------------------------------------


def test_a_slot_added_to_the_cart_is_held_for_its_line(db, customer, settings):
    settings.BOOKING_HOLD_MINUTES = 15
    cut = salon(buffer_before_minutes=5, buffer_after_minutes=10)
    start = day() + timedelta(hours=10)
    before = timezone.now()

    cart = add(cut, start, user=customer)

    line = cart.lines.get()
    booking = Booking.objects.get()
    assert (
        booking.cart_line,
        booking.status,
        booking.resource,
        booking.resource_name,
        booking.variant,
        booking.product_name,
        booking.variant_name,
        booking.user,
        booking.seats,
        booking.exclusive,
        booking.order,
    ) == (
        line,
        BookingStatus.HELD,
        resource_of(cut),
        "Alex",
        cut,
        "Haircut",
        "45 minutes",
        customer,
        1,
        True,
        None,
    )
    assert (booking.start, booking.end, booking.blocked_start, booking.blocked_end) == (
        start,
        start + timedelta(minutes=45),
        start - timedelta(minutes=5),
        start + timedelta(minutes=55),
    )
    assert before + timedelta(minutes=15) <= booking.hold_expires_at
    assert booking.hold_expires_at <= timezone.now() + timedelta(minutes=15)
    assert events_of(booking) == [("HELD", "", "HELD", "")]
    assert booking.events.get().actor == customer


def test_a_guest_s_hold_has_no_user(db):
    booking = book(salon())

    assert (booking.user, booking.cart_line.cart.user) == (None, None)


@pytest.mark.parametrize(
    ("when", "code"),
    [
        (lambda start: start + timedelta(minutes=5), "slot_invalid"),  # off the 15-minute grid
        (lambda start: start + timedelta(hours=10), "slot_unavailable"),  # 20:00: closed
        (lambda start: start.replace(hour=16, minute=30), "slot_unavailable"),  # ends at 17:15
        (lambda start: timezone.now() + timedelta(minutes=30), "too_soon"),  # inside the notice
        (lambda start: start - timedelta(days=5), "too_soon"),  # in the past
        (lambda start: start + timedelta(days=31), "too_far"),  # beyond 30 days
    ],
    ids=["off-grid", "closed", "past-closing", "notice", "past", "too-far"],
)
def test_a_slot_outside_the_rules_is_refused_with_its_code_and_nothing_changes(db, when, code):
    cut = salon()
    start = day() + timedelta(hours=10)
    before = calendar_snapshot()

    with pytest.raises(ValidationError) as raised:
        add(cut, when(start))

    assert codes(raised) == {"lines.0.slot": [code]}
    assert calendar_snapshot() == before


def test_a_taken_slot_is_refused_buffers_included_and_nothing_changes(db):
    cut = salon(buffer_after_minutes=15)
    start = day() + timedelta(hours=10)
    book(cut, start=start)  # blocks 10:00-11:00
    before = calendar_snapshot()

    for taken in (start, start + timedelta(minutes=30), start - timedelta(minutes=45)):
        with pytest.raises(ValidationError) as raised:
            add(cut, taken)
        assert codes(raised) == {"lines.0.slot": ["slot_unavailable"]}

    assert calendar_snapshot() == before
    assert book(cut, start=start + timedelta(hours=1)).start == start + timedelta(hours=1)


def test_a_slot_in_time_off_is_refused_and_nothing_changes(db):
    cut = salon()
    start = day() + timedelta(hours=10)
    TimeOffFactory(resource=resource_of(cut), start=start, end=start + timedelta(hours=2))
    before = calendar_snapshot()

    with pytest.raises(ValidationError) as raised:
        add(cut, start + timedelta(minutes=90))  # meets the time off's last half hour

    assert codes(raised) == {"lines.0.slot": ["slot_unavailable"]}
    assert calendar_snapshot() == before


def test_a_service_without_a_slot_and_goods_with_one_are_refused_and_nothing_changes(db):
    cut, mug = salon(), ProductVariantFactory(stock_quantity=5)
    slot = cart_services.Slot(start=day() + timedelta(hours=10))
    before = calendar_snapshot()

    for lines, field, code in (
        (
            [cart_services.NewLine(variant=mug, quantity=1), (cut, 1)],
            "lines.1.slot",
            "slot_required",
        ),
        ([cart_services.NewLine(variant=mug, quantity=1, slot=slot)], "lines.0.slot", "invalid"),
    ):
        with pytest.raises(ValidationError) as raised:
            cart_services.cart_lines_add(cart=None, user=GUEST, lines=lines)
        assert codes(raised) == {field: [code]}

    assert calendar_snapshot() == before


def test_a_resource_that_is_inactive_or_does_not_offer_the_service_is_refused(db):
    cut = salon()
    start = day() + timedelta(hours=10)
    elsewhere = ResourceFactory(name="Elsewhere")
    gone = resource_of(cut)
    gone.is_active = False
    gone.save()
    before = calendar_snapshot()

    for resource, code in ((elsewhere, "invalid"), (gone, "not_found")):
        with pytest.raises(ValidationError) as raised:
            add(cut, start, resource=resource)
        assert codes(raised) == {"lines.0.slot.resourceId": [code]}

    assert calendar_snapshot() == before


def test_a_slot_without_a_resource_takes_the_first_free_one_in_id_order(db):
    first = ResourceFactory(name="Zed", hours=OPEN_9_TO_5)
    second = ResourceFactory(name="Amy", hours=OPEN_9_TO_5)
    cut = ServiceVariantFactory(product__settings__resources=[second, first])
    start = day() + timedelta(hours=10)

    taken = [book(cut, start=start).resource for _ in range(2)]

    assert taken == [first, second]
    with pytest.raises(ValidationError) as raised:
        add(cut, start)
    assert codes(raised) == {"lines.0.slot": ["slot_unavailable"]}


def test_a_class_takes_seats_up_to_its_size(db):
    yoga = salon(seats_per_slot=3)
    start = day() + timedelta(hours=10)

    two = book(yoga, start=start, seats=2)
    one = book(yoga, start=start, seats=1)

    assert [(b.seats, b.exclusive, b.status) for b in (two, one)] == [
        (2, False, BookingStatus.HELD),
        (1, False, BookingStatus.HELD),
    ]
    before = calendar_snapshot()
    with pytest.raises(ValidationError) as full:
        add(yoga, start)
    with pytest.raises(ValidationError) as too_many:
        add(yoga, start + timedelta(hours=2), seats=4)
    assert (codes(full), codes(too_many)) == (
        {"lines.0.slot": ["slot_unavailable"]},
        {"lines.0.quantity": ["invalid"]},
    )
    assert calendar_snapshot() == before


def test_removing_a_service_line_lets_its_slot_go(
    db, published, django_capture_on_commit_callbacks
):
    cut = salon()
    booking = book(cut)
    cart, line = booking.cart_line.cart, booking.cart_line

    with django_capture_on_commit_callbacks(execute=True):
        cart_services.cart_lines_remove(cart=cart, line_ids=[line.pk])

    booking.refresh_from_db()
    assert (booking.status, booking.cart_line, cart.lines.count()) == (
        BookingStatus.CANCELLED,
        None,
        0,
    )
    assert events_of(booking)[-1] == ("RELEASED", "HELD", "CANCELLED", "Removed from the cart.")
    assert [(e.type, e.payload["booking_id"], e.payload["status"]) for e in published] == [
        ("booking.changed", booking.pk, "CANCELLED")
    ]
    assert book(cut, start=booking.start).start == booking.start  # free again


def test_a_quantity_of_zero_lets_the_slot_go_too(db):
    booking = book(salon())

    cart_services.cart_lines_update(cart=booking.cart_line.cart, lines=[(booking.cart_line_id, 0)])

    booking.refresh_from_db()
    assert (booking.status, booking.cart_line) == (BookingStatus.CANCELLED, None)


def test_another_slot_for_a_line_lets_the_old_one_go_even_when_they_overlap(db):
    cut = salon()
    start = day() + timedelta(hours=10)
    old = book(cut, start=start)
    line = old.cart_line

    cart_services.cart_lines_update(
        cart=line.cart,
        lines=[
            cart_services.LineChange(
                line_id=line.pk,
                quantity=1,
                slot=cart_services.Slot(start=start + timedelta(minutes=15)),
            )
        ],
    )

    old.refresh_from_db()
    new = Booking.objects.get(cart_line=line)
    assert (old.status, old.cart_line, new.status, new.start) == (
        BookingStatus.CANCELLED,
        None,
        BookingStatus.HELD,
        start + timedelta(minutes=15),
    )
    assert events_of(old)[-1] == ("RELEASED", "HELD", "CANCELLED", "Another slot was chosen.")


def test_another_slot_that_is_taken_changes_nothing(db):
    cut = salon()
    start = day() + timedelta(hours=10)
    mine = book(cut, start=start)
    book(cut, start=start + timedelta(hours=2))
    before = calendar_snapshot()

    with pytest.raises(ValidationError) as raised:
        cart_services.cart_lines_update(
            cart=mine.cart_line.cart,
            lines=[
                cart_services.LineChange(
                    line_id=mine.cart_line_id,
                    quantity=1,
                    slot=cart_services.Slot(start=start + timedelta(hours=2)),
                )
            ],
        )

    assert codes(raised) == {"lines.0.slot": ["slot_unavailable"]}
    assert calendar_snapshot() == before


def test_a_class_line_takes_more_seats_while_some_are_left(db, published):
    yoga = salon(seats_per_slot=3)
    start = day() + timedelta(hours=10)
    mine = book(yoga, start=start, seats=1)
    book(yoga, start=start, seats=1)

    cart_services.cart_lines_update(cart=mine.cart_line.cart, lines=[(mine.cart_line_id, 2)])

    mine.refresh_from_db()
    assert (mine.seats, mine.cart_line.quantity) == (2, 2)
    assert events_of(mine)[-1] == ("SEATS_CHANGED", "HELD", "HELD", "2 seats")
    before = calendar_snapshot()

    with pytest.raises(ValidationError) as raised:
        cart_services.cart_lines_update(cart=mine.cart_line.cart, lines=[(mine.cart_line_id, 3)])

    assert codes(raised) == {"lines.0.quantity": ["slot_unavailable"]}
    assert calendar_snapshot() == before


def test_a_merged_guest_cart_keeps_its_holds(db, customer):
    cut = salon()
    guest_hold = book(cut)
    own_hold = book(cut, user=customer)

    merged = cart_services.cart_merge(token=guest_hold.cart_line.cart.token, user=customer)

    guest_hold.refresh_from_db()
    own_hold.refresh_from_db()
    assert merged == own_hold.cart_line.cart
    assert (guest_hold.status, guest_hold.cart_line.cart, own_hold.status) == (
        BookingStatus.HELD,
        merged,
        BookingStatus.HELD,
    )
    assert sorted(merged.lines.values_list("booking", flat=True)) == sorted(
        [guest_hold.pk, own_hold.pk]
    )


# --- checkout ------------------------------------------------------------------------------------


def test_checkout_confirms_the_bookings_and_takes_the_goods_stock(db, customer):
    cut, mug = salon(), variant(stock=5)
    cart = cart_with((mug, 2), (cut, 1), user=customer)
    booking = Booking.objects.get()

    order = place_order(user=customer, cart=cart)

    booking.refresh_from_db()
    mug.refresh_from_db()
    line = OrderLine.objects.get(order=order, variant=cut)
    assert (
        booking.status,
        booking.order,
        booking.order_line,
        booking.user,
        booking.hold_expires_at,
        mug.stock_quantity,
    ) == (BookingStatus.CONFIRMED, order, line, customer, None, 3)
    assert (line.booking_start, line.booking_end, line.resource_name) == (
        booking.start,
        booking.end,
        "Alex",
    )
    assert events_of(booking) == [
        ("HELD", "", "HELD", ""),
        ("CONFIRMED", "HELD", "CONFIRMED", f"Order {order.number}"),
    ]


def test_a_checkout_refused_for_the_goods_leaves_the_holds_as_they_were(db):
    cut, mug = salon(), variant(stock=5)
    cart = cart_with((mug, 2), (cut, 1))
    ProductVariant.objects.filter(pk=mug.pk).update(stock_quantity=1)
    before = calendar_snapshot()

    with pytest.raises(ValidationError) as raised:
        place_order(cart=cart)

    assert codes(raised) == "insufficient_stock"
    assert calendar_snapshot() == before
    assert Booking.objects.get().status == BookingStatus.HELD


def test_a_checkout_refused_for_a_slot_leaves_the_stock_as_it_was(db):
    cut, mug = salon(), variant(stock=5)
    cart = cart_with((mug, 2), (cut, 1))
    mine = expire(Booking.objects.get())
    book(cut, start=mine.start)  # another buyer takes the time the hold let go
    before = calendar_snapshot()

    with pytest.raises(ValidationError) as raised:
        place_order(cart=cart)

    assert codes(raised) == "slot_unavailable"
    assert calendar_snapshot() == before
    mug.refresh_from_db()
    assert mug.stock_quantity == 5


def test_an_expired_hold_whose_slot_is_free_is_taken_again_at_checkout(db):
    cut = salon()
    cart = cart_with((cut, 1))
    booking = expire(Booking.objects.get())

    order = place_order(cart=cart, shipping=NO_ADDRESS)

    booking.refresh_from_db()
    assert (booking.status, booking.order) == (BookingStatus.CONFIRMED, order)
    assert [event[0] for event in events_of(booking)] == ["HELD", "HELD", "CONFIRMED"]
    assert events_of(booking)[1] == (
        "HELD",
        "HELD",
        "HELD",
        "The hold had expired; its slot was still free and was taken again.",
    )


def test_an_expired_hold_marked_expired_by_another_hold_is_taken_again_when_free(db):
    cut = salon()
    cart = cart_with((cut, 1))
    mine = expire(Booking.objects.get())
    other = book(cut, start=mine.start)  # marks mine EXPIRED
    cart_services.cart_lines_remove(cart=other.cart_line.cart, line_ids=[other.cart_line_id])
    mine.refresh_from_db()
    assert mine.status == BookingStatus.EXPIRED

    place_order(cart=cart, shipping=NO_ADDRESS)

    mine.refresh_from_db()
    assert mine.status == BookingStatus.CONFIRMED
    assert [event[:3] for event in events_of(mine)] == [
        ("HELD", "", "HELD"),
        ("EXPIRED", "HELD", "EXPIRED"),
        ("HELD", "EXPIRED", "HELD"),
        ("CONFIRMED", "HELD", "CONFIRMED"),
    ]


def test_an_expired_hold_whose_resource_stopped_taking_bookings_is_slot_unavailable(db):
    cut = salon()
    cart = cart_with((cut, 1))
    expire(Booking.objects.get())
    resource = resource_of(cut)
    resource.is_active = False
    resource.save()
    before = calendar_snapshot()

    with pytest.raises(ValidationError) as raised:
        place_order(cart=cart, shipping=NO_ADDRESS)

    assert codes(raised) == "slot_unavailable"
    assert calendar_snapshot() == before


def test_a_line_whose_hold_was_cancelled_checks_out_as_slot_required(db, customer):
    cut = salon()
    booking = book(cut, user=customer)
    cart = booking.cart_line.cart
    services.booking_cancel(booking=booking, actor=customer)
    before = calendar_snapshot()

    with pytest.raises(ValidationError) as raised:
        place_order(user=customer, cart=cart, shipping=NO_ADDRESS)

    assert codes(raised) == "slot_required"
    assert calendar_snapshot() == before
    # the line takes another slot as any line without one
    line = cart.lines.get()
    cart_services.cart_lines_update(
        cart=cart,
        lines=[
            cart_services.LineChange(
                line_id=line.pk, quantity=1, slot=cart_services.Slot(start=booking.start)
            )
        ],
    )
    assert Booking.objects.get(cart_line=line).status == BookingStatus.HELD


def test_cancelling_an_order_cancels_its_bookings(db, customer):
    booking = book_confirmed(salon(), user=customer)

    order_services.order_transition(
        order=booking.order, status=OrderStatus.CANCELLED, actor=customer
    )

    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert events_of(booking)[-1] == (
        "CANCELLED",
        "CONFIRMED",
        "CANCELLED",
        f"Order {booking.order.number} cancelled",
    )
    assert list(
        Notification.objects.filter(kind="BOOKING_CANCELLED").values_list("user", flat=True)
    ) == [customer.pk]


# --- a booking after the sale --------------------------------------------------------------------


def soon(cut) -> datetime:
    """A free slot inside the default 24-hour cancellation window."""
    return free_slot(cut, after=timezone.now() + timedelta(hours=3))


def test_the_buyer_cancels_before_the_window(
    db, customer, published, django_capture_on_commit_callbacks
):
    booking = book_confirmed(salon(), user=customer)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        cancelled = services.booking_cancel(booking=booking, actor=customer, reason=" Ill ")

    booking.refresh_from_db()
    assert (cancelled.status, booking.status, booking.hold_expires_at) == (
        BookingStatus.CANCELLED,
        BookingStatus.CANCELLED,
        None,
    )
    assert events_of(booking)[-1] == ("CANCELLED", "CONFIRMED", "CANCELLED", "Ill")
    assert booking.events.last().actor == customer
    assert list(
        Notification.objects.exclude(kind="ORDER_PLACED").values_list("user", "kind", "title")
    ) == [(customer.pk, "BOOKING_CANCELLED", "Booking cancelled")]
    assert [message.to for message in mail.outbox] == [[customer.email]]
    assert [
        (set(e.groups), e.payload["status"]) for e in published if e.type == "booking.changed"
    ] == [({f"resource:{booking.resource_id}", f"order:{booking.order_id}"}, "CANCELLED")]


def test_the_buyer_cannot_cancel_or_move_inside_the_window_and_nothing_changes(db, customer):
    cut = salon()
    booking = book_confirmed(cut, user=customer, start=soon(cut))
    later = free_slot(cut)
    before = calendar_snapshot()

    with pytest.raises(ValidationError) as cancelled:
        services.booking_cancel(booking=booking, actor=customer)
    with pytest.raises(ValidationError) as moved:
        services.booking_reschedule(booking=booking, start=later, actor=customer)

    assert (codes(cancelled), codes(moved)) == (
        "cancellation_window_passed",
        "cancellation_window_passed",
    )
    assert calendar_snapshot() == before


def test_staff_cancel_and_move_inside_the_window(db, customer, store_admin):
    cut = salon()
    first = book_confirmed(cut, user=customer, start=soon(cut), key="one")
    second = book_confirmed(cut, user=customer, start=soon(cut), key="two")
    later = free_slot(cut)

    services.booking_cancel(booking=first, actor=store_admin, as_staff=True)
    services.booking_reschedule(booking=second, start=later, actor=store_admin, as_staff=True)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status, second.start) == (
        BookingStatus.CANCELLED,
        BookingStatus.CONFIRMED,
        later,
    )
    assert first.events.last().actor == second.events.last().actor == store_admin


def test_a_booking_already_cancelled_cannot_be_cancelled_or_moved_again(db, customer):
    booking = book_confirmed(salon(), user=customer)
    services.booking_cancel(booking=booking, actor=customer)
    before = calendar_snapshot()

    with pytest.raises(ValidationError) as cancelled:
        services.booking_cancel(booking=booking, actor=customer, as_staff=True)
    with pytest.raises(ValidationError) as moved:
        services.booking_reschedule(
            booking=booking, start=booking.start + timedelta(hours=1), as_staff=True
        )

    assert (codes(cancelled), codes(moved)) == ("invalid_transition", "invalid_transition")
    assert calendar_snapshot() == before


def test_moving_a_booking_frees_the_old_span_and_takes_the_new_one(
    db, customer, published, django_capture_on_commit_callbacks
):
    cut = salon(buffer_after_minutes=15)
    start = day() + timedelta(hours=10)
    booking = book_confirmed(cut, user=customer, start=start)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.booking_reschedule(
            booking=booking, start=start + timedelta(minutes=30), actor=customer
        )

    booking.refresh_from_db()
    assert (
        booking.start,
        booking.end,
        booking.blocked_start,
        booking.blocked_end,
        booking.sequence,
        booking.status,
    ) == (
        start + timedelta(minutes=30),
        start + timedelta(minutes=75),
        start + timedelta(minutes=30),
        start + timedelta(minutes=90),
        1,
        BookingStatus.CONFIRMED,
    )
    event = booking.events.last()
    assert (event.type, event.start, event.end, event.actor) == (
        "RESCHEDULED",
        booking.start,
        booking.end,
        customer,
    )
    assert list(
        Notification.objects.exclude(kind="ORDER_PLACED").values_list("kind", flat=True)
    ) == ["BOOKING_RESCHEDULED"]
    assert [message.to for message in mail.outbox] == [[customer.email]]
    assert [e.payload["booking_id"] for e in published if e.type == "booking.changed"] == [
        booking.pk
    ]
    # the order line keeps the slot as it was bought
    line = booking.order_line
    line.refresh_from_db()
    assert line.booking_start == start
    # what it let go is free: a 45-minute cut ending (with its buffer) by the new start fits
    assert book(cut, start=start - timedelta(minutes=30)).status == BookingStatus.HELD


def test_moving_to_another_resource(db, customer):
    alex = ResourceFactory(name="Alex", hours=OPEN_9_TO_5)
    sam = ResourceFactory(name="Sam", hours=OPEN_9_TO_5)
    cut = ServiceVariantFactory(product__settings__resources=[alex, sam])
    start = day() + timedelta(hours=10)
    booking = book_confirmed(cut, user=customer, start=start, resource=alex)

    services.booking_reschedule(booking=booking, start=start, resource=sam, actor=customer)

    booking.refresh_from_db()
    assert (booking.resource, booking.resource_name, booking.start) == (sam, "Sam", start)


def test_moving_to_a_taken_or_invalid_slot_changes_nothing(db, customer):
    cut = salon()
    start = day() + timedelta(hours=10)
    booking = book_confirmed(cut, user=customer, start=start)
    book(cut, start=start + timedelta(hours=2))
    before = calendar_snapshot()

    for target, code in (
        (start + timedelta(hours=2), "slot_unavailable"),
        (start + timedelta(minutes=7), "slot_invalid"),
        (start + timedelta(days=40), "too_far"),
    ):
        with pytest.raises(ValidationError) as raised:
            services.booking_reschedule(booking=booking, start=target, actor=customer)
        assert codes(raised) == {"slot": [code]}

    assert calendar_snapshot() == before


@pytest.mark.parametrize(
    ("status", "event", "notified"),
    [
        (BookingStatus.COMPLETED, "COMPLETED", [("BOOKING_COMPLETED", "Thank you")]),
        (BookingStatus.NO_SHOW, "NO_SHOW", []),
    ],
)
def test_staff_mark_a_started_booking_completed_or_missed(
    db, customer, store_admin, status, event, notified
):
    booking = move(book_confirmed(salon(), user=customer), timezone.now() - timedelta(hours=1))
    Notification.objects.all().delete()

    services.booking_status_update(booking=booking, status=status, actor=store_admin, note="ok")

    booking.refresh_from_db()
    assert booking.status == status
    assert events_of(booking)[-1] == (event, "CONFIRMED", status, "ok")
    assert list(Notification.objects.values_list("kind", "title")) == notified


def test_staff_outcomes_are_refused_before_the_start_for_other_statuses_and_changes_nothing(
    db, customer
):
    cut = salon()
    coming = book_confirmed(cut, user=customer, key="one")
    past = move(book_confirmed(cut, user=customer, key="two"), timezone.now() - timedelta(hours=2))
    services.booking_status_update(booking=past, status=BookingStatus.NO_SHOW)
    before = calendar_snapshot()

    for booking, status, expected in (
        (coming, BookingStatus.COMPLETED, {"status": ["invalid_transition"]}),
        (past, BookingStatus.COMPLETED, {"status": ["invalid_transition"]}),
        (coming, BookingStatus.CANCELLED, {"status": ["invalid"]}),
        (coming, BookingStatus.HELD, {"status": ["invalid"]}),
    ):
        with pytest.raises(ValidationError) as raised:
            services.booking_status_update(booking=booking, status=status)
        assert codes(raised) == expected

    assert calendar_snapshot() == before


def test_a_rolled_back_change_publishes_nothing(db, published, django_capture_on_commit_callbacks):
    cut = salon()
    start = day() + timedelta(hours=10)
    book(cut, start=start)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        add(cut, start)

    assert published == []


def test_holds_publish_once_they_commit(db, published, django_capture_on_commit_callbacks):
    cut = salon()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        booking = book(cut)
    assert published == []

    for callback in callbacks:
        callback()

    assert [(e.type, e.groups, dict(e.payload)) for e in published] == [
        (
            "booking.changed",
            (f"resource:{booking.resource_id}",),
            {
                "booking_id": booking.pk,
                "resource_id": booking.resource_id,
                "order_id": None,
                "status": "HELD",
            },
        )
    ]


def test_checkout_publishes_each_booking_to_its_resource_and_order(
    db, published, django_capture_on_commit_callbacks
):
    cut = salon()
    cart = cart_with((cut, 1), (cut, 1))

    with django_capture_on_commit_callbacks(execute=True):
        order = place_order(cart=cart, shipping=NO_ADDRESS)

    bookings = list(order.bookings.order_by("pk"))
    booking_events = [e for e in published if e.type == "booking.changed"]
    assert [(e.payload["booking_id"], e.payload["status"], e.groups) for e in booking_events] == [
        (b.pk, "CONFIRMED", (f"resource:{b.resource_id}", f"order:{order.pk}")) for b in bookings
    ]


def test_every_change_writes_its_event(db, customer):
    cut = salon()
    booking = book_confirmed(cut, user=customer, start=day() + timedelta(hours=10))
    services.booking_reschedule(
        booking=booking, start=booking.start + timedelta(hours=1), actor=customer
    )
    services.booking_cancel(booking=booking, actor=customer, reason="Changed my mind")

    assert events_of(booking) == [
        ("HELD", "", "HELD", ""),
        ("CONFIRMED", "HELD", "CONFIRMED", f"Order {booking.order.number}"),
        ("RESCHEDULED", "CONFIRMED", "CONFIRMED", ""),
        ("CANCELLED", "CONFIRMED", "CANCELLED", "Changed my mind"),
    ]
    assert BookingEvent.objects.count() == 4


def test_a_guest_hears_of_a_cancellation_by_email_only(db, django_capture_on_commit_callbacks):
    booking = book_confirmed(salon())
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel(booking=booking)

    assert (booking.user, Notification.objects.count()) == (None, 0)
    assert [message.to for message in mail.outbox] == [["guest@example.com"]]


def test_a_staff_booking_without_order_belongs_to_nobody(db):
    booking = BookingFactory(variant=salon(), start=day() + timedelta(hours=10))

    services.booking_cancel(booking=booking, as_staff=True, reason="Closed")

    booking.refresh_from_db()
    assert (booking.status, Notification.objects.count()) == (BookingStatus.CANCELLED, 0)


# --- what PostgreSQL refuses whatever the checks -------------------------------------------------


@pytest.mark.postgres
def test_postgresql_refuses_two_active_one_seat_bookings_that_overlap_buffers_included(db):
    cut = salon(buffer_after_minutes=15)
    start = day() + timedelta(hours=10)
    BookingFactory(variant=cut, start=start)  # blocks 10:00-11:00

    with pytest.raises(IntegrityError), transaction.atomic():
        BookingFactory(variant=cut, start=start + timedelta(minutes=60) - timedelta(minutes=15))

    BookingFactory(variant=cut, start=start + timedelta(minutes=60))  # meets it, no overlap
    BookingFactory(variant=cut, start=start, status=BookingStatus.CANCELLED)
    BookingFactory(variant=cut, start=start, status=BookingStatus.EXPIRED)
    BookingFactory(variant=salon(), start=start)  # another resource
    assert Booking.objects.count() == 5


@pytest.mark.postgres
def test_postgresql_lets_the_seats_of_a_class_overlap(db):
    yoga = salon(seats_per_slot=3)
    start = day() + timedelta(hours=10)

    BookingFactory(variant=yoga, start=start, seats=2)
    BookingFactory(variant=yoga, start=start, seats=1)

    assert Booking.objects.filter(exclusive=False).count() == 2


@pytest.mark.postgres
def test_an_overlap_the_checks_missed_is_slot_unavailable_and_changes_nothing(db, monkeypatch):
    from apps.bookings.availability import Calendar

    cut = salon()
    start = day() + timedelta(hours=10)
    book(cut, start=start)
    monkeypatch.setattr(Calendar, "seats_left", lambda self, *args, **kwargs: 1)  # blind checks
    before = calendar_snapshot()

    with pytest.raises(ValidationError) as raised:
        add(cut, start + timedelta(minutes=15))

    assert codes(raised) == {"lines.0.slot": ["slot_unavailable"]}
    assert calendar_snapshot() == before
