"""A booking after the sale: cancelled or moved by its buyer or staff, completed or missed.

Every change locks the booking's row, writes a ``BookingEvent``, tells the buyer (an in-app
notification for a customer, an email with the calendar update) and the booking's followers,
all once the transaction commits.
"""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.core.errors import CoreErrorCode
from apps.core.tasks import enqueue_on_commit
from apps.core.validation import clean_text
from apps.notifications.models import Notification
from apps.notifications.services import notification_create

from .. import tasks
from ..availability import Rules
from ..errors import BookingErrorCode
from ..models import Booking, BookingEvent, BookingStatus, Resource
from .events import booking_changed
from .holds import Wanted, _choose, _write, service_settings


def _refuse(message: str, code: str, field: str | None = None) -> ValidationError:
    error = ValidationError(message, code=code)
    return ValidationError({field: error}) if field else error


def _lock(booking: Booking) -> Booking:
    return (
        Booking.objects.select_for_update(of=("self",))
        .select_related("variant__product", "resource", "order")
        .get(pk=booking.pk)
    )


def _check_window(booking: Booking, *, as_staff: bool) -> None:
    """A buyer changes a booking until its cancellation window; staff at any time."""
    if as_staff:
        return
    window = timedelta(hours=service_settings(booking.variant).cancellation_window_hours)
    if booking.start - timezone.now() < window:
        hours = int(window.total_seconds() // 3600)
        raise _refuse(
            f"This booking can no longer be changed online: it starts in less than {hours} "
            "hours. Contact the shop.",
            BookingErrorCode.CANCELLATION_WINDOW_PASSED,
        )


def _tell_buyer(booking: Booking, kind: str, title: str, body: str) -> None:
    if booking.user_id:
        notification_create(
            user_id=booking.user_id, kind=kind, title=title, body=body, target=booking
        )


def schedule_reminder(booking: Booking) -> None:
    """The reminder job, due ``BOOKING_REMINDER_HOURS`` before the start (none when that time
    has passed). It checks, when it runs, that the booking is still confirmed and unchanged."""
    from django.conf import settings

    due = booking.start - timedelta(hours=settings.BOOKING_REMINDER_HOURS)
    if due > timezone.now():
        enqueue_on_commit(
            tasks.send_booking_reminder, booking.pk, booking.sequence, schedule_at=due
        )


@transaction.atomic
def booking_cancel(
    *, booking: Booking, actor=None, reason: str = "", as_staff: bool = False
) -> Booking:
    """Cancel a confirmed booking (its buyer until the cancellation window; staff always)."""
    reason = clean_text(reason, field="reason")
    booking = _lock(booking)
    if booking.status not in (BookingStatus.CONFIRMED, BookingStatus.HELD):
        raise _refuse(
            f"A {booking.get_status_display().lower()} booking cannot be cancelled.",
            BookingErrorCode.INVALID_TRANSITION,
        )
    _check_window(booking, as_staff=as_staff)
    return _cancel(booking, actor=actor, note=reason)


def _cancel(booking: Booking, *, actor, note: str) -> Booking:
    previous = booking.status
    booking.status = BookingStatus.CANCELLED
    booking.hold_expires_at = None
    if previous == BookingStatus.HELD:
        # A cancelled hold lets its cart line go: the line may then hold another slot (or
        # checks out as slot_required), as after hold_release.
        booking.cart_line = None
    booking.save(update_fields=["status", "hold_expires_at", "cart_line", "updated_at"])
    BookingEvent.objects.create(
        booking=booking,
        type=BookingEvent.Type.CANCELLED,
        from_status=previous,
        to_status=BookingStatus.CANCELLED,
        note=note,
        actor=actor,
    )
    if previous == BookingStatus.CONFIRMED:
        _tell_buyer(
            booking,
            Notification.Kind.BOOKING_CANCELLED,
            "Booking cancelled",
            f"{booking.product_name} on {_when(booking)} was cancelled.",
        )
        enqueue_on_commit(tasks.send_booking_cancelled, booking.pk)
    booking_changed(booking)
    return booking


@transaction.atomic(savepoint=False)  # part of the order's cancellation or refund
def order_bookings_cancel(*, order_id: int, actor=None, note: str = "") -> int:
    """Cancel the bookings an order took that are still to come; how many."""
    bookings = list(
        Booking.objects.select_for_update(of=("self",))
        .select_related("variant__product")
        .filter(order_id=order_id, status__in=[BookingStatus.CONFIRMED, BookingStatus.HELD])
        .order_by("pk")
    )
    for booking in bookings:
        _cancel(booking, actor=actor, note=note)
    return len(bookings)


@transaction.atomic
def booking_reschedule(
    *,
    booking: Booking,
    start: datetime,
    resource: Resource | None = None,
    actor=None,
    as_staff: bool = False,
) -> Booking:
    """Move a confirmed booking to another slot: the old span is freed and the new one taken
    in one transaction (``slot_unavailable`` when it is not free, and nothing changes)."""
    booking = _lock(booking)
    if booking.status != BookingStatus.CONFIRMED:
        raise _refuse("Only a confirmed booking can be moved.", BookingErrorCode.INVALID_TRANSITION)
    _check_window(booking, as_staff=as_staff)
    variant = booking.variant
    service = service_settings(variant)
    rules = Rules.of(service, variant.duration_minutes)
    wanted = Wanted(variant=variant, start=start, resource=resource, seats=booking.seats)
    calendar, blocked_start, blocked_end = _choose(
        wanted, rules, service, field="slot", ignore=booking.pk
    )
    booking.resource_id, booking.resource_name = calendar.resource_id, calendar.name
    booking.start, booking.end = start, start + rules.duration
    booking.blocked_start, booking.blocked_end = blocked_start, blocked_end
    booking.sequence += 1
    _write(booking, "slot")
    BookingEvent.objects.create(
        booking=booking,
        type=BookingEvent.Type.RESCHEDULED,
        from_status=booking.status,
        to_status=booking.status,
        start=booking.start,
        end=booking.end,
        actor=actor,
    )
    _tell_buyer(
        booking,
        Notification.Kind.BOOKING_RESCHEDULED,
        "Booking moved",
        f"{booking.product_name} is now on {_when(booking)} with {booking.resource_name}.",
    )
    enqueue_on_commit(tasks.send_booking_rescheduled, booking.pk)
    schedule_reminder(booking)
    booking_changed(booking)
    return booking


_STAFF_OUTCOMES = {
    BookingStatus.COMPLETED: (BookingEvent.Type.COMPLETED, Notification.Kind.BOOKING_COMPLETED),
    BookingStatus.NO_SHOW: (BookingEvent.Type.NO_SHOW, Notification.Kind.BOOKING_NO_SHOW),
}


@transaction.atomic
def booking_status_update(*, booking: Booking, status: str, actor=None, note: str = "") -> Booking:
    """Staff: a confirmed booking whose time has come was delivered, or missed."""
    note = clean_text(note, field="note")
    if status not in _STAFF_OUTCOMES:
        raise _refuse("Staff mark a booking COMPLETED or NO_SHOW.", CoreErrorCode.INVALID, "status")
    booking = _lock(booking)
    if booking.status != BookingStatus.CONFIRMED:
        raise _refuse(
            f"A {booking.get_status_display().lower()} booking cannot become {status}.",
            BookingErrorCode.INVALID_TRANSITION,
            "status",
        )
    if booking.start > timezone.now():
        raise _refuse(
            "A booking is completed or missed once it has started.",
            BookingErrorCode.INVALID_TRANSITION,
            "status",
        )
    event_type, kind = _STAFF_OUTCOMES[status]
    previous, booking.status = booking.status, status
    booking.save(update_fields=["status", "updated_at"])
    BookingEvent.objects.create(
        booking=booking,
        type=event_type,
        from_status=previous,
        to_status=status,
        note=note,
        actor=actor,
    )
    if status == BookingStatus.COMPLETED:
        _tell_buyer(booking, kind, "Thank you", f"We hope you enjoyed {booking.product_name}.")
    booking_changed(booking)
    return booking


def _when(booking: Booking) -> str:
    local = booking.start.astimezone(booking.resource_zone)
    return local.strftime("%A %d %B %Y at %H:%M")
