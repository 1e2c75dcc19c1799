"""Resources, their hours, the services they deliver, and the bookings that hold them.

A service is a product of kind SERVICE (``apps.catalog``); its ``ServiceSettings`` say how it is
booked, and each of its variants lasts ``duration_minutes``. A ``Booking`` holds one resource
for ``[start, end)``, and keeps it free of other bookings for ``[blocked_start, blocked_end)``:
the span widened by the service's buffers. Times are stored in UTC; hours are local wall-clock
times in the resource's time zone.
"""

from datetime import timedelta
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.contrib.postgres.fields import RangeOperators
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now

from apps.core.models import TimeStampedModel

from .constraints import PostgresExclusionConstraint
from .ranges import TsTzRange


def validate_time_zone(value: str) -> None:
    if value not in _time_zones():
        raise ValidationError("Enter an IANA time zone, such as Europe/Paris.", code="invalid")


_ZONES: set[str] = set()


def _time_zones() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return _ZONES


class Resource(TimeStampedModel):
    """Who or what delivers a service: a stylist, a room, a piece of equipment."""

    class Kind(models.TextChoices):
        STAFF = "STAFF", "Staff"
        ROOM = "ROOM", "Room"
        EQUIPMENT = "EQUIPMENT", "Equipment"

    name = models.CharField(max_length=128)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.STAFF)
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["STAFF", "ROOM", "EQUIPMENT"]), name="resource_kind_known"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class WeeklyHours(models.Model):
    """A range of opening hours on one weekday, in the resource's local time."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="weekly_hours")
    weekday = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(7)], help_text="ISO: 1 is Monday."
    )
    start = models.TimeField()
    end = models.TimeField()

    class Meta:
        ordering = ["resource", "weekday", "start"]
        verbose_name_plural = "weekly hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(weekday__gte=1, weekday__lte=7), name="weekly_hours_weekday"
            ),
            models.CheckConstraint(condition=Q(start__lt=F("end")), name="weekly_hours_order"),
        ]

    def __str__(self) -> str:
        return f"{self.resource} {self.weekday} {self.start:%H:%M}-{self.end:%H:%M}"


class TimeOff(models.Model):
    """A dated exception: the resource takes no booking in ``[start, end)``."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="time_off")
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["resource", "start"]
        verbose_name_plural = "time off"
        constraints = [
            models.CheckConstraint(condition=Q(start__lt=F("end")), name="time_off_order"),
        ]
        indexes = [models.Index(fields=["resource", "start"], name="time_off_resource_start")]

    def __str__(self) -> str:
        return f"{self.resource} off {self.start:%Y-%m-%d %H:%M}"


class ServiceSettings(models.Model):
    """How a service is booked. One per product of kind SERVICE."""

    product = models.OneToOneField(
        "catalog.Product", on_delete=models.CASCADE, related_name="service_settings"
    )
    buffer_before_minutes = models.PositiveIntegerField(
        default=0, validators=[MaxValueValidator(240)]
    )
    buffer_after_minutes = models.PositiveIntegerField(
        default=0, validators=[MaxValueValidator(240)]
    )
    slot_interval_minutes = models.PositiveIntegerField(
        default=15, validators=[MinValueValidator(5), MaxValueValidator(24 * 60)]
    )
    minimum_notice_minutes = models.PositiveIntegerField(
        default=60, validators=[MaxValueValidator(30 * 24 * 60)]
    )
    maximum_advance_days = models.PositiveIntegerField(
        default=90, validators=[MinValueValidator(1), MaxValueValidator(730)]
    )
    seats_per_slot = models.PositiveIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )
    cancellation_window_hours = models.PositiveIntegerField(
        default=24, validators=[MaxValueValidator(24 * 30)]
    )
    resources = models.ManyToManyField(Resource, related_name="services", blank=True)

    class Meta:
        verbose_name_plural = "service settings"
        constraints = [
            models.CheckConstraint(condition=Q(seats_per_slot__gte=1), name="service_seats"),
            models.CheckConstraint(
                condition=Q(slot_interval_minutes__gte=5), name="service_slot_interval"
            ),
        ]

    def __str__(self) -> str:
        return f"settings of {self.product_id}"

    @property
    def buffer_before(self) -> timedelta:
        return timedelta(minutes=self.buffer_before_minutes)

    @property
    def buffer_after(self) -> timedelta:
        return timedelta(minutes=self.buffer_after_minutes)


class BookingStatus(models.TextChoices):
    HELD = "HELD", "Held in a cart"
    CONFIRMED = "CONFIRMED", "Confirmed"
    COMPLETED = "COMPLETED", "Completed"
    CANCELLED = "CANCELLED", "Cancelled"
    EXPIRED = "EXPIRED", "Expired"
    NO_SHOW = "NO_SHOW", "No-show"


