"""Checkout and the order state machine: every order write, in one transaction each."""

import secrets
from decimal import Decimal
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from apps.accounts.models import Address
from apps.accounts.services import ADDRESS_FIELDS, address_snapshot
from apps.cart.errors import CartErrorCode
from apps.cart.models import Cart, CartLine
from apps.catalog import services as catalog_services
from apps.core.errors import CoreErrorCode
from apps.notifications.services import notify_order_placed, notify_order_status
from apps.payments import services as payment_services

from .errors import OrderErrorCode
from .models import (
    CUSTOMER_CANCELLABLE,
    TRANSITIONS,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
)

NUMBER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def _error(field: str | None, message: str, code: str) -> ValidationError:
    error = ValidationError(message, code=code)
    return ValidationError({field: error}) if field else error


def _new_number() -> str:
    return "SC-" + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(8))


def shipping_for(subtotal: Decimal) -> Decimal:
    """The flat fee, or nothing from the free-shipping threshold up."""
    if subtotal >= settings.FREE_SHIPPING_THRESHOLD:
        return Decimal("0.00")
    return settings.SHIPPING_FLAT_FEE


def buyer_key(*, user, cart: Cart | None = None, cart_token: UUID | None = None) -> str | None:
    """Who places the order: the customer, or for a guest the cart (``None`` without one)."""
    if user.is_authenticated:
        return f"user:{user.pk}"
    token = cart.token if cart is not None else cart_token
    return f"cart:{token}" if token is not None else None


def _existing(key: str | None, idempotency_key: str) -> Order | None:
    if key is None:
        return None
    return Order.objects.filter(buyer_key=key, idempotency_key=idempotency_key).first()


def checkout_complete(
    *,
    cart: Cart | None,
    user,
    payment_method: str,
    idempotency_key: str,
    email: str | None = None,
    shipping_address: dict | None = None,
    saved_address: Address | None = None,
    billing_address: dict | None = None,
    note: str = "",
    cart_token: UUID | None = None,
) -> Order:
    """Turn the cart into an order, or return the order this buyer already placed with this key.

    ``cart`` is the active cart the caller may reach, or ``None`` when there is none (e.g. it
    was converted by the first attempt of a retried request): then only a retry succeeds, by
    the customer or by the guest holding ``cart_token``. ``saved_address`` is an entry of the
    buyer's address book (resolved by the caller), used instead of ``shipping_address``.
    """
    idempotency_key = (idempotency_key or "").strip()
    if not idempotency_key or len(idempotency_key) > 128:
        raise _error("idempotencyKey", "Give a key of 1 to 128 characters.", CoreErrorCode.INVALID)
    key = buyer_key(user=user, cart=cart, cart_token=cart_token)
    # A guest's key is bound to the cart, and an active cart has placed no order yet (placing
    # one converts it, under the cart's lock): only customers, whose key spans their carts, and
    # callers without an active cart can be retrying a placed order.
    if (cart is None or user.is_authenticated) and (existing := _existing(key, idempotency_key)):
        return existing
    if cart is None:
        raise _error("cartToken", "No cart found with this token.", CoreErrorCode.NOT_FOUND)
    email = (email or "").strip().lower()
    if user.is_authenticated:
        email = email or user.email.strip().lower()
    elif not email:
        raise _error("email", "Guests give an email for the confirmation.", CoreErrorCode.REQUIRED)
    try:
        validate_email(email)
    except ValidationError:
        raise _error("email", "Enter a valid email address.", CoreErrorCode.INVALID) from None
    if saved_address is not None:
        shipping = address_snapshot(model_to_dict(saved_address, fields=ADDRESS_FIELDS))
    elif shipping_address is not None:
        shipping = address_snapshot(shipping_address, field="shippingAddress")
    else:
        raise _error("shippingAddress", "Give a shipping address.", CoreErrorCode.REQUIRED)
    billing = (
        address_snapshot(billing_address, field="billingAddress") if billing_address else shipping
    )
    try:
        return _place_order(
            cart=cart,
            user=user,
            email=email,
            shipping=shipping,
            billing=billing,
            payment_method=payment_method,
            key=key,
            idempotency_key=idempotency_key,
            note=(note or "").strip(),
        )
    except IntegrityError:
        # Two requests with the same key raced: the unique constraint let one order through.
        if existing := _existing(key, idempotency_key):
            return existing
        raise


def _lock_cart(cart: Cart) -> tuple[Cart, list[CartLine]]:
    """Lock the cart's row and read it with its lines, in one query (two for an empty cart).

    Under the lock no other checkout of this cart and no cart mutation can interleave.
    """
    lines = list(
        CartLine.objects.filter(cart_id=cart.pk)
        .select_related("cart")
        .select_for_update(of=("cart",))
        .order_by("pk")
    )
    if lines:
        return lines[0].cart, lines
    return Cart.objects.select_for_update().get(pk=cart.pk), []


