"""The emails of a booking after the sale: moved, cancelled, and the reminder before it.

The confirmation is the order's own email, which carries the invitation of every booking the
order took (``apps.orders.emails``). Each email here carries the calendar update of its booking
(``apps.bookings.ics``), under the booking's one UID.
"""

from django.utils import timezone

from apps.core.emails import send_templated_email
from apps.core.models import SentEmail
from apps.notifications.models import Notification
from apps.notifications.services import notification_create

from . import ics
from .models import Booking, BookingStatus


def _booking(booking_id: int) -> Booking | None:
    return Booking.objects.select_related("order", "resource").filter(pk=booking_id).first()


def _to(booking: Booking) -> list[str]:
    if booking.order is not None:
        return [booking.order.email]
    return [booking.user.email] if booking.user_id else []


def _send(booking: Booking, **kwargs) -> None:
    """Send with the templates' dates in the resource's time zone: Django's ``date`` filter
    converts an aware datetime to the current time zone (the shop's) before formatting it."""
    with timezone.override(booking.resource_zone):
        send_templated_email(**kwargs)


def _context(booking: Booking) -> dict:
    local = booking.start.astimezone(booking.resource_zone)
    return {
        "booking": booking,
        "local_start": local,
        "local_end": booking.end.astimezone(booking.resource_zone),
        "time_zone": booking.resource.time_zone,
    }


def send_booking_reminder(*, booking_id: int, sequence: int) -> None:
    """The reminder, unless the booking was cancelled or moved since it was scheduled (a move
    schedules a reminder of its own)."""
    booking = _booking(booking_id)
    if booking is None or booking.status != BookingStatus.CONFIRMED:
        return
    if booking.sequence != sequence or not _to(booking):
        return
    key = f"booking_reminder.{booking.pk}.{sequence}"
    if SentEmail.objects.filter(key=key).exists():
        return  # a retry of a reminder that went out: no second notification either
    _send(
        booking,
        template="bookings/emails/booking_reminder",
        to=_to(booking),
        context=_context(booking),
        key=key,
        attachments=[ics.attachment([booking])],
    )
    if booking.user_id:  # after the email: a failed send is retried, and notifies then
        notification_create(
            user_id=booking.user_id,
            kind=Notification.Kind.BOOKING_REMINDER,
            title="See you soon",
            body=f"{booking.product_name} starts {_context(booking)['local_start']:%A at %H:%M}.",
            target=booking,
        )


def send_booking_rescheduled(*, booking_id: int) -> None:
    booking = _booking(booking_id)
    if booking is None or not _to(booking):
        return
    _send(
        booking,
        template="bookings/emails/booking_rescheduled",
        to=_to(booking),
        context=_context(booking),
        key=f"booking_rescheduled.{booking.pk}.{booking.sequence}",
        attachments=[ics.attachment([booking])],
    )


def send_booking_cancelled(*, booking_id: int) -> None:
    booking = _booking(booking_id)
    if booking is None or not _to(booking):
        return
    _send(
        booking,
        template="bookings/emails/booking_cancelled",
        to=_to(booking),
        context=_context(booking),
        key=f"booking_cancelled.{booking.pk}",
        attachments=[ics.attachment([booking], method="CANCEL")],
    )
