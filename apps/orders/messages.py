"""The words the buyer reads about their order's status, in-app and by email."""

from dataclasses import dataclass

from .models import Order, OrderStatus

# Title and body of the message for each order status (body formatted with the number).
STATUS_MESSAGES = {
    OrderStatus.PAID: ("Payment received", "We received the payment for order {number}."),
    OrderStatus.PROCESSING: ("Order in preparation", "We are preparing order {number}."),
    OrderStatus.SHIPPED: ("Order shipped", "Order {number} is on its way."),
    OrderStatus.DELIVERED: ("Order delivered", "Order {number} was delivered. Enjoy!"),
    OrderStatus.CANCELLED: ("Order cancelled", "Order {number} was cancelled."),
    OrderStatus.REFUNDED: ("Order refunded", "Order {number} was refunded."),
}
# An order with nothing to ship is "delivered" when what it sold was provided: it is complete.
_NOT_SHIPPED_MESSAGES = {
    OrderStatus.DELIVERED: ("Order complete", "Order {number} is complete. Thank you!"),
}
# Statuses whose change is also emailed to the buyer.
EMAILED_STATUSES = {
    OrderStatus.PAID,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.CANCELLED,
    OrderStatus.REFUNDED,
}


@dataclass(frozen=True)
class StatusMessage:
    label: str  # the status as the buyer reads it
    title: str
    body: str


def status_message(order: Order, status: str) -> StatusMessage:
    messages = STATUS_MESSAGES if order.requires_shipping else _NOT_SHIPPED_MESSAGES
    title, body = messages.get(status) or STATUS_MESSAGES[status]
    label = "Complete" if title == "Order complete" else OrderStatus(status).label
    return StatusMessage(label=label, title=title, body=body.format(number=order.number))
