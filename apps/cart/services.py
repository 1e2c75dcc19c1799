"""Cart writes: lines added, changed, removed; guest carts merged at sign-in; old carts purged."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import transaction
from django.utils import timezone

from apps.bookings import services as booking_services
from apps.bookings.errors import BookingErrorCode
from apps.bookings.models import Resource
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


@dataclass(frozen=True)
class Slot:
    """The time slot a service line asks for: a start, and a resource or any that offers it."""

    start: datetime
    resource: Resource | None = None


@dataclass(frozen=True)
class NewLine:
    variant: ProductVariant  # active, with its product loaded
    quantity: int  # units of goods, or seats of a service
    slot: Slot | None = None  # services only


def _check_slot(line: NewLine, index: int) -> None:
    is_service = line.variant.product.kind == ProductKind.SERVICE
    if is_service and line.slot is None:
        raise _quantity_error(
            f"lines.{index}.slot",
            f"{line.variant.sku} is a service: give the slot to book.",
            BookingErrorCode.SLOT_REQUIRED,
        )
    if not is_service and line.slot is not None:
        raise _quantity_error(
            f"lines.{index}.slot", f"{line.variant.sku} is not booked in time: give no slot."
        )


@transaction.atomic
def cart_lines_add(*, cart: Cart | None, user, lines: list[NewLine | tuple]) -> Cart:
    """Add lines: quantities of goods (added to the variant's line), and services, each a line
    of its own holding the slot it asks for (``apps.bookings``), its quantity the seats. A plain
    ``(variant, quantity)`` pair is a line of goods.

    Without a cart, a customer gets their active cart (created if needed); a guest a new one.
    """
    if not lines:
        raise _quantity_error("lines", "Give at least one line.", CoreErrorCode.REQUIRED)
    lines = [line if isinstance(line, NewLine) else NewLine(*line) for line in lines]
    wanted: dict[int, int] = {}
    variants: dict[int, ProductVariant] = {}
    fields: dict[int, str] = {}  # a variant's errors point at its last input line
    services: list[tuple[int, NewLine]] = []
    for index, line in enumerate(lines):
        field = f"lines.{index}.quantity"
        _check_quantity(line.quantity, field=field)
        _check_slot(line, index)
        if line.slot is not None:
            services.append((index, line))
            continue
        variant = line.variant
        wanted[variant.pk] = wanted.get(variant.pk, 0) + line.quantity
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
    for index, line in services:
        service_line = CartLine.objects.create(
            cart=cart, variant=line.variant, kind=ProductKind.SERVICE, quantity=line.quantity
        )
        booking_services.hold_place(
            wanted=booking_services.Wanted(
                variant=line.variant,
                start=line.slot.start,
                resource=line.slot.resource,
                seats=line.quantity,
            ),
            cart_line=service_line,
            user=user,
            field=f"lines.{index}.slot",
        )
    return _touch(cart)


@dataclass(frozen=True)
class LineChange:
    line_id: int
    quantity: int  # 0 removes the line
    slot: Slot | None = None  # a service line: another slot


@transaction.atomic
def cart_lines_update(*, cart: Cart, lines: list[LineChange | tuple]) -> Cart:
    """Set line quantities (0 removes the line); a service line may move to another slot (its
    hold is let go and the new one taken, both or neither). A plain ``(line_id, quantity)``
    pair is a change of quantity."""
    lines = [line if isinstance(line, LineChange) else LineChange(*line) for line in lines]
    cart = _lock(cart)
    by_id = {line.pk: line for line in _lines_with_holds(cart)}
    changed, removed = [], []
    for index, change in enumerate(lines):
        line_id, quantity = change.line_id, change.quantity
        field = f"lines.{index}"
        line = by_id.get(line_id)
        if line is None:
            raise _quantity_error(
                f"{field}.lineId", "No such line in this cart.", CoreErrorCode.NOT_FOUND
            )
        _check_quantity(quantity, field=f"{field}.quantity", allow_zero=True)
        if quantity == 0:
            removed.append(line)
            continue
        if line.kind == ProductKind.SERVICE:
            _change_service_line(line, change, field=field)
            continue
        if change.slot is not None:
            raise _quantity_error(
                f"{field}.slot", f"{line.variant.sku} is not booked in time: give no slot."
            )
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
    _delete_lines(removed)
    return _touch(cart)


def _lines_with_holds(cart: Cart, pks=None):
    lines = cart.lines.select_related("variant__product", "booking__resource")
    return lines.filter(pk__in=pks) if pks is not None else lines


def _hold_of(line: CartLine):
    try:
        return line.booking
    except ObjectDoesNotExist:
        return None


def _change_service_line(line: CartLine, change: LineChange, *, field: str) -> None:
    booking = _hold_of(line)
    if change.slot is not None or booking is None:
        if change.slot is None:
            raise _quantity_error(
                f"{field}.slot",
                f"{line.variant.sku} holds no slot any more: give one.",
                BookingErrorCode.SLOT_REQUIRED,
            )
        if booking is not None:  # let the old slot go first: the new one may overlap it
            booking_services.hold_release(bookings=[booking], note="Another slot was chosen.")
        line.quantity = change.quantity
        line.save(update_fields=["quantity", "updated_at"])
        booking_services.hold_place(
            wanted=booking_services.Wanted(
                variant=line.variant,
                start=change.slot.start,
                resource=change.slot.resource,
                seats=change.quantity,
            ),
            cart_line=line,
            user=line.cart.user,
            field=f"{field}.slot",
        )
        return
    if change.quantity != line.quantity:
        booking_services.hold_reseat(
            booking=booking, seats=change.quantity, field=f"{field}.quantity"
        )
        line.quantity = change.quantity
        line.save(update_fields=["quantity", "updated_at"])


def _delete_lines(lines: list[CartLine]) -> None:
    """Delete cart lines; the slots their service lines held are let go."""
    holds = [hold for line in lines if (hold := _hold_of(line)) is not None]
    booking_services.hold_release(bookings=holds)
    CartLine.objects.filter(pk__in=[line.pk for line in lines]).delete()


@transaction.atomic
def cart_lines_remove(*, cart: Cart, line_ids: list[int]) -> Cart:
    cart = _lock(cart)
    known = {line.pk: line for line in _lines_with_holds(cart, pks=line_ids)}
    for index, line_id in enumerate(line_ids):
        if line_id not in known:
            raise _quantity_error(
                f"lineIds.{index}", "No such line in this cart.", CoreErrorCode.NOT_FOUND
            )
    _delete_lines(list(known.values()))
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
