from decimal import Decimal
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry
import strawberry_django
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count, F, Model, Prefetch, Q, QuerySet, Sum
from strawberry import auto, relay
from strawberry_django.optimizer import mark_optimized_by_prefetching

from api.grants import granted
from api.types import Money
from apps.bookings.types import BookingType, SlotInput
from apps.catalog.models import Category, Product, ProductImage, ProductKind, ProductVariant
from apps.catalog.types import ProductKindEnum
from apps.core.visibility import visible_to

from .models import Cart, CartLine
from .services import shipping_for

if TYPE_CHECKING:
    from apps.catalog.types import ProductVariantType

VariantRef = Annotated["ProductVariantType", strawberry.lazy("apps.catalog.types")]


def _columns(prefix: str, model: type[Model]) -> list[str]:
    return [f"{prefix}{field.name}" for field in model._meta.concrete_fields]


def _variant_images(info: strawberry.Info) -> Prefetch:
    """The images of the line's product as ``ProductImageType`` shows them, in one query.

    Marked as prefetched so that ``Product.images`` uses these rows instead of running the
    type's ``get_queryset`` again for every product.
    """
    from apps.catalog.types import ProductImageType

    images = ProductImageType.get_queryset(ProductImage.objects.all(), info)
    return Prefetch("variant__product__images", queryset=mark_optimized_by_prefetching(images))


# A line's variant is shown even when it was deactivated later (then `available` is false), so
# it is joined here rather than through `ProductVariantType.get_queryset`, which would hide it.
# The optimizer cannot see through a resolver: load whole rows, or every field read from the
# variant or its product would be a deferred load, one query per line.
_VARIANT_HINTS = {
    "select_related": ["variant__product__category"],
    "only": [
        *_columns("variant__", ProductVariant),
        *_columns("variant__product__", Product),
        *_columns("variant__product__category__", Category),
    ],
    "prefetch_related": [_variant_images],
}


@strawberry_django.type(CartLine, name="CartLine")
class CartLineType(relay.Node):
    id: relay.NodeID[int]
    kind: ProductKindEnum
    quantity: auto

    @strawberry_django.field(**_VARIANT_HINTS)
    def variant(self) -> VariantRef:
        return self.variant

    @strawberry_django.field(select_related=["variant"], only=["variant__price"])
    def unit_price(self) -> Money:
        return Money.of(self.variant.price)

    @strawberry_django.field(select_related=["variant"], only=["quantity", "variant__price"])
    def line_total(self) -> Money:
        return Money.of(self.variant.price * self.quantity)

    @strawberry_django.field(
        select_related=["variant__product"],
        only=["variant__is_active", "variant__product__is_active"],
        description="False once the variant or product is deactivated.",
    )
    def available(self) -> bool:
        return self.available

    @strawberry_django.field(
        select_related=["booking__resource"],
        description="A service line: the slot it holds (null for goods).",
    )
    def booking(self) -> BookingType | None:
        try:
            return self.booking
        except ObjectDoesNotExist:
            return None

    @classmethod
    def get_queryset(cls, queryset: QuerySet[CartLine], info: strawberry.Info, **kwargs):
        # The lines of the customer's own carts, or of the cart whose token was given.
        return visible_to(
            info.context.request.user,
            queryset,
            owner="cart__user",
            public=granted(info, Cart, through="cart__"),
        )


_SHIPS = Q(kind__in=[kind.value for kind in ProductKind if kind.ships])


def _totals(cart: Cart) -> dict:
    """Quantity, subtotal and shipping of the cart's available lines, as checkout will charge
    them (one query, cached on the cart)."""
    if not hasattr(cart, "_totals"):
        available = Q(variant__is_active=True, variant__product__is_active=True)
        amount = F("quantity") * F("variant__price")
        totals = CartLine.objects.filter(available, cart=cart).aggregate(
            items=Sum("quantity"),
            amount=Sum(amount),
            shippable=Sum(amount, filter=_SHIPS),
            shipping_lines=Count("pk", filter=_SHIPS),
        )
        subtotal = totals["amount"] or Decimal("0.00")
        ships = bool(totals["shipping_lines"])
        shipping = shipping_for(totals["shippable"] or Decimal("0.00"), ships=ships)
        cart._totals = {
            "items": totals["items"] or 0,
            "subtotal": subtotal,
            "ships": ships,
            "shipping": shipping,
            "total": subtotal + shipping,
        }
    return cart._totals


@strawberry_django.type(Cart, name="Cart")
class CartType:
    token: UUID = strawberry_django.field(description="Keep it: it is the key to a guest cart.")
    lines: list[CartLineType]
    updated_at: auto

    @strawberry_django.field(description="Items in the available lines.")
    def total_quantity(self) -> int:
        return _totals(self)["items"]

    @strawberry_django.field(description="Current prices of the available lines.")
    def subtotal(self) -> Money:
        return Money.of(_totals(self)["subtotal"])

    @strawberry_django.field(description="Some available line ships: checkout asks an address.")
    def requires_shipping(self) -> bool:
        return _totals(self)["ships"]

    @strawberry_django.field(
        description="What checkout will charge for shipping: the flat fee on the lines that "
        "ship, nothing from `freeShippingThreshold` up or when nothing ships."
    )
    def shipping_total(self) -> Money:
        return Money.of(_totals(self)["shipping"])

    @strawberry_django.field(description="The subtotal and shipping: what checkout will charge.")
    def total(self) -> Money:
        return Money.of(_totals(self)["total"])

    @strawberry_django.field(
        description="From this subtotal of the lines that ship up, shipping is free."
    )
    def free_shipping_threshold(self) -> Money:
        return Money.of(settings.FREE_SHIPPING_THRESHOLD)


@strawberry.input(name="CartLineInput")
class CartLineInput:
    variant_id: relay.GlobalID
    quantity: int = strawberry.field(description="Units of goods, or seats of a service.")
    slot: SlotInput | None = strawberry.field(
        default=None, description="A service only, and required for it: the slot to hold."
    )


@strawberry.input(name="CartLineUpdateInput", description="Quantity 0 removes the line.")
class CartLineUpdateInput:
    line_id: relay.GlobalID
    quantity: int
    slot: SlotInput | None = strawberry.field(
        default=None, description="A service line only: move its hold to another slot."
    )
