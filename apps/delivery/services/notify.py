"""What a delivery's people hear, once its change commits: its followers (the order's buyer,
staff, the agent) that it changed; the buyer the code of each attempt and a missed attempt;
the agent a delivery given to them or cancelled."""

from apps.core.events import Event, publish
from apps.core.tasks import enqueue_on_commit
from apps.notifications.models import Notification
from apps.notifications.services import notification_create, user_group
from apps.orders.models import Order
from apps.orders.services import order_group

from .. import tasks
from ..models import Delivery

STAFF_GROUP = "deliveries"


def delivery_group(delivery_id: int) -> str:
    return f"delivery:{delivery_id}"


def _groups(delivery: Delivery) -> tuple[str, ...]:
    groups = [delivery_group(delivery.pk), order_group(delivery.order_id), STAFF_GROUP]
    if delivery.agent_id:
        groups.append(user_group(delivery.agent.user_id))
    return tuple(groups)


def delivery_changed(delivery: Delivery) -> None:
    publish(
        Event(
            type="delivery.updated",
            groups=_groups(delivery),
            payload={
                "delivery_id": delivery.pk,
                "order_id": delivery.order_id,
                "status": delivery.status,
            },
        )
    )


def location_changed(delivery: Delivery) -> None:
    publish(
        Event(
            type="delivery.location",
            groups=(delivery_group(delivery.pk), order_group(delivery.order_id), STAFF_GROUP),
            payload={
                "delivery_id": delivery.pk,
                "order_id": delivery.order_id,
                "latitude": delivery.latitude,
                "longitude": delivery.longitude,
            },
        )
    )


def _order_path(order: Order) -> str:
    return f"/orders/{order.number}"


def send_code(delivery: Delivery, code: str) -> None:
    """The buyer's code for this attempt, by email and (for a customer) in the app."""
    order = delivery.order
    if order.user_id:
        notification_create(
            user_id=order.user_id,
            kind=Notification.Kind.DELIVERY_ON_THE_WAY,
            title="Your order is on its way",
            body=f"{delivery.agent.first_name} is bringing order {order.number}. Give them the "
            f"code {code} when they arrive.",
            target=delivery,
            path=_order_path(order),
        )
    enqueue_on_commit(tasks.send_delivery_code, delivery.pk, delivery.attempts, code)


def tell_buyer_failed(delivery: Delivery) -> None:
    order = delivery.order
    if order.user_id:
        notification_create(
            user_id=order.user_id,
            kind=Notification.Kind.DELIVERY_FAILED,
            title="We missed you",
            body=f"We could not deliver order {order.number} "
            f"({delivery.get_failure_reason_display().lower()}). We will be in touch.",
            target=delivery,
            path=_order_path(order),
        )


def tell_agent_assigned(delivery: Delivery) -> None:
    order = delivery.order
    notification_create(
        user_id=delivery.agent.user_id,
        kind=Notification.Kind.DELIVERY_ASSIGNED,
        title="A delivery for you",
        body=f"Order {order.number}, to {(order.shipping_address or {}).get('city', '')}.",
        target=delivery,
    )


def tell_agent_cancelled(delivery: Delivery, order: Order) -> None:
    notification_create(
        user_id=delivery.agent.user_id,
        kind=Notification.Kind.DELIVERY_CANCELLED,
        title="Delivery cancelled",
        body=f"Order {order.number} was cancelled: bring its goods back to the shop.",
        target=delivery,
    )
