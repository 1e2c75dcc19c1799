"""Which time slots a service can be booked in: computed, never stored.

A resource's day is built in its own time zone, from wall-clock hours (``zoneinfo``), and each
slot is converted to UTC once, so a 09:00 opening is 09:00 local on both daylight-saving days.
A slot of a service variant:

- starts on its hours range's grid (the range's opening, then every ``slot_interval``);
- fits inside the range with its buffers (``blocked_start >= opening``, ``blocked_end <= closing``);
- starts after the minimum notice and no later than the maximum advance;
- meets no time off, buffers included;
- has a seat left: one-seat services meet no other active booking of the resource; for a class
  the seats of the bookings it meets leave at least one.

``calendar_data`` reads what a window needs for every resource in four queries at most,
whatever the number of bookings elsewhere in the database.
"""

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Q
from django.db.models.functions import Now

from .models import ACTIVE_STATUSES, Booking, BookingStatus, ServiceSettings, TimeOff, WeeklyHours
from .ranges import TsTzRange

MAX_WINDOW = timedelta(days=62)


@dataclass(frozen=True)
class Rules:
    """How one service variant is booked."""

    duration: timedelta
    buffer_before: timedelta
    buffer_after: timedelta
    interval: timedelta
    notice: timedelta
    advance: timedelta
    seats: int

    @classmethod
    def of(cls, settings: ServiceSettings, duration_minutes: int) -> "Rules":
        return cls(
            duration=timedelta(minutes=duration_minutes),
            buffer_before=timedelta(minutes=settings.buffer_before_minutes),
            buffer_after=timedelta(minutes=settings.buffer_after_minutes),
            interval=timedelta(minutes=settings.slot_interval_minutes),
            notice=timedelta(minutes=settings.minimum_notice_minutes),
            advance=timedelta(days=settings.maximum_advance_days),
            seats=settings.seats_per_slot,
        )

    @property
    def exclusive(self) -> bool:
        return self.seats == 1

    def blocked(self, start: datetime) -> tuple[datetime, datetime]:
        return start - self.buffer_before, start + self.duration + self.buffer_after


@dataclass(frozen=True)
class Taken:
    """A booking's hold on its resource's time."""

    start: datetime  # blocked span
    end: datetime
    seats: int
    exclusive: bool
    booking_id: int = 0


@dataclass
class Calendar:
    """What one resource offers and what is taken of it, for a window."""

    resource_id: int
    name: str
    zone: ZoneInfo
    resource: object = None  # the Resource row
    hours: dict[int, list[tuple[time, time]]] = field(default_factory=dict)  # ISO weekday
    time_off: list[tuple[datetime, datetime]] = field(default_factory=list)
    taken: list[Taken] = field(default_factory=list)  # sorted by start

    def sort(self) -> None:
        self.taken.sort(key=lambda taken: taken.start)
        self.time_off.sort()

    def seats_left(
        self, rules: Rules, blocked_start: datetime, blocked_end: datetime, ignore: int = 0
    ) -> int:
        """Seats the span ``[blocked_start, blocked_end)`` has left; 0 when it cannot be had."""
        if any(start < blocked_end and end > blocked_start for start, end in self.time_off):
            return 0
        used = 0
        # bookings are sorted by start: only those starting before the span's end can meet it
        for taken in self.taken[: bisect.bisect_left(self.taken, blocked_end, key=_start)]:
            if taken.booking_id == ignore or taken.end <= blocked_start:
                continue
            if taken.exclusive or rules.exclusive:
                return 0
            used += taken.seats
        return max(rules.seats - used, 0)


def _start(taken: Taken) -> datetime:
    return taken.start


@dataclass(frozen=True)
class Slot:
    resource_id: int
    start: datetime
    end: datetime
    seats_left: int


def _local(day: date, moment: time, zone: ZoneInfo) -> datetime | None:
    """``moment`` on ``day`` in ``zone``, as a UTC datetime; None when the clock skips it."""
    local = datetime.combine(day, moment, tzinfo=zone)
    utc = local.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None  # inside the hour that daylight saving time skips
    return utc


