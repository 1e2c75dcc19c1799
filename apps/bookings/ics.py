"""Calendar invitations (iCalendar, RFC 5545) for bookings, attached to their emails.

Each booking is one event whose UID never changes: a calendar that received the confirmation
updates the same entry when the booking is rescheduled (a higher SEQUENCE) and removes it when
it is cancelled (METHOD:CANCEL).
"""

from collections.abc import Iterable

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event

from .models import Booking, BookingStatus

CONTENT_TYPE = "text/calendar; charset=utf-8; method={method}"


def uid(booking: Booking) -> str:
    return f"booking-{booking.pk}@{settings.EMAIL_MESSAGE_ID_DOMAIN}"


def invitation(bookings: Iterable[Booking], *, method: str = "REQUEST") -> bytes:
    """One calendar with an event per booking: ``REQUEST`` to add or update, ``CANCEL``."""
    calendar = Calendar()
    calendar.add("prodid", "-//SilkCart//Bookings//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    stamp = timezone.now()
    for booking in bookings:
        event = Event()
        event.add("uid", uid(booking))
        event.add("sequence", booking.sequence)
        event.add("dtstamp", stamp)
        event.add("dtstart", booking.start)
        event.add("dtend", booking.end)
        title = booking.product_name
        if booking.variant_name:
            title = f"{title} ({booking.variant_name})"
        event.add("summary", title)
        event.add("location", booking.resource_name)
        cancelled = method == "CANCEL" or booking.status == BookingStatus.CANCELLED
        event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        calendar.add_component(event)
    return calendar.to_ical()


def attachment(bookings: Iterable[Booking], *, method: str = "REQUEST") -> tuple[str, bytes, str]:
    """``(filename, content, mimetype)`` for ``send_templated_email(attachments=...)``."""
    name = "cancellation.ics" if method == "CANCEL" else "invitation.ics"
    return name, invitation(bookings, method=method), CONTENT_TYPE.format(method=method)
