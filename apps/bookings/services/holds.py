"""Taking time: a hold placed from a cart, moved, resized, let go; a held slot taken again.

Every way of taking a resource's time goes through ``_take``, in the caller's transaction:

1. lock the candidate resources' rows, in id order (two buyers never deadlock; seats of a class
   are counted against bookings no other transaction is adding), within ``lock_timeout``;
2. mark EXPIRED the holds past their expiry that meet the span (availability already ignores
   them by their timestamp; the database's exclusion constraint does not), but not those
   their owner has locked (its checkout: waiting for them would deadlock);
3. read the calendars and take the first resource the slot fits, in a stable order;
4. write the booking: PostgreSQL's exclusion constraint refuses an overlap of one-seat
   bookings whatever happened before (``slot_unavailable``, never a 500).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from apps.core.errors import CoreErrorCode

from ..availability import Calendar, Rules, calendar_data, slot_problem
from ..errors import BookingErrorCode
from ..models import Booking, BookingEvent, BookingStatus, Resource, ServiceSettings
from .events import booking_changed

_MESSAGES = {
    BookingErrorCode.SLOT_UNAVAILABLE: "This time is no longer free: choose another slot.",
    BookingErrorCode.SLOT_INVALID: "Slots start on the service's grid: choose one of the slots "
    "`availableSlots` gives.",
    BookingErrorCode.TOO_SOON: "This slot is too soon: book it further ahead.",
    BookingErrorCode.TOO_FAR: "This slot is too far ahead to be booked yet.",
}


def slot_error(code: str, field: str | None) -> ValidationError:
    error = ValidationError(_MESSAGES[code], code=code)
    return ValidationError({field: error}) if field else error


@dataclass(frozen=True)
class Wanted:
    """A slot a buyer asks for: a service variant, a start, a resource or any, and seats."""

    variant: object  # a ProductVariant of a SERVICE product, with its product loaded
    start: datetime
    resource: Resource | None
    seats: int


def service_settings(variant) -> ServiceSettings:
    """The settings of the variant's service; ``slot_required`` style errors for goods."""
    found = ServiceSettings.objects.filter(product_id=variant.product_id).first()
    if found is None or not variant.duration_minutes:
        raise ValidationError(
            "This service cannot be booked yet (no settings or duration).",
            code=CoreErrorCode.INVALID,
        )
    return found


def _seats_field(slot_field: str | None) -> str | None:
    """Where a bad number of seats is told: the quantity beside the slot (``lines.0.slot`` ->
    ``lines.0.quantity``)."""
    if slot_field is None:
        return None
    line, _, _ = slot_field.rpartition(".")
    return f"{line}.quantity" if line else "quantity"


def _check_seats(rules: Rules, seats: int, field: str | None) -> None:
    if not 1 <= seats <= rules.seats:
        error = ValidationError(
            f"This service takes 1 to {rules.seats} seats per booking.", code=CoreErrorCode.INVALID
        )
        raise ValidationError({field: error}) if field else error


def _set_lock_timeout() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('lock_timeout', %s, true)",
                [f"{settings.BOOKING_LOCK_TIMEOUT_MS}ms"],
            )


def _expire_stale_holds(
    resource_ids: list[int], start: datetime, end: datetime, *, keep: int = 0
) -> None:
    """Mark EXPIRED the holds past their expiry that meet ``[start, end)``, but ``keep`` (the
    booking being worked on) and those another transaction has locked.

    A locked hold is skipped, not waited for: its owner is checking it out or moving it, and
    locked its row before coming for the resource's lock, which this transaction holds (waiting
    would deadlock); and once its checkout commits it is CONFIRMED, not stale. A skipped hold
    still counts for the exclusion constraint: an insert that overlaps it answers
    slot_unavailable (after its owner's transaction, if that changed it). The rows are locked
    as they are read, so the update below meets only holds that are still stale.
    """
    now = timezone.now()
    stale = list(
        Booking.objects.select_for_update(skip_locked=True)
        .filter(
            resource_id__in=resource_ids,
            status=BookingStatus.HELD,
            hold_expires_at__lte=now,
            blocked_start__lt=end,
            blocked_end__gt=start,
        )
        .exclude(pk=keep)
        .values_list("pk", flat=True)
    )
    if not stale:
        return
    Booking.objects.filter(pk__in=stale).update(status=BookingStatus.EXPIRED, updated_at=now)
    BookingEvent.objects.bulk_create(
        BookingEvent(
            booking_id=pk,
            type=BookingEvent.Type.EXPIRED,
            from_status=BookingStatus.HELD,
            to_status=BookingStatus.EXPIRED,
            note="The hold expired; another booking took its time.",
        )
        for pk in stale
    )