# Bookings that take their resource's time (a hold past its expiry still does, until it is
# marked EXPIRED: that happens in the transaction of the booking that needs its time).
ACTIVE_STATUSES = (BookingStatus.HELD, BookingStatus.CONFIRMED)


class BookingQuerySet(models.QuerySet["Booking"]):
    def taking_time(self) -> "BookingQuerySet":
        """Bookings that take their time now: confirmed, or held and not expired."""
        return self.filter(
            Q(status=BookingStatus.CONFIRMED)
            | Q(status=BookingStatus.HELD, hold_expires_at__gt=Now())
        )

    def overlapping(self, start, end) -> "BookingQuerySet":
        """Bookings whose blocked span meets ``[start, end)``."""
        return self.filter(blocked_start__lt=end, blocked_end__gt=start)


class Booking(TimeStampedModel):
    """One resource held for one span of time: in a cart (HELD), then sold (CONFIRMED)."""

    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="bookings")
    variant = models.ForeignKey(
        "catalog.ProductVariant",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="bookings",
    )
    product_name = models.CharField(max_length=255)
    variant_name = models.CharField(max_length=255, blank=True)
    resource_name = models.CharField(max_length=128)
    start = models.DateTimeField()
    end = models.DateTimeField()
    blocked_start = models.DateTimeField(help_text="The start, less the buffer before.")
    blocked_end = models.DateTimeField(help_text="The end, plus the buffer after.")
    seats = models.PositiveIntegerField(default=1)
    # One seat per slot (a haircut): no other booking may overlap it on its resource, which
    # PostgreSQL enforces. Several (a class): the seats are counted under the resource's lock.
    exclusive = models.BooleanField(default=True)
    status = models.CharField(
        max_length=16, choices=BookingStatus.choices, default=BookingStatus.HELD, db_index=True
    )
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    # The cart line holding it (until checkout, or until the line lets it go), then the order.
    cart_line = models.OneToOneField(
        "cart.CartLine", null=True, blank=True, on_delete=models.SET_NULL, related_name="booking"
    )
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="bookings"
    )
    order_line = models.OneToOneField(
        "orders.OrderLine",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="booking",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="bookings",
    )
    # Incremented on every change of time: the calendar invitation's SEQUENCE.
    sequence = models.PositiveIntegerField(default=0)

    objects = BookingQuerySet.as_manager()

    class Meta:
        ordering = ["start", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(start__lt=F("end")), name="booking_span_order"),
            models.CheckConstraint(
                condition=Q(blocked_start__lte=F("start"), blocked_end__gte=F("end")),
                name="booking_blocked_covers_span",
            ),
            models.CheckConstraint(condition=Q(seats__gte=1), name="booking_seats_positive"),
            models.CheckConstraint(
                condition=Q(status="HELD", hold_expires_at__isnull=False) | ~Q(status="HELD"),
                name="booking_hold_expires",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[status.value for status in BookingStatus]),
                name="booking_status_known",
            ),
            # No double booking: two active bookings of one-seat services never overlap on a
            # resource, buffers included.
            PostgresExclusionConstraint(
                name="booking_no_overlap",
                expressions=[
                    ("resource", RangeOperators.EQUAL),
                    (TsTzRange("blocked_start", "blocked_end"), RangeOperators.OVERLAPS),
                ],
                condition=Q(status__in=["HELD", "CONFIRMED"], exclusive=True),
            ),
        ]
        indexes = [
            models.Index(fields=["resource", "blocked_start"], name="booking_resource_start"),
            # The reports: bookings that end after the start of a range (utilisation).
            models.Index(fields=["end"], name="booking_end"),
            models.Index(
                fields=["status", "hold_expires_at"],
                condition=Q(status="HELD"),
                name="booking_held_expiry",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resource_name} {self.start:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def resource_zone(self) -> ZoneInfo:
        return ZoneInfo(self.resource.time_zone)

    @property
    def is_expired_hold(self) -> bool:
        from django.utils import timezone

        return self.status == BookingStatus.HELD and self.hold_expires_at <= timezone.now()


class BookingEvent(models.Model):
    """The audit trail of a booking: every change, with who and why."""

    class Type(models.TextChoices):
        HELD = "HELD", "Held"
        CONFIRMED = "CONFIRMED", "Confirmed"
        RESCHEDULED = "RESCHEDULED", "Rescheduled"
        CANCELLED = "CANCELLED", "Cancelled"
        RELEASED = "RELEASED", "Released from the cart"
        EXPIRED = "EXPIRED", "Expired"
        COMPLETED = "COMPLETED", "Completed"
        NO_SHOW = "NO_SHOW", "No-show"
        SEATS_CHANGED = "SEATS_CHANGED", "Seats changed"

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=16, choices=Type.choices)
    from_status = models.CharField(max_length=16, choices=BookingStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=BookingStatus.choices, blank=True)
    start = models.DateTimeField(null=True, blank=True, help_text="The span after the change.")
    end = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.booking_id} {self.type}"
