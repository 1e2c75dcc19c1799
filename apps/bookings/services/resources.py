"""Staff writes of the calendar: resources, their weekly hours and time off, and how each
service is booked."""

import itertools
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.core.errors import CoreErrorCode
from apps.core.validation import clean_text, full_clean

from ..models import Resource, ServiceSettings, TimeOff, WeeklyHours

_UNSET: Any = object()


def _error(field: str, message: str, code: str = CoreErrorCode.INVALID) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


@transaction.atomic
def resource_create(*, name: str, kind: str, time_zone: str, is_active: bool = True) -> Resource:
    resource = Resource(
        name=(name or "").strip(),
        kind=kind,
        time_zone=(time_zone or "").strip(),
        is_active=is_active,
    )
    full_clean(resource)
    resource.save()
    return resource


@transaction.atomic
def resource_update(
    *,
    resource: Resource,
    name: str | None = None,
    kind: str | None = None,
    time_zone: str | None = None,
    is_active: bool | None = None,
) -> Resource:
    """Change a resource; a new time zone keeps the wall-clock hours (09:00 stays 09:00)."""
    resource = Resource.objects.select_for_update().get(pk=resource.pk)
    if name is not None:
        resource.name = name.strip()
    if kind is not None:
        resource.kind = kind
    if time_zone is not None:
        resource.time_zone = time_zone.strip()
    if is_active is not None:
        resource.is_active = is_active
    full_clean(resource)
    resource.save()
    return resource


@dataclass(frozen=True)
class Opening:
    weekday: int
    start: str  # "09:00", local wall-clock time
    end: str


def _parse_time(value: str, field: str) -> time:
    try:
        parsed = time.fromisoformat((value or "").strip())
    except ValueError:
        raise _error(field, "Give a time as HH:MM, such as 09:00.") from None
    if parsed.second or parsed.microsecond or parsed.tzinfo:
        raise _error(field, "Give a time as HH:MM, such as 09:00.")
    return parsed


@transaction.atomic
def resource_weekly_hours_set(*, resource: Resource, hours: list[Opening]) -> Resource:
    """Replace the resource's weekly hours; ranges of one day may not overlap."""
    resource = Resource.objects.select_for_update().get(pk=resource.pk)
    rows = []
    for index, opening in enumerate(hours):
        prefix = f"hours.{index}."
        if not 1 <= opening.weekday <= 7:
            raise _error(f"{prefix}weekday", "Weekdays are ISO: 1 (Monday) to 7 (Sunday).")
        start = _parse_time(opening.start, f"{prefix}start")
        end = _parse_time(opening.end, f"{prefix}end")
        if end <= start:
            raise _error(f"{prefix}end", "A range ends after it starts (on the same day).")
        rows.append(WeeklyHours(resource=resource, weekday=opening.weekday, start=start, end=end))
    by_day: dict[int, list[WeeklyHours]] = {}
    for row in rows:
        by_day.setdefault(row.weekday, []).append(row)
    for day in by_day.values():
        day.sort(key=lambda row: row.start)
        for before, after in itertools.pairwise(day):
            if after.start < before.end:
                raise _error("hours", f"Two ranges overlap on weekday {after.weekday}.")
    resource.weekly_hours.all().delete()
    WeeklyHours.objects.bulk_create(rows)
    return resource


@transaction.atomic
def resource_time_off_create(
    *, resource: Resource, start: datetime, end: datetime, reason: str = ""
) -> TimeOff:
    """Take the resource off for ``[start, end)``. Bookings already made stay (staff move or
    cancel them); no new one is taken there."""
    reason = clean_text(reason, field="reason", max_length=255)
    start, end = (timezone.make_aware(d) if timezone.is_naive(d) else d for d in (start, end))
    if end <= start:
        raise _error("end", "Time off ends after it starts.")
    time_off = TimeOff(resource=resource, start=start, end=end, reason=reason)
    time_off.save()
    return time_off


@transaction.atomic
def resource_time_off_delete(*, time_off: TimeOff) -> Resource:
    resource = time_off.resource
    time_off.delete()
    return resource


_SETTINGS_FIELDS = (
    "buffer_before_minutes",
    "buffer_after_minutes",
    "slot_interval_minutes",
    "minimum_notice_minutes",
    "maximum_advance_days",
    "seats_per_slot",
    "cancellation_window_hours",
)


@transaction.atomic
def service_settings_set(
    *, product, values: dict[str, Any], resources: list[Resource] | None = None, prefix: str = ""
) -> ServiceSettings:
    """Create or change how a service is booked: the given values, and the resources that
    deliver it when ``resources`` is given."""
    settings, _ = ServiceSettings.objects.get_or_create(product=product)
    for name in _SETTINGS_FIELDS:
        value = values.get(name)
        if value is not None:
            setattr(settings, name, value)
    full_clean(settings, exclude=["product"], prefix=prefix)
    settings.save()
    if resources is not None:
        settings.resources.set(resources)
    return settings
