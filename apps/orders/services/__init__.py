"""Every write of orders: checkout, the state machine and what it releases, the messages."""

from .checkout import buyer_key, checkout_complete, shipping_for
from .notify import notify_order_placed, notify_order_status, order_changed, order_group
from .status import order_advance, order_cancel, order_release, order_return, order_transition

__all__ = [
    "buyer_key",
    "checkout_complete",
    "notify_order_placed",
    "notify_order_status",
    "order_advance",
    "order_cancel",
    "order_changed",
    "order_group",
    "order_release",
    "order_return",
    "order_transition",
    "shipping_for",
]
