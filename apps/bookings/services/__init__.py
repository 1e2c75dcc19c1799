"""Every write of bookings: holds, checkout, the booking's life after it, resources, settings."""

from .checkout import check_for_lines, confirm_for_lines, lock_for_lines
from .events import booking_changed, resource_group
from .holds import Wanted, hold_place, hold_release, hold_reseat, take_again
from .lifecycle import (
    booking_cancel,
    booking_reschedule,
    booking_status_update,
    order_bookings_cancel,
    schedule_reminder,
)
from .resources import (
    resource_create,
    resource_time_off_create,
    resource_time_off_delete,
    resource_update,
    resource_weekly_hours_set,
    service_settings_set,
)

__all__ = [
    "Wanted",
    "booking_cancel",
    "booking_changed",
    "booking_reschedule",
    "booking_status_update",
    "check_for_lines",
    "confirm_for_lines",
    "hold_place",
    "hold_release",
    "hold_reseat",
    "lock_for_lines",
    "order_bookings_cancel",
    "resource_create",
    "resource_group",
    "resource_time_off_create",
    "resource_time_off_delete",
    "resource_update",
    "resource_weekly_hours_set",
    "schedule_reminder",
    "service_settings_set",
    "take_again",
]
