"""The order's life after checkout: moves along the state machine, and what they release."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.core.validation import clean_text
from apps.payments import services as payment_services

from .. import hooks as order_hooks
from .. import lines as line_kinds
from ..errors import OrderErrorCode
from ..models import CUSTOMER_CANCELLABLE, Order, OrderEvent, OrderStatus, next_statuses
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
    elif status == OrderStatus.PAID or (
        # Cash on delivery: paid to the courier as it is delivered.
        status == OrderStatus.DELIVERED and order.pays_on_delivery and not order.paid_at
    ):
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
    order_hooks.status_changed(order, previous, actor)
    notify_order_status(order=order)
    return order


@transaction.atomic
def order_advance(*, order: Order, to: str, actor=None, note: str = "") -> Order:
    """Move the order to ``to`` through every status between (PROCESSING -> SHIPPED), each
    move with its event; nothing when it is there already. ``invalid_transition`` when the
    state machine has no way there that does not pay it (an unpaid card order does not ship)."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    for step in _path(order, to):
        order = order_transition(order=order, status=step, actor=actor, note=note)
    return order


# Moves order_advance never makes on the way to another status: paying, ending the order.
_NOT_ON_THE_WAY = frozenset({OrderStatus.PAID, OrderStatus.CANCELLED, OrderStatus.REFUNDED})


def _path(order: Order, to: str) -> list[str]:
    """The shortest list of moves from the order's status to ``to`` (breadth first)."""
    if order.status == to:
        return []
    options = {
        "requires_shipping": order.requires_shipping,
        "pays_on_delivery": order.pays_on_delivery,
    }
    paths, seen = [[order.status]], {order.status}
    while paths:
        path = paths.pop(0)
        for status in sorted(next_statuses(path[-1], **options)):
            if status == to:
                return [*path[1:], status]
            if status not in seen and status not in _NOT_ON_THE_WAY:
                seen.add(status)
                paths.append([*path, status])
    raise _refusal("status", f"An order cannot go from {order.status} to {to}.")


@transaction.atomic
def order_return(*, order: Order, actor=None, note: str = "") -> Order:
    """The goods came back (a delivery returned): they go back to stock; a paid order is
    refunded, an unpaid one (cash on delivery) cancelled."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    to = OrderStatus.REFUNDED if order.paid_at else OrderStatus.CANCELLED
    if to not in order.next_statuses:
        raise _refusal(None, f"An order cannot go from {order.status} to {to}.")
    if to == OrderStatus.REFUNDED:  # a refund keeps the goods out: these came back
        order_release(order=order, why=line_kinds.Release.RETURN, actor=actor)
    return order_transition(order=order, status=to, actor=actor, note=note)


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
