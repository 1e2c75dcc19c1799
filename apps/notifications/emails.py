from django.conf import settings

from apps.core.emails import send_templated_email
from apps.orders.models import Order, OrderStatus

from .models import STATUS_MESSAGES


def _order(order_id: int) -> Order | None:
    return Order.objects.filter(pk=order_id).prefetch_related("lines").first()


def _context(order: Order) -> dict:
    return {
        "order": order,
        "lines": list(order.lines.all()),
        "currency": order.currency,
        "order_url": settings.ORDER_URL_TEMPLATE.replace("{token}", str(order.token)),
    }


def send_order_confirmation(*, order_id: int) -> None:
    order = _order(order_id)
    if order is None:
        return
    send_templated_email(
        template="notifications/emails/order_confirmation",
        to=[order.email],
        context=_context(order),
    )


def send_order_status_email(*, order_id: int, status: str) -> None:
    order = _order(order_id)
    if order is None:
        return
    title, body = STATUS_MESSAGES[status]
    send_templated_email(
        template="notifications/emails/order_status",
        to=[order.email],
        context={
            **_context(order),
            "status": status,
            # The status this message is about: the order may have moved on since.
            "status_label": OrderStatus(status).label,
            "title": title,
            "message": body.format(number=order.number),
        },
    )
