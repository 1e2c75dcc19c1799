"""Checkout and the order state machine: every order write, in one transaction each."""

import secrets
from decimal import Decimal
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.forms.models import model_to_dict
from django.utils import timezone

from apps.accounts.models import Address
from apps.accounts.services import ADDRESS_FIELDS, address_snapshot
from apps.cart.errors import CartErrorCode
from apps.cart.models import Cart
from apps.cart.services import cart_for
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
    user,
    payment_method: str,
    idempotency_key: str,
    cart: Cart | None = None,
    cart_token: UUID | None = None,
    email: str | None = None,
    shipping_address: dict | None = None,
    saved_address: Address | None = None,
    billing_address: dict | None = None,
    note: str = "",
) -> Order:
    """Turn the cart into an order, or return the order this buyer already placed with this key.

    The cart is ``cart`` when the caller holds it, else the active cart the caller may reach:
    a guest's by ``cart_token``, a customer's by their account (or their ``cart_token``). It is
    found and locked inside the transaction. Without a reachable active cart (e.g. the first
    attempt of a retried request converted it) only a retry succeeds, by the customer or by the
    guest holding ``cart_token``. ``saved_address`` is an entry of the buyer's address book
    (resolved by the caller), used instead of ``shipping_address``.
    """
    idempotency_key = (idempotency_key or "").strip()
    if not idempotency_key or len(idempotency_key) > 128:
        raise _error("idempotencyKey", "Give a key of 1 to 128 characters.", CoreErrorCode.INVALID)
    key = buyer_key(user=user, cart=cart, cart_token=cart_token)
    # A customer's key spans their carts: a retry may come with a new cart. A guest's key is
    # bound to the cart, whose state the transaction reads under its lock.
    if user.is_authenticated and (existing := _existing(key, idempotency_key)):
        return existing
    try:
        email, shipping, billing = _details(
            user=user,
            email=email,
            shipping_address=shipping_address,
            saved_address=saved_address,
            billing_address=billing_address,
        )
    except ValidationError:
        # Without a cart to check out, that is what the caller needs to hear (or its order,
        # when this is a retry that left out the details).
        if cart is None and cart_for(token=cart_token, user=user) is None:
            if existing := _existing(key, idempotency_key):
                return existing
            raise _error(
                "cartToken", "No cart found with this token.", CoreErrorCode.NOT_FOUND
            ) from None
        raise
    try:
        return _place_order(
            cart=cart,
            cart_token=cart_token,
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


def _details(
    *,
    user,
    email: str | None,
    shipping_address: dict | None,
    saved_address: Address | None,
    billing_address: dict | None,
) -> tuple[str, dict, dict]:
    """The order's email and its shipping and billing addresses, checked."""
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
    return email, shipping, billing


def _lock_cart(*, cart: Cart | None, token: UUID | None, user) -> tuple[Cart | None, list]:
    """The cart to check out, locked, with its lines and their variants, locked, in two queries.

    The cart's lock keeps other checkouts of this cart and every cart mutation out, and the
    lines are read after it is held (in a statement of their own, so that they include what a
    mutation committed while this transaction waited). The variants are locked in id order, so
    that two buyers never deadlock. ``None`` when the caller reaches no active cart.
    """
    if cart is not None:
        reach = Q(pk=cart.pk)
    elif token is not None:
        reach = Q(token=token, status=Cart.Status.ACTIVE)
    elif user.is_authenticated:
        reach = Q(user=user, status=Cart.Status.ACTIVE)
    else:
        return None, []
    found = Cart.objects.select_for_update().filter(reach).first()
    if found is None or (cart is None and found.user_id not in (None, user.pk)):
        return None, []  # none, or another customer's cart: as if it did not exist
    lines = list(
        found.lines.all()
        # every line holds a variant (a CHECK): this makes its join inner, as FOR UPDATE needs
        .filter(variant__sku__isnull=False)
        .select_related("variant__product")
        .select_for_update(of=("variant",))
        .order_by("variant_id")
    )
    lines.sort(key=lambda line: line.pk)
    return found, lines


@transaction.atomic
def _place_order(
    *,
    cart: Cart | None,
    cart_token: UUID | None,
    user,
    email: str,
    shipping: dict,
    billing: dict,
    payment_method: str,
    key: str,
    idempotency_key: str,
    note: str,
) -> Order:
    held, lines = _lock_cart(cart=cart, token=cart_token, user=user)
    if held is None or held.status != Cart.Status.ACTIVE:
        if existing := _existing(key, idempotency_key):
            return existing
        if held is None:
            raise _error("cartToken", "No cart found with this token.", CoreErrorCode.NOT_FOUND)
        raise _error("cartToken", "This cart was already checked out.", CoreErrorCode.NOT_FOUND)
    cart = held
    if not lines:
        raise _error(None, "The cart is empty.", CartErrorCode.CART_EMPTY)
    number = _new_number()
    variants = catalog_services.stock_allocate(
        quantities={line.variant_id: line.quantity for line in lines},
        reason=f"Order {number}",
        actor=user if user.is_authenticated else None,
        locked={line.variant_id: line.variant for line in lines},
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
