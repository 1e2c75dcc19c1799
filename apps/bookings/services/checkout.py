"""Bookings at checkout: the holds of a cart's service lines, locked, checked, confirmed.

Called by the orders app's line kind for services (``apps.orders.lines``), in the checkout's
transaction: a checkout that fails anywhere leaves every hold as it was.
"""

from django.core.exceptions import ValidationError
from django.utils import timezone

from ..errors import BookingErrorCode
from ..models import Booking, BookingEvent, BookingStatus
from .events import booking_changed
from .holds import slot_error, take_again
from .lifecycle import schedule_reminder


def lock_for_lines(cart_line_ids: list[int]) -> dict[int, Booking]:
    """The bookings held by these cart lines, locked in a fixed order (by start, then id)."""
    bookings = (
        Booking.objects.select_for_update()
        .filter(cart_line_id__in=cart_line_ids)
        .order_by("start", "pk")
    )
    return {booking.cart_line_id: booking for booking in bookings}


def check_for_lines(lines, bookings: dict[int, Booking]) -> None:
    """Every service line holds a slot it may still have; an expired hold is taken again
    when its slot is free. Raises ``slot_required`` or ``slot_unavailable``."""
    now = timezone.now()
    for line in lines:
        booking = bookings.get(line.pk)
        if booking is None:
            raise ValidationError(
                f"{line.variant.sku} is a service: choose a time slot for it.",
                code=BookingErrorCode.SLOT_REQUIRED,
            )
        if booking.status == BookingStatus.HELD and booking.hold_expires_at > now:
            continue
        if booking.status in (BookingStatus.HELD, BookingStatus.EXPIRED):
            take_again(booking=booking)
            continue
        raise slot_error(BookingErrorCode.SLOT_UNAVAILABLE, None)


def confirm_for_lines(pairs, order) -> None:
    """The held bookings become the order's, CONFIRMED; ``pairs`` is ``(booking, order_line)``."""
    now = timezone.now()
    bookings = []
    for booking, order_line in pairs:
        booking.status = BookingStatus.CONFIRMED
        booking.hold_expires_at = None
        booking.order = order
        booking.order_line = order_line
        booking.user_id = order.user_id
        booking.updated_at = now
        bookings.append(booking)
        # One UPDATE per booking (a cart holds few): cheaper to build than bulk_update's CASE
        # expressions, which cost a checkout of one service more than its statement.
        Booking.objects.filter(pk=booking.pk).update(
            status=booking.status,
            hold_expires_at=None,
            order=order,
            order_line=order_line,
            user_id=order.user_id,
            updated_at=now,
        )
    BookingEvent.objects.bulk_create(
        BookingEvent(
            booking=booking,
            type=BookingEvent.Type.CONFIRMED,
            from_status=BookingStatus.HELD,
            to_status=BookingStatus.CONFIRMED,
            start=booking.start,
            end=booking.end,
            note=f"Order {order.number}",
            actor_id=order.user_id,
        )
        for booking in bookings
    )
    for booking in bookings:
        schedule_reminder(booking)
        booking_changed(booking)
