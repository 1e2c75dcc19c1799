"""What the buyer hears about their order: an in-app notification and, for some, an email;
and what its followers (realtime subscriptions) hear: that it changed.

All of it is written or enqueued in the order's transaction and goes out only if it commits.
"""

from apps.core.events import Event, publish
from apps.core.tasks import enqueue_on_commit
from apps.notifications.models import Notification
from apps.notifications.services import notification_create

from .. import tasks
from ..messages import EMAILED_STATUSES, STATUS_MESSAGES, status_message
from ..models import Order


def order_group(order_id: int) -> str:
    """The events group of one order (its buyer and staff follow it)."""
    return f"order:{order_id}"


def order_changed(order: Order) -> None:
    """Tell the order's followers that it changed, once the transaction commits."""
    publish(
        Event(
            type="order.updated",
            groups=(order_group(order.pk),),
            payload={"order_id": order.pk, "status": order.status},
        )
    )


def notify_order_placed(*, order: Order) -> None:
    if order.user_id:
        notification_create(
            user_id=order.user_id,
            kind=Notification.Kind.ORDER_PLACED,
            title="Order received",
            body=f"Thank you! We received order {order.number}.",
            target=order,
        )
    enqueue_on_commit(tasks.send_order_confirmation, order.pk)
    order_changed(order)


def notify_order_status(*, order: Order) -> None:
    status = order.status
    order_changed(order)
    if status not in STATUS_MESSAGES:
        return
    message = status_message(order, status)
    if order.user_id:
        notification_create(
            user_id=order.user_id,
            kind=Notification.Kind[f"ORDER_{status}"],
            title=message.title,
            body=message.body,
            target=order,
        )
    if status in EMAILED_STATUSES:
        enqueue_on_commit(tasks.send_order_status_email, order.pk, status)