def _grid(calendar: Calendar, rules: Rules, day: date) -> Iterable[tuple[datetime, datetime]]:
    """The slots of ``day`` (local) that fit the resource's hours: ``(start, end)`` in UTC."""
    for opening, closing in calendar.hours.get(day.isoweekday(), ()):
        opens = datetime.combine(day, opening)
        closes = datetime.combine(day, closing)
        start = opens
        while start < closes:
            # Wall-clock arithmetic for the grid; each slot converted to UTC once.
            slot_start = _local(day, start.time(), calendar.zone)
            range_open = _local(day, opens.time(), calendar.zone)
            range_close = _local(day, closes.time(), calendar.zone)
            start += rules.interval
            if slot_start is None or range_open is None or range_close is None:
                continue
            blocked_start, blocked_end = rules.blocked(slot_start)
            if blocked_start < range_open:
                continue
            if blocked_end > range_close:
                break
            yield slot_start, slot_start + rules.duration


def slots(
    calendar: Calendar, rules: Rules, *, start: datetime, end: datetime, now: datetime
) -> list[Slot]:
    """The free slots of one resource starting in ``[start, end)``."""
    earliest = max(start, now + rules.notice)
    latest = min(end, now + rules.advance + timedelta(microseconds=1))
    if earliest >= latest:
        return []
    found = []
    day = (earliest.astimezone(calendar.zone) - timedelta(days=1)).date()
    last_day = latest.astimezone(calendar.zone).date()
    while day <= last_day:
        for slot_start, slot_end in _grid(calendar, rules, day):
            if not earliest <= slot_start < latest:
                continue
            left = calendar.seats_left(rules, *rules.blocked(slot_start))
            if left > 0:
                found.append(Slot(calendar.resource_id, slot_start, slot_end, left))
        day += timedelta(days=1)
    return found


def slot_problem(
    calendar: Calendar, rules: Rules, *, start: datetime, now: datetime, ignore: int = 0
) -> str | None:
    """Why ``start`` cannot be booked on this resource (an error code), or None.

    ``ignore``: a booking whose own time does not count (the one being rescheduled or taken
    again at checkout).
    """
    from .errors import BookingErrorCode

    if start < now + rules.notice:
        return BookingErrorCode.TOO_SOON
    if start > now + rules.advance:
        return BookingErrorCode.TOO_FAR
    day = start.astimezone(calendar.zone).date()
    on_grid = in_hours = False
    for candidate_day in (day - timedelta(days=1), day):
        for opening, closing in calendar.hours.get(candidate_day.isoweekday(), ()):
            opens = _local(candidate_day, opening, calendar.zone)
            closes = _local(candidate_day, closing, calendar.zone)
            if opens is None or closes is None or not opens <= start < closes:
                continue
            in_hours = True
            local_offset = start.astimezone(calendar.zone).replace(tzinfo=None) - datetime.combine(
                candidate_day, opening
            )
            if local_offset % rules.interval == timedelta(0):
                on_grid = True
                blocked_start, blocked_end = rules.blocked(start)
                if blocked_start >= opens and blocked_end <= closes:
                    seats = calendar.seats_left(rules, blocked_start, blocked_end, ignore=ignore)
                    return None if seats > 0 else BookingErrorCode.SLOT_UNAVAILABLE
    if in_hours and not on_grid:
        return BookingErrorCode.SLOT_INVALID
    return BookingErrorCode.SLOT_UNAVAILABLE


# --- Reading what a window needs ------------------------------------------------------------------


