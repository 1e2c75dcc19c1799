"""Kinds of lines: what each needs at checkout, and what an order gives back when released.

Every cart line holds a product variant; its kind (the product's) decides the rest. A kind is a
``LineKind``: checkout calls, for the lines of each kind in turn (in the order of ``KINDS``),

1. ``lock``: lock what the lines need (a booking's row, say), each kind in a fixed order of its
   own; checkout has already locked the variants of goods, in id order (their stock);
2. ``allocate``: take it (stock off the shelf, a held slot checked), or raise a coded
   ``ValidationError``, which rolls the whole checkout back;
3. ``snapshot``: fill in what the order line keeps of it (beside names, SKU and price);
4. ``placed``: once the order and its lines are written, tie what was taken to them (a booking
   becomes the order's, confirmed).

An order that is cancelled, refunded or returned calls ``release`` with its lines of that kind.
Goods take stock (``apps.catalog``); services take the time slots their cart lines hold
(``apps.bookings``).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from apps.bookings import services as booking_services
from apps.cart.models import CartLine
from apps.catalog import services as catalog_services
from apps.catalog.models import ProductKind

from .models import OrderLine


class Release(StrEnum):
    """Why an order gives back what it took."""

    CANCEL = "cancel"  # nothing was delivered
    REFUND = "refund"  # the money goes back; goods already sent stay with the buyer
    RETURN = "return"  # goods came back to the shop


@dataclass
class Allocation:
    """The context of one checkout, shared by the kinds' steps."""

    reason: str  # "Order SC-..." for the stock movements and audit rows
    actor: object | None  # the customer, or None for a guest
    variants: dict = field(default_factory=dict)  # locked variants by id (with their product)
    bookings: dict = field(default_factory=dict)  # locked bookings by cart line id


class LineKind:
    """Goods by default: counted in stock, shipped. Subclass for other kinds."""

    kind: str = ProductKind.GOODS

    @property
    def ships(self) -> bool:
        return ProductKind(self.kind).ships

    def lock(self, lines: list[CartLine], allocation: Allocation) -> None:
        """Nothing beyond the variants, which checkout locked."""

    def allocate(self, lines: list[CartLine], allocation: Allocation) -> None:
        quantities: dict[int, int] = {}
        for line in lines:
            quantities[line.variant_id] = quantities.get(line.variant_id, 0) + line.quantity
        catalog_services.stock_allocate(
            quantities=quantities,
            reason=allocation.reason,
            actor=allocation.actor,
            locked={pk: allocation.variants[pk] for pk in quantities},
        )

    def snapshot(self, line: CartLine, order_line: OrderLine, allocation: Allocation) -> None:
        """Nothing beyond names, SKU and price."""

    def placed(self, pairs: list[tuple[CartLine, OrderLine]], order, allocation) -> None:
        """Nothing to tie to the order."""

    def release(self, lines: Iterable[OrderLine], *, why: Release, reason: str, actor) -> None:
        if why is Release.REFUND:  # what was sent stays with the buyer; a return brings it back
            return
        quantities: dict[int, int] = {}
        for line in lines:
            if line.variant_id is not None:
                quantities[line.variant_id] = quantities.get(line.variant_id, 0) + line.quantity
        catalog_services.stock_release(quantities=quantities, reason=reason, actor=actor)


class ServiceLineKind(LineKind):
    """A service: each line holds a time slot (a HELD booking); no stock, nothing to ship.

    Checkout locks the lines' bookings, checks that each is still held (an expired hold is
    taken again when its slot is free), keeps the slot on the order line, and confirms the
    bookings as the order's. Cancelling or refunding the order cancels its bookings to come.
    """

    kind = ProductKind.SERVICE

    def lock(self, lines: list[CartLine], allocation: Allocation) -> None:
        allocation.bookings.update(booking_services.lock_for_lines([line.pk for line in lines]))

    def allocate(self, lines: list[CartLine], allocation: Allocation) -> None:
        booking_services.check_for_lines(lines, allocation.bookings)

    def snapshot(self, line: CartLine, order_line: OrderLine, allocation: Allocation) -> None:
        booking = allocation.bookings[line.pk]
        order_line.booking_start = booking.start
        order_line.booking_end = booking.end
        order_line.resource_name = booking.resource_name

    def placed(self, pairs: list[tuple[CartLine, OrderLine]], order, allocation) -> None:
        booking_services.confirm_for_lines(
            [(allocation.bookings[line.pk], order_line) for line, order_line in pairs], order
        )

    def release(self, lines: Iterable[OrderLine], *, why: Release, reason: str, actor) -> None:
        if why in (Release.CANCEL, Release.REFUND):
            order_ids = {line.order_id for line in lines}
            for order_id in sorted(order_ids):
                booking_services.order_bookings_cancel(order_id=order_id, actor=actor, note=reason)


KINDS: dict[str, LineKind] = {
    ProductKind.GOODS: LineKind(),
    ProductKind.SERVICE: ServiceLineKind(),
}


def register(line_kind: LineKind) -> None:
    """Use ``line_kind`` for the lines of its kind (an app's ``ready()`` calls this)."""
    KINDS[line_kind.kind] = line_kind


def by_kind(lines: Iterable) -> list[tuple[LineKind, list]]:
    """The lines grouped by kind, the kinds in their fixed order (the order of ``KINDS``)."""
    grouped: dict[str, list] = {}
    for line in lines:
        grouped.setdefault(line.kind, []).append(line)
    return [(KINDS[kind], grouped[kind]) for kind in KINDS if kind in grouped]
