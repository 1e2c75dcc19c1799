"""The back office of bookings: resources and their hours, how services are booked, and the
calendar of bookings. Every write goes through ``apps.bookings.services``: the admin has no rule
of its own, and a booking changes only through its actions."""

import copy
from datetime import date, datetime, time, timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.catalog.models import ProductKind

from . import services
from .models import (
    Booking,
    BookingEvent,
    BookingStatus,
    Resource,
    ServiceSettings,
    TimeOff,
    WeeklyHours,
)
from .services.resources import Opening

# --- Inline rows written by a service ------------------------------------------------------------


class _DryRun(Exception):
    """Rolls back a service call made only to hear its verdict."""


class ServiceFormSet(forms.BaseInlineFormSet):
    """Inline rows that a service writes as a whole (``apply``). ``clean`` runs it in a savepoint
    that is rolled back, so the service's refusals show on the form instead of failing the save;
    ``save`` runs it for real."""

    def apply(self) -> None:  # pragma: no cover - each formset says what it writes
        raise NotImplementedError

    def kept(self) -> list[forms.ModelForm]:
        """The forms of the rows the resource keeps or gains (filled, not marked deleted)."""
        return [
            form for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]

    def changed(self) -> bool:
        # A row marked deleted counts even where existing rows are view-only (time off), whose
        # forms then report no change.
        return self.has_changed() or any(self._should_delete_form(f) for f in self.initial_forms)

    def clean(self) -> None:
        super().clean()
        if any(self.errors) or not self.changed():
            return
        try:
            with transaction.atomic():
                self.apply()
                raise _DryRun
        except _DryRun:
            pass
        except ValidationError as error:
            raise forms.ValidationError(error.messages) from None

    def save(self, commit: bool = True) -> list:
        rows = self.model.objects.filter(resource=self.instance)
        before = list(rows)
        if self.changed():
            self.apply()
        after = list(rows)
        # What the admin's history message reports (ModelAdmin.construct_change_message).
        self.new_objects = [row for row in after if row not in before]
        self.deleted_objects = [row for row in before if row not in after]
        self.changed_objects = []
        return self.new_objects


class WeeklyHoursFormSet(ServiceFormSet):
    def apply(self) -> None:
        services.resource_weekly_hours_set(
            resource=self.instance,
            hours=[
                Opening(
                    weekday=form.cleaned_data["weekday"],
                    start=form.cleaned_data["start"].isoformat(),
                    end=form.cleaned_data["end"].isoformat(),
                )
                for form in self.kept()
            ],
        )


class TimeOffFormSet(ServiceFormSet):
    def apply(self) -> None:
        for form in self.initial_forms:
            if form.cleaned_data.get("DELETE"):
                # A copy: deleting clears the pk of the object deleted, and the dry run of
                # clean() must leave the form's instance as it was for save().
                services.resource_time_off_delete(time_off=copy.copy(form.instance))
        for form in self.kept():
            if form.instance.pk is None:
                services.resource_time_off_create(
                    resource=self.instance,
                    start=form.cleaned_data["start"],
                    end=form.cleaned_data["end"],
                    reason=form.cleaned_data.get("reason", ""),
                )


class WeeklyHoursInline(admin.TabularInline):
    """Replaced as a whole by ``resource_weekly_hours_set`` (which refuses overlapping ranges)."""

    model = WeeklyHours
    formset = WeeklyHoursFormSet
    extra = 0
    fields = ["weekday", "start", "end"]


class TimeOffInline(admin.TabularInline):
    """Added and removed through the services; a time off is not edited (remove it, add another)."""

    model = TimeOff
    formset = TimeOffFormSet
    extra = 0
    fields = ["start", "end", "reason"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Resource)
class ResourceAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "time_zone", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [WeeklyHoursInline, TimeOffInline]

    def get_inlines(self, request, obj):
        # Hours and time off belong to a resource that exists: add them once it is saved.
        return self.inlines if obj is not None else []

    def save_model(self, request, obj, form, change) -> None:
        values = {
            "name": obj.name,
            "kind": obj.kind,
            "time_zone": obj.time_zone,
            "is_active": obj.is_active,
        }
        if change:
            saved = services.resource_update(resource=obj, **values)
        else:
            saved = services.resource_create(**values)
        obj.pk, obj.created_at, obj.updated_at = saved.pk, saved.created_at, saved.updated_at
        obj._state.adding = False


# --- How a service is booked ---------------------------------------------------------------------

SETTINGS_VALUES = [
    "buffer_before_minutes",
    "buffer_after_minutes",
    "slot_interval_minutes",
    "minimum_notice_minutes",
    "maximum_advance_days",
    "seats_per_slot",
    "cancellation_window_hours",
]


@admin.register(ServiceSettings)
class ServiceSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "product",
        "slot_interval_minutes",
        "buffer_before_minutes",
        "buffer_after_minutes",
        "seats_per_slot",
        "cancellation_window_hours",
    ]
    list_select_related = ["product"]
    search_fields = ["product__name", "product__slug"]
    filter_horizontal = ["resources"]
    fields = ["product", *SETTINGS_VALUES, "resources"]

    def get_readonly_fields(self, request, obj=None):
        return ["product"] if obj is not None else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "product":
            from apps.catalog.models import Product

            kwargs["queryset"] = Product.objects.filter(
                kind=ProductKind.SERVICE, service_settings__isnull=True
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change) -> None:
        saved = services.service_settings_set(
            product=obj.product,
            values={name: getattr(obj, name) for name in SETTINGS_VALUES},
            resources=list(form.cleaned_data["resources"]),
        )
        obj.pk = saved.pk
        obj._state.adding = False

    def save_related(self, request, form, formsets, change) -> None:
        # The resources were set by the service in save_model.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


