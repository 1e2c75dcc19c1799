"""Checkout: a cart becomes an order, in one transaction, whatever kinds of lines it holds.

``_place_order`` runs the steps every kind of line joins (``apps.orders.lines``): lock the cart;
lock its goods' variants in id order, then what each kind needs, kind by kind; allocate per
kind (stock, slots); snapshot the lines; create the order, its payment and its first event.
"""

import secrets
from decimal import Decimal
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.forms.models import model_to_dict

from apps.accounts.models import Address
from apps.accounts.services import ADDRESS_FIELDS, address_snapshot
from apps.cart.errors import CartErrorCode
from apps.cart.models import Cart, CartLine
from apps.cart.services import cart_for, shipping_for
from apps.catalog.errors import CatalogErrorCode
from apps.catalog.models import ProductKind
from apps.core.errors import CoreErrorCode
from apps.core.validation import clean_text
from apps.payments import services as payment_services
from apps.payments.models import PaymentMethod

from .. import hooks as order_hooks
from .. import lines as line_kinds
from ..errors import OrderErrorCode
from ..models import Order, OrderEvent, OrderLine, OrderStatus
from .notify import notify_order_placed

NUMBER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def _error(field: str | None, message: str, code: str) -> ValidationError:
    error = ValidationError(message, code=code)
    return ValidationError({field: error}) if field else error


