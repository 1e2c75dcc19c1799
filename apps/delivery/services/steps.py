"""A delivery's steps, each in one transaction: it moves along the state machine, writes its
event, moves its order, and tells the buyer; or it changes nothing and says why.

Locks are always taken order first, then delivery (as the order's own changes do, which reach
the delivery through the order hooks), so that a courier's step and a change of the order
never wait for each other in a cycle.
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.core.errors import CoreErrorCode
from apps.core.validation import clean_text
from apps.orders import services as order_services
from apps.orders.models import Order, OrderStatus

from .. import codes
from ..errors import DeliveryErrorCode
from ..models import (
    FINISHED,
    REASSIGNABLE,
    UNDER_WAY,
    Delivery,
    DeliveryAgent,
    DeliveryEvent,
    DeliveryStatus,
    FailureReason,
)
from . import notify

NAME_MAX_LENGTH = 128


def _refusal(message: str, code: str = DeliveryErrorCode.INVALID_TRANSITION, field=None):
    error = ValidationError(message, code=code)
    return ValidationError({field: error}) if field else error


def _not_found() -> ValidationError:
    """As for a delivery that does not exist: another agent's, or no longer this one's."""
    return ValidationError(
        {"id": ValidationError("No Delivery found with this id.", code=CoreErrorCode.NOT_FOUND)}
    )


def _locked(delivery: Delivery, *, agent: DeliveryAgent | None = None) -> Delivery:
    """``delivery`` read again under lock, its order locked first. With ``agent``: only if
    it is still theirs (another agent's, or reassigned meanwhile, is ``not_found``)."""
    Order.objects.select_for_update().filter(pk=delivery.order_id).values_list("pk").first()
    rows = Delivery.objects.select_for_update(of=("self",)).select_related("order", "agent__user")
    locked = rows.filter(pk=delivery.pk).first()
    if locked is None or (agent is not None and locked.agent_id != agent.pk):
        raise _not_found()
    return locked


def _require(delivery: Delivery, status: str) -> None:
    if status not in delivery.next_statuses:
        raise _refusal(
            f"A delivery that is {delivery.get_status_display().lower()} cannot be "
            f"{DeliveryStatus(status).label.lower()}."
        )


def _event(delivery: Delivery, *, actor, note: str = "", located: bool = False) -> None:
    DeliveryEvent.objects.create(
        delivery=delivery,
        status=delivery.status,
        note=note,
        actor=actor,
        latitude=delivery.latitude if located else None,
        longitude=delivery.longitude if located else None,
    )


def _save(delivery: Delivery, *fields: str) -> None:
    delivery.save(update_fields=[*fields, "updated_at"])


# --- with the order -------------------------------------------------------------------------


def delivery_create_for_order(order: Order) -> Delivery | None:
    """An order placed with goods gets its delivery (one statement, in the checkout's
    transaction); an order of services only has none."""
    if not order.requires_shipping:
        return None
    delivery = Delivery.objects.create(
        order=order, cash_to_collect=order.total if order.pays_on_delivery else Decimal(0)
    )
    notify.delivery_changed(delivery)
    return delivery


def order_status_changed(order: Order, previous: str, actor) -> None:
    """An order cancelled or refunded before its goods arrived cancels its open delivery."""
    if order.status not in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
        return
    delivery = (
        Delivery.objects.select_for_update(of=("self",))
        .select_related("agent__user")
        .filter(order_id=order.pk)
        .exclude(status__in=FINISHED)
        .first()
    )
    if delivery is None:
        return
    was_with_agent = delivery.status in REASSIGNABLE
    delivery.status = DeliveryStatus.CANCELLED
    delivery.code_hash = ""
    _save(delivery, "status", "code_hash")
    _event(delivery, actor=actor, note=f"Order {order.get_status_display().lower()}.")
    notify.delivery_changed(delivery)
    if was_with_agent:
        notify.tell_agent_cancelled(delivery, order)


# --- staff ----------------------------------------------------------------------------------


@transaction.atomic
def delivery_assign(*, delivery: Delivery, agent: DeliveryAgent, actor=None) -> Delivery:
    """Give the delivery to ``agent``, or to another agent while it is under way (the goods
    change hands); reassigning unlocks a delivery locked by wrong codes."""
    if not agent.is_active:
        raise _refusal(
            "This agent is inactive: assign an active one.",
            DeliveryErrorCode.AGENT_INACTIVE,
            field="agentId",
        )
    delivery = _locked(delivery)
    if delivery.status == DeliveryStatus.UNASSIGNED:
        delivery.status = DeliveryStatus.ASSIGNED
        note = f"Assigned to {agent.name}."
    elif delivery.status in REASSIGNABLE:
        if delivery.agent_id == agent.pk and not delivery.is_locked:
            return delivery  # nothing to do
        previous = delivery.agent.name
        note = (
            f"Reassigned from {previous} to {agent.name}."
            if delivery.agent_id != agent.pk
            else f"Unlocked for {agent.name}."
        )
    else:
        raise _refusal(f"A delivery that is {delivery.get_status_display().lower()} is over.")
    delivery.agent = agent
    delivery.code_failures = 0
    _save(delivery, "status", "agent", "code_failures")
    _event(delivery, actor=actor, note=note)
    notify.delivery_changed(delivery)
    notify.tell_agent_assigned(delivery)
    return delivery


@transaction.atomic
def delivery_return(*, delivery: Delivery, actor=None, note: str = "") -> Delivery:
    """The goods of a failed delivery came back to the shop: back to stock, and the order is
    refunded (paid) or cancelled (cash on delivery, never paid)."""
    note = clean_text(note, field="note")
    delivery = _locked(delivery)
    _require(delivery, DeliveryStatus.RETURNED)
    delivery.status = DeliveryStatus.RETURNED
    _save(delivery, "status")
    _event(delivery, actor=actor, note=note or "Returned to the shop.")
    order_services.order_return(order=delivery.order, actor=actor, note="Delivery returned.")
    notify.delivery_changed(delivery)
    return delivery


# --- the assigned agent ---------------------------------------------------------------------


@transaction.atomic
def delivery_pick_up(*, delivery: Delivery, agent: DeliveryAgent) -> Delivery:
    """The agent has the goods: the order ships."""
    delivery = _locked(delivery, agent=agent)
    _require(delivery, DeliveryStatus.PICKED_UP)
    try:
        delivery.order = order_services.order_advance(
            order=delivery.order, to=OrderStatus.SHIPPED, actor=agent.user, note="Picked up."
        )
    except ValidationError:
        raise _refusal(
            f"Order {delivery.order.number} is {delivery.order.get_status_display().lower()}: "
            "it cannot ship yet."
        ) from None
    delivery.status = DeliveryStatus.PICKED_UP
    _save(delivery, "status")
    _event(delivery, actor=agent.user)
    notify.delivery_changed(delivery)
    return delivery


@transaction.atomic
def delivery_start(*, delivery: Delivery, agent: DeliveryAgent) -> Delivery:
    """Out for delivery (again, after a failed attempt): the buyer is sent this attempt's
    code."""
    delivery = _locked(delivery, agent=agent)
    _require(delivery, DeliveryStatus.OUT_FOR_DELIVERY)
    if delivery.attempts >= settings.DELIVERY_MAX_ATTEMPTS:
        raise _refusal(
            f"{delivery.attempts} attempts were made: the shop decides what happens next."
        )
    code = codes.new_code()
    delivery.status = DeliveryStatus.OUT_FOR_DELIVERY
    delivery.attempts += 1
    delivery.code_hash = codes.code_hash(
        delivery_id=delivery.pk, attempt=delivery.attempts, code=code
    )
    delivery.code_failures = 0
    delivery.failure_reason = ""
    _save(delivery, "status", "attempts", "code_hash", "code_failures", "failure_reason")
    _event(delivery, actor=agent.user, note=f"Attempt {delivery.attempts}.")
    notify.delivery_changed(delivery)
    notify.send_code(delivery, code)
    return delivery


def _check_location(latitude: float, longitude: float) -> None:
    problems = {}
    if not -90 <= latitude <= 90:  # also false for NaN
        problems["latitude"] = "A latitude is between -90 and 90."
    if not -180 <= longitude <= 180:
        problems["longitude"] = "A longitude is between -180 and 180."
    if problems:
        raise ValidationError(
            {
                field: ValidationError(message, code=CoreErrorCode.INVALID)
                for field, message in problems.items()
            }
        )


def delivery_location_update(
    *, delivery: Delivery, agent: DeliveryAgent, latitude: float, longitude: float
) -> Delivery:
    """Where the agent is, while the delivery is on its way: at most one position every
    ``DELIVERY_LOCATION_INTERVAL_SECONDS``. One UPDATE does it, under its own conditions."""
    _check_location(latitude, longitude)
    now = timezone.now()
    interval = timezone.timedelta(seconds=settings.DELIVERY_LOCATION_INTERVAL_SECONDS)
    updated = (
        Delivery.objects.filter(pk=delivery.pk, agent=agent, status__in=UNDER_WAY)
        .filter(Q(located_at__isnull=True) | Q(located_at__lte=now - interval))
        .update(latitude=latitude, longitude=longitude, located_at=now, updated_at=now)
    )
    current = Delivery.objects.filter(pk=delivery.pk).first()
    if not updated:
        if current is None or current.agent_id != agent.pk:
            raise _not_found()
        if current.status not in UNDER_WAY:
            raise _refusal(
                f"The delivery is {current.get_status_display().lower()}: locations are "
                "taken while it is on its way.",
                DeliveryErrorCode.NOT_ON_THE_WAY,
            )
        raise _refusal(
            f"One position every {settings.DELIVERY_LOCATION_INTERVAL_SECONDS} seconds, please.",
            CoreErrorCode.RATE_LIMITED,
        )
    notify.location_changed(current)
    return current


def _cash(delivery: Delivery, cash_collected: Decimal | None) -> Decimal | None:
    """The cash taken, if it is exactly what the delivery collects; else ``cash_mismatch``."""
    expected = delivery.cash_to_collect
    if expected == 0:
        if cash_collected not in (None, 0):
            raise _refusal(
                "This order is paid: there is no cash to collect.",
                DeliveryErrorCode.CASH_MISMATCH,
                field="cashCollected",
            )
        return None
    if cash_collected is None or cash_collected != expected:
        raise _refusal(
            f"Collect exactly {expected} {delivery.order.currency} for this order.",
            DeliveryErrorCode.CASH_MISMATCH,
            field="cashCollected",
        )
    return expected


def delivery_complete(
    *,
    delivery: Delivery,
    agent: DeliveryAgent,
    code: str,
    cash_collected: Decimal | None = None,
    recipient_name: str = "",
) -> Delivery:
    """Handed over, against the buyer's code (and the exact cash of a cash order): the order
    is delivered, and a cash order paid. A wrong code changes nothing but the count of wrong
    codes, which locks the delivery when it reaches ``DELIVERY_CODE_MAX_FAILURES``."""
    recipient_name = clean_text(recipient_name, field="recipientName", max_length=NAME_MAX_LENGTH)
    with transaction.atomic():
        delivery = _locked(delivery, agent=agent)
        _require(delivery, DeliveryStatus.DELIVERED)
        if delivery.is_locked:
            raise _locked_refusal()
        right = codes.code_matches(
            delivery_id=delivery.pk,
            attempt=delivery.attempts,
            code=code,
            stored=delivery.code_hash,
        )
        if right:
            return _deliver(delivery, agent, _cash(delivery, cash_collected), recipient_name)
        # A wrong code: counted (committed), and nothing else changes.
        Delivery.objects.filter(pk=delivery.pk).update(code_failures=F("code_failures") + 1)
        delivery.code_failures += 1
    if delivery.is_locked:
        notify.delivery_changed(delivery)
        raise _locked_refusal()
    left = settings.DELIVERY_CODE_MAX_FAILURES - delivery.code_failures
    raise _refusal(
        f"That is not the code the buyer was sent ({left} {'try' if left == 1 else 'tries'} left).",
        DeliveryErrorCode.DELIVERY_CODE_INVALID,
        field="code",
    )


def _locked_refusal() -> ValidationError:
    return _refusal(
        "Too many wrong codes: the delivery is locked until the shop reassigns it.",
        DeliveryErrorCode.DELIVERY_LOCKED,
        field="code",
    )


def _deliver(delivery: Delivery, agent, cash: Decimal | None, recipient_name: str) -> Delivery:
    delivery.status = DeliveryStatus.DELIVERED
    delivery.delivered_at = timezone.now()
    delivery.cash_collected = cash
    delivery.recipient_name = recipient_name
    delivery.code_hash = ""
    _save(delivery, "status", "delivered_at", "cash_collected", "recipient_name", "code_hash")
    note = f"Received by {recipient_name}." if recipient_name else ""
    if cash is not None:
        note = f"{note} Cash collected: {cash} {delivery.order.currency}.".strip()
    _event(delivery, actor=agent.user, note=note, located=delivery.located_at is not None)
    # A cash order is paid as it is delivered (apps.orders: DELIVERED on delivery).
    delivery.order = order_services.order_advance(
        order=delivery.order, to=OrderStatus.DELIVERED, actor=agent.user, note="Delivered."
    )
    notify.delivery_changed(delivery)
    return delivery


@transaction.atomic
def delivery_fail(
    *, delivery: Delivery, agent: DeliveryAgent, reason: str, note: str = ""
) -> Delivery:
    """The attempt failed at the door; the agent may set out again, or staff return it."""
    note = clean_text(note, field="note")
    delivery = _locked(delivery, agent=agent)
    _require(delivery, DeliveryStatus.FAILED)
    delivery.status = DeliveryStatus.FAILED
    delivery.failure_reason = FailureReason(reason)
    delivery.code_hash = ""
    _save(delivery, "status", "failure_reason", "code_hash")
    _event(
        delivery,
        actor=agent.user,
        note=note or delivery.get_failure_reason_display(),
        located=delivery.located_at is not None,
    )
    notify.delivery_changed(delivery)
    notify.tell_buyer_failed(delivery)
    return delivery