@transaction.atomic
def _place_order(
    *,
    cart: Cart,
    user,
    email: str,
    shipping: dict,
    billing: dict,
    payment_method: str,
    key: str,
    idempotency_key: str,
    note: str,
) -> Order:
    cart, lines = _lock_cart(cart)
    if cart.status != Cart.Status.ACTIVE:
        if existing := _existing(key, idempotency_key):
            return existing
        raise _error("cartToken", "This cart was already checked out.", CoreErrorCode.NOT_FOUND)
    if not lines:
        raise _error(None, "The cart is empty.", CartErrorCode.CART_EMPTY)
    number = _new_number()
    variants = catalog_services.stock_allocate(
        quantities={line.variant_id: line.quantity for line in lines},
        reason=f"Order {number}",
        actor=user if user.is_authenticated else None,
    )
    order_lines = []
    for line in lines:
        variant = variants[line.variant_id]
        order_lines.append(
            OrderLine(
                variant=variant,
                product_name=variant.product.name,
                variant_name=variant.name,
                sku=variant.sku,
                quantity=line.quantity,
                unit_price=variant.price,
                line_total=variant.price * line.quantity,
            )
        )
    subtotal = sum((line.line_total for line in order_lines), Decimal("0.00"))
    shipping_total = shipping_for(subtotal)
    order = Order.objects.create(
        number=number,
        user=user if user.is_authenticated else None,
        email=email,
        currency=settings.SHOP_CURRENCY,
        subtotal=subtotal,
        shipping_total=shipping_total,
        total=subtotal + shipping_total,
        shipping_address=shipping,
        billing_address=billing,
        note=note,
        cart=cart,
        buyer_key=key,
        idempotency_key=idempotency_key,
    )
    for order_line in order_lines:
        order_line.order = order
    OrderLine.objects.bulk_create(order_lines)
    cart.status = Cart.Status.CONVERTED
    cart.save(update_fields=["status", "updated_at"])
    payment_services.payment_create(order=order, method=payment_method)
    OrderEvent.objects.create(
        order=order, type=OrderEvent.Type.PLACED, to_status=OrderStatus.PENDING, actor=order.user
    )
    notify_order_placed(order=order)
    return order


@transaction.atomic
def order_transition(*, order: Order, status: str, actor=None, note: str = "") -> Order:
    """Move the order along the state machine, with its side effects, event and messages."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    previous = order.status
    if status not in TRANSITIONS[previous]:
        raise _error(
            "status",
            f"An order cannot go from {previous} to {status}.",
            OrderErrorCode.INVALID_TRANSITION,
        )
    payment = getattr(order, "payment", None)
    if status == OrderStatus.CANCELLED:
        catalog_services.stock_release(
            quantities=_quantities(order), reason=f"Order {order.number} cancelled", actor=actor
        )
        if payment:
            payment_services.payment_refund(payment=payment)
    elif status == OrderStatus.PAID:
        order.paid_at = timezone.now()
        if payment:
            payment_services.payment_capture(payment=payment)
    elif status == OrderStatus.REFUNDED and payment:
        payment_services.payment_refund(payment=payment)
    order.status = status
    order.save(update_fields=["status", "paid_at", "updated_at"])
    event_type = (
        OrderEvent.Type.CANCELLED
        if status == OrderStatus.CANCELLED
        else (OrderEvent.Type.STATUS_CHANGED)
    )
    OrderEvent.objects.create(
        order=order,
        type=event_type,
        from_status=previous,
        to_status=status,
        note=(note or "").strip(),
        actor=actor,
    )
    notify_order_status(order=order)
    return order


def _quantities(order: Order) -> dict[int, int]:
    quantities: dict[int, int] = {}
    for variant_id, quantity in order.lines.filter(variant__isnull=False).values_list(
        "variant_id", "quantity"
    ):
        quantities[variant_id] = quantities.get(variant_id, 0) + quantity
    return quantities


@transaction.atomic
def order_cancel(*, order: Order, actor, reason: str = "", as_staff: bool = False) -> Order:
    """Cancel an order: customers their own PENDING or PAID ones; staff any cancellable one."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if not as_staff and order.status not in CUSTOMER_CANCELLABLE:
        raise _error(
            None,
            "This order can no longer be cancelled; contact us for a return.",
            OrderErrorCode.INVALID_TRANSITION,
        )
    if OrderStatus.CANCELLED not in TRANSITIONS[order.status]:
        # orderCancel has no `status` argument: the refusal is about the whole order.
        raise _error(
            None,
            f"An order cannot go from {order.status} to {OrderStatus.CANCELLED}.",
            OrderErrorCode.INVALID_TRANSITION,
        )
    return order_transition(order=order, status=OrderStatus.CANCELLED, actor=actor, note=reason)
