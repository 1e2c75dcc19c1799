"""Cart writes: lines added, changed, removed; guest carts merged at sign-in; old carts purged."""

from datetime import timedelta
from decimal import Decimal
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.catalog.models import ProductKind, ProductVariant
from apps.core.errors import CoreErrorCode

from .errors import CartErrorCode
from .models import MAX_LINE_QUANTITY, Cart, CartLine


def shipping_for(shippable_subtotal: Decimal, *, ships: bool = True) -> Decimal:
    """The flat fee on what ships, nothing from the free-shipping threshold up, or when
    nothing ships. The threshold counts the lines that ship only."""
    if not ships or shippable_subtotal >= settings.FREE_SHIPPING_THRESHOLD:
        return Decimal("0.00")
    return settings.SHIPPING_FLAT_FEE


def cart_for(*, token: UUID | None, user) -> Cart | None:
    """The active cart this caller may reach, or ``None``.

    A guest cart is reached by its token; a customer's cart only by that customer (with or
    without its token). Anyone else's cart is indistinguishable from one that does not exist.
    """
    if token is not None:
        cart = Cart.objects.active().filter(token=token).first()
        if cart is None or (cart.user_id is not None and cart.user_id != user.pk):
            return None
        return cart
    if user.is_authenticated:
        return Cart.objects.active().filter(user=user).first()
    return None


def _quantity_error(field: str, message: str, code: str = CoreErrorCode.INVALID):
    return ValidationError({field: ValidationError(message, code=code)})


def _check_quantity(quantity: int, *, field: str, allow_zero: bool = False) -> None:
    low = 0 if allow_zero else 1
    if not low <= quantity <= MAX_LINE_QUANTITY:
        raise _quantity_error(field, f"The quantity must be between {low} and {MAX_LINE_QUANTITY}.")


def _check_stock(variant: ProductVariant, quantity: int, *, field: str) -> None:
    if not ProductKind(variant.product.kind).tracks_stock:
        return
    if quantity > variant.stock_quantity:
        raise _quantity_error(
            field,
            f"Only {variant.stock_quantity} of {variant.sku} available.",
            CartErrorCode.INSUFFICIENT_STOCK,
        )


def _lock(cart: Cart) -> Cart:
    """The cart's row, locked; refused if it stopped being active while the caller waited (a
    checkout converted it): lines added then would be lost."""
    locked = Cart.objects.select_for_update().get(pk=cart.pk)
    if locked.status != Cart.Status.ACTIVE:
        raise _quantity_error(
            "cartToken", "This cart was already checked out.", CoreErrorCode.NOT_FOUND
        )
    return locked


def _touch(cart: Cart) -> Cart:
    cart.save(update_fields=["updated_at"])
    return cart


@transaction.atomic
def cart_lines_add(*, cart: Cart | None, user, lines: list[tuple[ProductVariant, int]]) -> Cart:
    """Add quantities of variants (active ones with their product, resolved by the caller).

    Without a cart, a customer gets their active cart (created if needed); a guest a new one.
    """
    if not lines:
        raise _quantity_error("lines", "Give at least one line.", CoreErrorCode.REQUIRED)
    wanted: dict[int, int] = {}
    variants: dict[int, ProductVariant] = {}
    fields: dict[int, str] = {}  # a variant's errors point at its last input line
    for index, (variant, quantity) in enumerate(lines):
        field = f"lines.{index}.quantity"
        _check_quantity(quantity, field=field)
        wanted[variant.pk] = wanted.get(variant.pk, 0) + quantity
        variants[variant.pk] = variant
        fields[variant.pk] = field
    if cart is None:
        if user.is_authenticated:
            cart, _ = Cart.objects.get_or_create(user=user, status=Cart.Status.ACTIVE)
        else:
            cart = Cart.objects.create()
    cart = _lock(cart)
    existing = {line.variant_id: line for line in cart.lines.filter(variant_id__in=wanted)}
    new_lines = []
    for pk, quantity in wanted.items():
        line = existing.get(pk)
        total = quantity + (line.quantity if line else 0)
        field = fields[pk]
        if total > MAX_LINE_QUANTITY:
            raise _quantity_error(field, f"A line holds at most {MAX_LINE_QUANTITY} items.")
        _check_stock(variants[pk], total, field=field)
        if line:
            line.quantity = total
        else:
            variant = variants[pk]
            new_lines.append(
                CartLine(cart=cart, variant=variant, kind=variant.product.kind, quantity=total)
            )
    CartLine.objects.bulk_update(list(existing.values()), ["quantity"])
    CartLine.objects.bulk_create(new_lines)
    return _touch(cart)


