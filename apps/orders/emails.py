"""The order emails: the confirmation, and a message for each status change worth one."""

from django.conf import settings

from apps.bookings import ics
from apps.core.emails import send_templated_email

from .messages import status_message
from .models import Order


def _order(order_id: int) -> Order | None:
    return Order.objects.filter(pk=order_id).prefetch_related("lines").first()


def order_url(order: Order) -> str:
    return settings.ORDER_URL_TEMPLATE.replace("{token}", str(order.token))


def _context(order: Order) -> dict:
    return {
        "order": order,
        "lines": list(order.lines.all()),
        "currency": order.currency,
        "order_url": order_url(order),
    }


def send_order_confirmation(*, order_id: int) -> None:
    """The confirmation; with the calendar invitation of every slot the order booked."""
    order = _order(order_id)
    if order is None:
        return
    bookings = list(order.bookings.select_related("resource").order_by("start", "pk"))
    send_templated_email(
        template="orders/emails/order_confirmation",
        to=[order.email],
        context={**_context(order), "bookings": bookings},
        key=f"order_confirmation.{order.pk}",
        attachments=[ics.attachment(bookings)] if bookings else [],
    )


def send_order_status_email(*, order_id: int, status: str) -> None:
    order = _order(order_id)
    if order is None:
        return
    # The status this message is about: the order may have moved on since.
    message = status_message(order, status)
    send_templated_email(
        template="orders/emails/order_status",
        to=[order.email],
        context={
            **_context(order),
            "status": status,
            "status_label": message.label,
            "title": message.title,
            "message": message.body,
        },
        key=f"order_status.{order.pk}.{status.lower()}",
    )
