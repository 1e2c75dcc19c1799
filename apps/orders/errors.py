from enum import StrEnum


class OrderErrorCode(StrEnum):
    INVALID_TRANSITION = "invalid_transition"
    PRICE_CHANGED = "price_changed"