def _new_number() -> str:
    return "SC-" + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(8))


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
    expected_total: Decimal | None = None,
) -> Order:
    """Turn the cart into an order, or return the order this buyer already placed with this key.

    The cart is ``cart`` when the caller holds it, else the active cart the caller may reach:
    a guest's by ``cart_token``, a customer's by their account (or their ``cart_token``). It is
    found and locked inside the transaction. Without a reachable active cart (e.g. the first
    attempt of a retried request converted it) only a retry succeeds, by the customer or by the
    guest holding ``cart_token``. ``saved_address`` is an entry of the buyer's address book
    (resolved by the caller), used instead of ``shipping_address``. ``expected_total``: the
    total the buyer was shown; a different total (a price changed meanwhile) is refused.
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
            raise _no_cart(cart_token, user) from None
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
            note=clean_text(note, field="note"),
            expected_total=expected_total,
        )
    except IntegrityError:
        # Two requests with the same key raced: the unique constraint let one order through.
        if existing := _existing(key, idempotency_key):
            return existing
        raise


def _no_cart(cart_token: UUID | None, user) -> ValidationError:
    """No active cart to check out: a token that reaches none is ``not_found`` on it; a guest
    must send one (``required``); a customer who sent none has nothing in their cart
    (``cart_empty``)."""
    if cart_token is not None:
        return _error("cartToken", "No cart found with this token.", CoreErrorCode.NOT_FOUND)
    if user.is_authenticated:
        return _error(None, "The cart is empty.", CartErrorCode.CART_EMPTY)
    return _error("cartToken", "Guests give the token of their cart.", CoreErrorCode.REQUIRED)


def _details(
    *,
    user,
    email: str | None,
    shipping_address: dict | None,
    saved_address: Address | None,
    billing_address: dict | None,
) -> tuple[str, dict | None, dict | None]:
    """The order's email and the addresses given, checked.

    Whether a shipping address is needed depends on the cart's lines (goods ship, services
    do not): checkout asks for it once it has read them. The billing address defaults to the
    shipping address.
    """
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
        shipping = None
    billing = (
        address_snapshot(billing_address, field="billingAddress") if billing_address else shipping
    )
    return email, shipping, billing


def _lock_cart(*, cart: Cart | None, token: UUID | None, user) -> tuple[Cart | None, list]:
    """Steps 1 and 2: the cart to check out, locked, with its lines and their variants, the
    goods' variants locked: two queries for goods only, three with other kinds of lines.

    The cart's lock keeps other checkouts of this cart and every cart mutation out, and the
    lines are read after it is held (in a statement of their own, so that they include what a
    mutation committed while this transaction waited). The goods' variants are locked in id
    order, so that two buyers never deadlock: their stock is what checkout takes. The variant of
    a service is not locked: it has no stock, its time slots are taken under locks of their own
    (``apps.bookings``), and every buyer of the service would wait for the others' checkouts on
    its row. ``None`` when the caller reaches no active cart.
    """
    if cart is not None:
        reach = Q(pk=cart.pk)
    elif token is not None:
        reach = Q(token=token, status=Cart.Status.ACTIVE)
    elif user.is_authenticated:
        reach = Q(user=user, status=Cart.Status.ACTIVE)
    else:
        return None, []
    found = (
        Cart.objects.select_for_update(of=("self",))
        .annotate(
            # read before the lock is granted: a line added meanwhile may be missed here, which
            # only locks its variant below as if it were goods
            mixed=Exists(
                CartLine.objects.filter(cart=OuterRef("pk")).exclude(kind=ProductKind.GOODS)
            )
        )
        .filter(reach)
        .first()
    )
    if found is None or (cart is None and found.user_id not in (None, user.pk)):
        return None, []  # none, or another customer's cart: as if it did not exist
    # every line holds a variant (a CHECK): this makes its join inner, as FOR UPDATE needs
    every = found.lines.filter(variant__sku__isnull=False).select_related("variant__product")
    # NO KEY: serializes the stock, yet lets rows that merely point at the variant (a new cart
    # line, a booking) check their foreign key meanwhile, instead of waiting on us.
    locked = every.select_for_update(of=("variant",), no_key=True).order_by("variant_id")
    if found.mixed:
        lines = [*locked.filter(kind=ProductKind.GOODS), *every.exclude(kind=ProductKind.GOODS)]
    else:
        lines = list(locked)
    lines.sort(key=lambda line: line.pk)
    return found, lines


@transaction.atomic
def _place_order(
    *,
    cart: Cart | None,
    cart_token: UUID | None,
    user,
    email: str,
    shipping: dict | None,
    billing: dict | None,
    payment_method: str,
    key: str,
    idempotency_key: str,
    note: str,
    expected_total: Decimal | None = None,
) -> Order:
    held, lines = _lock_cart(cart=cart, token=cart_token, user=user)
    if held is None or held.status != Cart.Status.ACTIVE:
        if existing := _existing(key, idempotency_key):
            return existing
        if held is None:
            raise _no_cart(cart_token, user)
        raise _error("cartToken", "This cart was already checked out.", CoreErrorCode.NOT_FOUND)
    cart = held
    if not lines:
        raise _error(None, "The cart is empty.", CartErrorCode.CART_EMPTY)
    _check_on_sale(lines)
    kinds = line_kinds.by_kind(lines)
    number = _new_number()
    allocation = line_kinds.Allocation(
        reason=f"Order {number}",
        actor=user if user.is_authenticated else None,
        variants={line.variant_id: line.variant for line in lines},
    )
    for kind, kind_lines in kinds:  # step 2, continued: what each kind needs, kind by kind
        kind.lock(kind_lines, allocation)
    for kind, kind_lines in kinds:  # step 3
        kind.allocate(kind_lines, allocation)
    snapshots, shippable = {}, Decimal("0.00")
    for kind, kind_lines in kinds:  # step 4
        for line in kind_lines:
            snapshots[line.pk] = order_line = _snapshot(line)
            kind.snapshot(line, order_line, allocation)
            if kind.ships:
                shippable += order_line.line_total
    order_lines = [snapshots[pk] for pk in sorted(snapshots)]  # in the cart's order
    ships = any(kind.ships for kind, _ in kinds)
    if ships and shipping is None:
        raise _error("shippingAddress", "Give a shipping address.", CoreErrorCode.REQUIRED)
    subtotal = sum((line.line_total for line in order_lines), Decimal("0.00"))
    shipping_total = shipping_for(shippable, ships=ships)
    if expected_total is not None and subtotal + shipping_total != expected_total:
        raise _error(
            "expectedTotal",
            f"The total is now {subtotal + shipping_total} {settings.SHOP_CURRENCY}, "
            f"not {expected_total}: prices changed. Check the cart and try again.",
            OrderErrorCode.PRICE_CHANGED,
        )
    order = Order.objects.create(  # step 5
        number=number,
        user=user if user.is_authenticated else None,
        email=email,
        currency=settings.SHOP_CURRENCY,
        subtotal=subtotal,
        shipping_total=shipping_total,
        total=subtotal + shipping_total,
        requires_shipping=ships,
        pays_on_delivery=ships and payment_method == PaymentMethod.CASH_ON_DELIVERY,
        shipping_address=shipping if ships else None,
        billing_address=billing,
        note=note,
        cart=cart,
        buyer_key=key,
        idempotency_key=idempotency_key,
    )
    for order_line in order_lines:
        order_line.order = order
    OrderLine.objects.bulk_create(order_lines)
    for kind, kind_lines in kinds:  # step 6: what was taken becomes the order's
        kind.placed([(line, snapshots[line.pk]) for line in kind_lines], order, allocation)
    cart.status = Cart.Status.CONVERTED
    cart.save(update_fields=["status", "updated_at"])
    payment_services.payment_create(order=order, method=payment_method)
    OrderEvent.objects.create(
        order=order, type=OrderEvent.Type.PLACED, to_status=OrderStatus.PENDING, actor=order.user
    )
    order_hooks.placed(order)  # a delivery for what ships, say
    notify_order_placed(order=order)
    return order


def _check_on_sale(lines: list) -> None:
    """Every line's variant and product are still on sale (``variant_unavailable``)."""
    for line in sorted(lines, key=lambda line: line.variant_id):
        variant = line.variant
        if not (variant.is_active and variant.product.is_active):
            raise ValidationError(
                f"{variant.sku} is no longer on sale; remove it from the cart.",
                code=CatalogErrorCode.VARIANT_UNAVAILABLE,
            )


def _snapshot(line) -> OrderLine:
    """What every order line keeps of its cart line: kind, names, SKU and price as they were."""
    variant = line.variant
    return OrderLine(
        variant=variant,
        kind=line.kind,
        product_name=variant.product.name,
        variant_name=variant.name,
        sku=variant.sku,
        quantity=line.quantity,
        unit_price=variant.price,
        line_total=variant.price * line.quantity,
    )