@transaction.atomic
def cart_lines_update(*, cart: Cart, lines: list[tuple[int, int]]) -> Cart:
    """Set line quantities (``line_id``, ``quantity``); 0 removes the line."""
    cart = _lock(cart)
    by_id = {line.pk: line for line in cart.lines.select_related("variant__product")}
    changed, removed = [], []
    for index, (line_id, quantity) in enumerate(lines):
        field = f"lines.{index}"
        line = by_id.get(line_id)
        if line is None:
            raise _quantity_error(
                f"{field}.lineId", "No such line in this cart.", CoreErrorCode.NOT_FOUND
            )
        _check_quantity(quantity, field=f"{field}.quantity", allow_zero=True)
        if quantity == 0:
            removed.append(line.pk)
            continue
        if quantity > line.quantity:
            if not line.available:
                raise _quantity_error(
                    f"{field}.quantity",
                    f"{line.variant.sku} is no longer on sale; lower or remove the line.",
                    CartErrorCode.VARIANT_UNAVAILABLE,
                )
            _check_stock(line.variant, quantity, field=f"{field}.quantity")
        line.quantity = quantity
        changed.append(line)
    CartLine.objects.bulk_update(changed, ["quantity"])
    CartLine.objects.filter(pk__in=removed).delete()
    return _touch(cart)


@transaction.atomic
def cart_lines_remove(*, cart: Cart, line_ids: list[int]) -> Cart:
    cart = _lock(cart)
    known = set(cart.lines.filter(pk__in=line_ids).values_list("pk", flat=True))
    for index, line_id in enumerate(line_ids):
        if line_id not in known:
            raise _quantity_error(
                f"lineIds.{index}", "No such line in this cart.", CoreErrorCode.NOT_FOUND
            )
    CartLine.objects.filter(pk__in=known).delete()
    return _touch(cart)


@transaction.atomic
def cart_merge(*, token: UUID | None, user) -> Cart | None:
    """Merge the guest cart ``token`` into the user's active cart at sign-in.

    Quantities add up, capped by stock and the line limit; the guest cart is then closed. A
    token that is unknown, not a guest cart, or already the user's changes nothing.
    """
    if token is None:
        return None
    guest = (
        Cart.objects.select_for_update()
        .filter(token=token, status=Cart.Status.ACTIVE, user__isnull=True)
        .first()
    )
    if guest is None:
        return cart_for(token=None, user=user)
    own = Cart.objects.select_for_update().filter(user=user, status=Cart.Status.ACTIVE).first()
    if own is None:
        guest.user = user
        guest.save(update_fields=["user", "updated_at"])
        return guest
    ours = {line.variant_id: line for line in own.lines.filter(kind=ProductKind.GOODS)}
    changed, created, moved = [], [], []
    for line in guest.lines.select_related("variant__product"):
        if not line.available:  # no longer on sale: not carried over
            continue
        if line.kind != ProductKind.GOODS:
            # A service line moves as it is: what it holds (a booked slot) points at it.
            moved.append(line.pk)
            continue
        cap = min(MAX_LINE_QUANTITY, line.variant.stock_quantity)
        mine = ours.get(line.variant_id)
        if mine:
            mine.quantity = max(mine.quantity, min(mine.quantity + line.quantity, cap))
            changed.append(mine)
        elif cap > 0:
            created.append(
                CartLine(
                    cart=own,
                    variant=line.variant,
                    kind=line.kind,
                    quantity=min(line.quantity, cap),
                )
            )
    CartLine.objects.bulk_update(changed, ["quantity"])
    CartLine.objects.bulk_create(created)
    CartLine.objects.filter(pk__in=moved).update(cart=own)
    guest.status = Cart.Status.MERGED
    guest.save(update_fields=["status", "updated_at"])
    return _touch(own)


def purge_carts(*, days: int) -> int:
    """Delete guest carts untouched for ``days`` days, and closed ones; return how many."""
    cutoff = timezone.now() - timedelta(days=days)
    stale = Cart.objects.filter(updated_at__lt=cutoff).exclude(
        status=Cart.Status.ACTIVE, user__isnull=False
    )
    _, per_model = stale.filter(status__in=[Cart.Status.ACTIVE, Cart.Status.MERGED]).delete()
    return per_model.get(Cart._meta.label, 0)