def calendar_data(
    resource_ids: list[int] | None,
    *,
    settings: ServiceSettings,
    start: datetime,
    end: datetime,
    rules: Rules,
    lock: bool = False,
) -> list[Calendar]:
    """The calendars of the active resources that deliver the service (those of
    ``resource_ids`` only, when given) for slots starting in ``[start, end)``, in a stable order
    (by resource id). Three queries: the resources with their hours, the time off, the
    bookings. ``lock``: lock the resources' rows first (in id order), so that seats are counted
    against bookings no other transaction is adding."""
    span_start, span_end = start - rules.buffer_before, end + rules.duration + rules.buffer_after
    hours = WeeklyHours.objects.filter(
        resource__services=settings, resource__is_active=True
    ).select_related("resource")
    if resource_ids is not None:
        hours = hours.filter(resource_id__in=resource_ids)
    calendars: dict[int, Calendar] = {}
    for opening in hours.order_by("resource_id", "weekday", "start"):
        resource = opening.resource
        calendar = calendars.get(resource.pk)
        if calendar is None:
            calendar = calendars[resource.pk] = Calendar(
                resource_id=resource.pk,
                name=resource.name,
                zone=ZoneInfo(resource.time_zone),
                resource=resource,
            )
        calendar.hours.setdefault(opening.weekday, []).append((opening.start, opening.end))
    if not calendars:
        return []
    if lock:
        _lock_resources(sorted(calendars))
    off = TimeOff.objects.filter(
        resource_id__in=calendars, start__lt=span_end, end__gt=span_start
    ).values_list("resource_id", "start", "end")
    for resource_id, off_start, off_end in off:
        calendars[resource_id].time_off.append((off_start, off_end))
    for booking in _taking_time(list(calendars), span_start, span_end):
        resource_id, *values = booking
        calendars[resource_id].taken.append(Taken(*values))
    for calendar in calendars.values():
        calendar.sort()
    return [calendars[pk] for pk in sorted(calendars)]


def _lock_resources(resource_ids: list[int]) -> None:
    from .models import Resource

    list(
        Resource.objects.select_for_update().filter(pk__in=resource_ids).order_by("pk").values("pk")
    )


def _taking_time(resource_ids: list[int], span_start: datetime, span_end: datetime):
    """Active bookings of the resources whose blocked span meets ``[span_start, span_end)``."""
    bookings = Booking.objects.filter(resource_id__in=resource_ids).filter(
        Q(status=BookingStatus.CONFIRMED) | Q(status=BookingStatus.HELD, hold_expires_at__gt=Now())
    )
    if connection.vendor == "postgresql":
        # the GiST index booking_resource_blocked serves exactly this expression
        bookings = bookings.annotate(_blocked=TsTzRange("blocked_start", "blocked_end")).filter(
            _blocked__overlap=TsTzRange(_value(span_start), _value(span_end))
        )
    else:
        bookings = bookings.filter(blocked_start__lt=span_end, blocked_end__gt=span_start)
    return bookings.order_by().values_list(  # sorted per calendar afterwards
        "resource_id", "blocked_start", "blocked_end", "seats", "exclusive", "pk"
    )


def _value(moment: datetime):
    from django.db.models import DateTimeField, Value

    return Value(moment, output_field=DateTimeField())


def available_slots(
    variant, *, start: datetime, end: datetime, resource_ids: list[int] | None = None
) -> list[tuple[Slot, object]]:
    """The free slots of a service variant starting in ``[start, end)`` (at most 62 days), over
    the resources that deliver it (or those of ``resource_ids``), by start then resource:
    ``(slot, resource)`` pairs."""
    from django.core.exceptions import ValidationError
    from django.utils import timezone

    from apps.core.errors import CoreErrorCode

    if end <= start:
        raise ValidationError("The end must come after the start.", code=CoreErrorCode.INVALID)
    if end - start > MAX_WINDOW:
        raise ValidationError(
            f"Ask for at most {MAX_WINDOW.days} days of slots at once.", code=CoreErrorCode.INVALID
        )
    service = getattr(variant.product, "service_settings", None)
    if service is None or not variant.duration_minutes:
        return []
    rules = Rules.of(service, variant.duration_minutes)
    now = timezone.now()
    found = []
    for calendar in calendar_data(
        resource_ids, settings=service, start=start, end=end, rules=rules
    ):
        found += [
            (slot, calendar.resource)
            for slot in slots(calendar, rules, start=start, end=end, now=now)
        ]
    found.sort(key=lambda pair: (pair[0].start, pair[0].resource_id))
    return found


__all__ = [
    "ACTIVE_STATUSES",
    "MAX_WINDOW",
    "Calendar",
    "Rules",
    "Slot",
    "calendar_data",
    "slot_problem",
    "slots",
]