def _choose(
    wanted: Wanted, rules: Rules, service: ServiceSettings, *, field: str | None, ignore: int = 0
) -> tuple[Calendar, datetime, datetime]:
    """Lock and read the candidate resources; the first one the slot fits."""
    blocked_start, blocked_end = rules.blocked(wanted.start)
    ids = None if wanted.resource is None else [wanted.resource.pk]
    try:
        _set_lock_timeout()
        calendars = calendar_data(
            ids, settings=service, start=wanted.start, end=wanted.start, rules=rules, lock=True
        )
    except OperationalError as error:  # lock_timeout: too many buyers at once for this slot
        raise slot_error(BookingErrorCode.SLOT_UNAVAILABLE, field) from error
    if wanted.resource is not None and not calendars:
        # An inactive resource takes no booking: to a buyer it does not exist.
        active = Resource.objects.filter(pk=wanted.resource.pk, is_active=True).exists()
        message, code = (
            ("This resource does not offer this service.", CoreErrorCode.INVALID)
            if active
            else ("No resource found with this id.", CoreErrorCode.NOT_FOUND)
        )
        raise ValidationError(
            {f"{field}.resourceId" if field else "resourceId": ValidationError(message, code=code)}
        )
    _expire_stale_holds(
        [calendar.resource_id for calendar in calendars], blocked_start, blocked_end, keep=ignore
    )
    now = timezone.now()
    problems = []
    for calendar in calendars:
        problem = slot_problem(calendar, rules, start=wanted.start, now=now, ignore=ignore)
        if problem is None:
            if (
                calendar.seats_left(rules, blocked_start, blocked_end, ignore=ignore)
                >= wanted.seats
            ):
                return calendar, blocked_start, blocked_end
            problem = BookingErrorCode.SLOT_UNAVAILABLE
        problems.append(problem)
    # The most telling reason: a rule of time (too soon, off the grid) before "taken".
    for code in (
        BookingErrorCode.TOO_SOON,
        BookingErrorCode.TOO_FAR,
        BookingErrorCode.SLOT_INVALID,
    ):
        if code in problems:
            raise slot_error(code, field)
    raise slot_error(BookingErrorCode.SLOT_UNAVAILABLE, field)


def _write(booking: Booking, field: str | None) -> Booking:
    try:
        with transaction.atomic():
            booking.save()
    except IntegrityError as error:  # the exclusion constraint: someone took it meanwhile
        raise slot_error(BookingErrorCode.SLOT_UNAVAILABLE, field) from error
    return booking


@transaction.atomic(savepoint=False)
def hold_place(*, wanted: Wanted, cart_line, user=None, field: str | None = "slot") -> Booking:
    """Hold a slot for a cart line: a HELD booking that expires after ``BOOKING_HOLD_MINUTES``."""
    service = service_settings(wanted.variant)
    rules = Rules.of(service, wanted.variant.duration_minutes)
    _check_seats(rules, wanted.seats, _seats_field(field))
    calendar, blocked_start, blocked_end = _choose(wanted, rules, service, field=field)
    variant = wanted.variant
    booking = _write(
        Booking(
            resource_id=calendar.resource_id,
            resource_name=calendar.name,
            variant=variant,
            product_name=variant.product.name,
            variant_name=variant.name,
            start=wanted.start,
            end=wanted.start + rules.duration,
            blocked_start=blocked_start,
            blocked_end=blocked_end,
            seats=wanted.seats,
            exclusive=rules.exclusive,
            status=BookingStatus.HELD,
            hold_expires_at=timezone.now() + timedelta(minutes=settings.BOOKING_HOLD_MINUTES),
            cart_line=cart_line,
            user=user if getattr(user, "is_authenticated", False) else None,
        ),
        field,
    )
    BookingEvent.objects.create(
        booking=booking,
        type=BookingEvent.Type.HELD,
        to_status=BookingStatus.HELD,
        start=booking.start,
        end=booking.end,
        actor=booking.user,
    )
    booking_changed(booking)
    return booking


