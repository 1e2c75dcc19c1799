from enum import StrEnum


class BookingErrorCode(StrEnum):
    SLOT_UNAVAILABLE = "slot_unavailable"  # taken, held, or closed (outside the hours, time off)
    SLOT_INVALID = "slot_invalid"  # off the interval grid
    TOO_SOON = "too_soon"  # in the past, or inside the minimum notice
    TOO_FAR = "too_far"  # beyond the maximum advance
    SLOT_REQUIRED = "slot_required"  # a service variant added without a slot
    CANCELLATION_WINDOW_PASSED = "cancellation_window_passed"
    INVALID_TRANSITION = "invalid_transition"  # a status change the booking cannot make