# --- The calendar of bookings --------------------------------------------------------------------


def _midnight(day: date, zone) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def day_span(value: str | None, *, now: datetime | None = None) -> tuple[datetime, datetime] | None:
    """``[start, end)`` of "today", "tomorrow" or "this week" (ISO: Monday to Sunday) in the
    shop's time zone (``SHOP_TIME_ZONE``), from local midnight to local midnight."""
    zone = timezone.get_default_timezone()
    today = timezone.localdate(now or timezone.now(), zone)
    if value == "today":
        first, days = today, 1
    elif value == "tomorrow":
        first, days = today + timedelta(days=1), 1
    elif value == "week":
        first, days = today - timedelta(days=today.weekday()), 7
    else:
        return None
    return _midnight(first, zone), _midnight(first + timedelta(days=days), zone)


class DayFilter(admin.SimpleListFilter):
    """The bookings that start today, tomorrow or this week, in the shop's time zone."""

    title = "day"
    parameter_name = "day"

    def lookups(self, request, model_admin):
        return [("today", "Today"), ("tomorrow", "Tomorrow"), ("week", "This week")]

    def queryset(self, request, queryset):
        span = day_span(self.value())
        if span is None:
            return queryset
        return queryset.filter(start__gte=span[0], start__lt=span[1])


class BookingEventInline(admin.TabularInline):
    model = BookingEvent
    extra = 0
    fields = ["created_at", "type", "from_status", "to_status", "start", "end", "note", "actor"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


def _label(booking: Booking) -> str:
    start = timezone.localtime(booking.start)
    return f"{booking.product_name} {start:%Y-%m-%d %H:%M} with {booking.resource_name}"


def _run(modeladmin, request, queryset, change, done: str) -> None:
    """Call ``change(booking)`` (one service call) for each booking; report each outcome."""
    for booking in queryset.order_by("start", "pk"):
        try:
            change(booking)
        except ValidationError as error:
            modeladmin.message_user(
                request, f"{_label(booking)}: {' '.join(error.messages)}", messages.ERROR
            )
        else:
            modeladmin.message_user(request, f"{_label(booking)}: {done}.", messages.SUCCESS)


@admin.action(description="Cancel selected bookings", permissions=["change"])
def cancel_bookings(modeladmin, request, queryset) -> None:
    _run(
        modeladmin,
        request,
        queryset,
        lambda booking: services.booking_cancel(
            booking=booking, actor=request.user, reason="Cancelled in the admin.", as_staff=True
        ),
        "cancelled",
    )


def _status_action(status: str, done: str, description: str):
    def action(modeladmin, request, queryset) -> None:
        _run(
            modeladmin,
            request,
            queryset,
            lambda booking: services.booking_status_update(
                booking=booking, status=status, actor=request.user, note="Marked in the admin."
            ),
            done,
        )

    action.__name__ = f"mark_{status.lower()}"
    return admin.action(description=description, permissions=["change"])(action)


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    list_display = ["start", "end", "resource", "product", "status", "seats", "order_number"]
    list_filter = ["status", DayFilter, "resource"]
    date_hierarchy = "start"
    search_fields = ["product_name", "variant_name", "order__number", "order__email", "user__email"]
    list_select_related = ["resource", "order"]
    ordering = ["start", "id"]
    inlines = [BookingEventInline]
    # Everything a booking holds is the services' to write.
    readonly_fields = [
        "status",
        "product_name",
        "variant_name",
        "variant",
        "resource",
        "resource_name",
        "start",
        "end",
        "blocked_start",
        "blocked_end",
        "seats",
        "exclusive",
        "hold_expires_at",
        "order",
        "order_line",
        "cart_line",
        "user",
        "sequence",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["status", "product_name", "variant_name", "variant", "seats"]}),
        ("When and who", {"fields": ["start", "end", "resource", "resource_name"]}),
        (
            "Held time",
            {"fields": ["blocked_start", "blocked_end", "exclusive", "hold_expires_at"]},
        ),
        ("Sale", {"fields": ["order", "order_line", "cart_line", "user"]}),
        ("History", {"fields": ["sequence", "created_at", "updated_at"]}),
    ]
    actions = [
        cancel_bookings,
        _status_action(BookingStatus.COMPLETED, "marked completed", "Mark selected completed"),
        _status_action(BookingStatus.NO_SHOW, "marked no-show", "Mark selected no-show"),
    ]

    @admin.display(description="product", ordering="product_name")
    def product(self, booking: Booking) -> str:
        return booking.product_name

    @admin.display(description="order", ordering="order__number")
    def order_number(self, booking: Booking) -> str:
        return booking.order.number if booking.order_id else "-"

    def has_add_permission(self, request) -> bool:
        return False  # bookings come from carts and checkout

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # cancel instead: the history stays

    def has_change_permission(self, request, obj=None) -> bool:
        # The list's actions need the permission; a booking's page is read-only.
        return obj is None and super().has_change_permission(request)
