"""The order's life after checkout: moves along the state machine, and what they release."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.core.validation import clean_text
from apps.payments import services as payment_services

from .. import lines as line_kinds
from ..errors import OrderErrorCode
from ..models import CUSTOMER_CANCELLABLE, Order, OrderEvent, OrderStatus
from .notify import notify_order_status


def _refusal(field: str | None, message: str) -> ValidationError:
    error = ValidationError(message, code=OrderErrorCode.INVALID_TRANSITION)
    return ValidationError({field: error}) if field else error


@transaction.atomic(savepoint=False)  # part of the caller's transaction
def order_release(*, order: Order, why: line_kinds.Release, actor=None) -> None:
    """Give back what the order took, kind by kind: stock on a cancel or a return, bookings."""
    reason = {
        line_kinds.Release.CANCEL: f"Order {order.number} cancelled",
        line_kinds.Release.REFUND: f"Order {order.number} refunded",
        line_kinds.Release.RETURN: f"Order {order.number} returned",
    }[why]
    for kind, lines in line_kinds.by_kind(order.lines.all()):
        kind.release(lines, why=why, reason=reason, actor=actor)


@transaction.atomic
def order_transition(*, order: Order, status: str, actor=None, note: str = "") -> Order:
    """Move the order along the state machine, with its side effects, event and messages."""
    note = clean_text(note, field="note")
    order = Order.objects.select_for_update().get(pk=order.pk)
    previous = order.status
    if status not in order.next_statuses:
        raise _refusal("status", f"An order cannot go from {previous} to {status}.")
    payment = getattr(order, "payment", None)
    if status == OrderStatus.CANCELLED:
        order_release(order=order, why=line_kinds.Release.CANCEL, actor=actor)
        if payment:
            payment_services.payment_refund(payment=payment)
    elif status == OrderStatus.PAID:
        order.paid_at = timezone.now()
        if payment:
            payment_services.payment_capture(payment=payment)
    elif status == OrderStatus.REFUNDED:
        order_release(order=order, why=line_kinds.Release.REFUND, actor=actor)
        if payment:
            payment_services.payment_refund(payment=payment)
    order.status = status
    order.save(update_fields=["status", "paid_at", "updated_at"])
    OrderEvent.objects.create(
        order=order,
        type=(
            OrderEvent.Type.CANCELLED
            if status == OrderStatus.CANCELLED
            else OrderEvent.Type.STATUS_CHANGED
        ),
        from_status=previous,
        to_status=status,
        note=note,
        actor=actor,
    )
    notify_order_status(order=order)
    return order


@transaction.atomic
def order_cancel(*, order: Order, actor, reason: str = "", as_staff: bool = False) -> Order:
    """Cancel an order: customers their own PENDING or PAID ones; staff any cancellable one."""
    reason = clean_text(reason, field="reason")
    order = Order.objects.select_for_update().get(pk=order.pk)
    if not as_staff and order.status not in CUSTOMER_CANCELLABLE:
        raise _refusal(None, "This order can no longer be cancelled; contact us for a return.")
    if OrderStatus.CANCELLED not in order.next_statuses:
        # orderCancel has no `status` argument: the refusal is about the whole order.
        raise _refusal(None, f"An order cannot go from {order.status} to {OrderStatus.CANCELLED}.")
    return order_transition(order=order, status=OrderStatus.CANCELLED, actor=actor, note=reason)