@transaction.atomic(savepoint=False)
def hold_release(*, bookings, note: str = "Removed from the cart.", actor=None) -> None:
    """Let the time of held bookings go (their cart line was removed or given another slot)."""
    held = [booking for booking in bookings if booking.status == BookingStatus.HELD]
    if not held:
        return
    Booking.objects.filter(pk__in=[b.pk for b in held]).update(
        status=BookingStatus.CANCELLED, cart_line=None, updated_at=timezone.now()
    )
    BookingEvent.objects.bulk_create(
        BookingEvent(
            booking=booking,
            type=BookingEvent.Type.RELEASED,
            from_status=BookingStatus.HELD,
            to_status=BookingStatus.CANCELLED,
            note=note,
            actor=actor,
        )
        for booking in held
    )
    for booking in held:
        booking.status = BookingStatus.CANCELLED
        booking_changed(booking)


@transaction.atomic(savepoint=False)
def hold_reseat(*, booking: Booking, seats: int, field: str = "quantity") -> Booking:
    """Change the seats a held booking takes (its cart line's quantity)."""
    variant = booking.variant
    service = service_settings(variant)
    rules = Rules.of(service, variant.duration_minutes)
    _check_seats(rules, seats, field)
    if seats > booking.seats:
        wanted = Wanted(
            variant=variant, start=booking.start, resource=booking.resource, seats=seats
        )
        _choose(wanted, rules, service, field=field, ignore=booking.pk)
    booking.seats = seats
    booking.hold_expires_at = timezone.now() + timedelta(minutes=settings.BOOKING_HOLD_MINUTES)
    booking.save(update_fields=["seats", "hold_expires_at", "updated_at"])
    BookingEvent.objects.create(
        booking=booking,
        type=BookingEvent.Type.SEATS_CHANGED,
        from_status=booking.status,
        to_status=booking.status,
        note=f"{seats} seats",
    )
    booking_changed(booking)  # a class has more or fewer seats left
    return booking


@transaction.atomic(savepoint=False)
def take_again(*, booking: Booking, field: str | None = None) -> Booking:
    """Take the slot of a hold that expired (at checkout), if it is still free.

    Its own time no longer counts (expired holds never block): the slot must be free of every
    other booking, or ``slot_unavailable``.
    """
    variant = booking.variant
    if variant is None or booking.status not in (BookingStatus.HELD, BookingStatus.EXPIRED):
        raise slot_error(BookingErrorCode.SLOT_UNAVAILABLE, field)
    service = service_settings(variant)
    rules = Rules.of(service, variant.duration_minutes)
    wanted = Wanted(
        variant=variant, start=booking.start, resource=booking.resource, seats=booking.seats
    )
    try:
        _choose(wanted, rules, service, field=field, ignore=booking.pk)
    except ValidationError as error:
        # Its resource stopped taking bookings or offering the service: the slot is gone.
        if hasattr(error, "error_dict"):
            raise slot_error(BookingErrorCode.SLOT_UNAVAILABLE, field) from error
        raise
    previous = booking.status
    booking.status = BookingStatus.HELD
    booking.hold_expires_at = timezone.now() + timedelta(minutes=settings.BOOKING_HOLD_MINUTES)
    _write(booking, field)  # an EXPIRED row becoming active again meets the constraint again
    BookingEvent.objects.create(
        booking=booking,
        type=BookingEvent.Type.HELD,
        from_status=previous,
        to_status=BookingStatus.HELD,
        start=booking.start,
        end=booking.end,
        note="The hold had expired; its slot was still free and was taken again.",
    )
    return booking
