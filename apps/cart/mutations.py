from typing import Annotated, Union
from uuid import UUID

import strawberry
import strawberry_django
from django.core.exceptions import ValidationError
from django.db.models import Q
from strawberry import relay
from strawberry_django.fields.types import OperationInfo
from strawberry_django.optimizer import optimize

from api.grants import grant
from api.types import node_pk, resolve_id, resolve_ids
from apps.bookings.types import ResourceType
from apps.catalog.models import ProductVariant
from apps.catalog.types import ProductVariantType
from apps.core.errors import CoreErrorCode

from . import services
from .models import Cart
from .types import CartLineInput, CartLineType, CartLineUpdateInput, CartType

CartPayload = Annotated[
    Union[CartType, OperationInfo],  # noqa: UP007
    strawberry.union("CartPayload"),
]


def _cart(info: strawberry.Info, token: UUID | None, *, required: bool = True) -> Cart | None:
    cart = services.cart_for(token=token, user=info.context.request.user)
    if cart is None and (required or token is not None):
        raise ValidationError(
            {
                "cartToken": ValidationError(
                    "No cart found with this token.", code=CoreErrorCode.NOT_FOUND
                )
            }
        )
    return cart


def _payload(info: strawberry.Info, cart: Cart) -> Cart:
    grant(info, Cart, Q(pk=cart.pk))  # reached by its token or by its customer
    return optimize(Cart.objects.filter(pk=cart.pk), info).get()


@strawberry.type
class CartMutation:
    @strawberry_django.mutation(
        description="Add lines; without a token a customer uses their cart, a guest gets a new one."
    )
    def cart_lines_add(
        self, info: strawberry.Info, lines: list[CartLineInput], cart_token: UUID | None = None
    ) -> CartPayload:
        cart = _cart(info, cart_token, required=False)
        variants = resolve_ids(
            info,
            [line.variant_id for line in lines],
            ProductVariantType,
            field="lines.{}.variantId",
            queryset=ProductVariant.objects.active().select_related("product"),
        )
        cart = services.cart_lines_add(
            cart=cart,
            user=info.context.request.user,
            lines=[
                services.NewLine(
                    variant=variant,
                    quantity=line.quantity,
                    slot=_slot(info, line.slot, field=f"lines.{index}.slot.resourceId"),
                )
                for index, (variant, line) in enumerate(zip(variants, lines, strict=True))
            ],
        )
        return _payload(info, cart)

    @strawberry_django.mutation(description="Set line quantities; 0 removes a line.")
    def cart_lines_update(
        self,
        info: strawberry.Info,
        lines: list[CartLineUpdateInput],
        cart_token: UUID | None = None,
    ) -> CartPayload:
        cart = _cart(info, cart_token)
        ids = _line_pks([line.line_id for line in lines], field="lines.{}.lineId")
        cart = services.cart_lines_update(
            cart=cart,
            lines=[
                services.LineChange(
                    line_id=pk,
                    quantity=line.quantity,
                    slot=_slot(info, line.slot, field=f"lines.{index}.slot.resourceId"),
                )
                for index, (pk, line) in enumerate(zip(ids, lines, strict=True))
            ],
        )
        return _payload(info, cart)

    @strawberry_django.mutation
    def cart_lines_remove(
        self, info: strawberry.Info, line_ids: list[relay.GlobalID], cart_token: UUID | None = None
    ) -> CartPayload:
        cart = _cart(info, cart_token)
        cart = services.cart_lines_remove(
            cart=cart, line_ids=_line_pks(line_ids, field="lineIds.{}")
        )
        return _payload(info, cart)


def _slot(info: strawberry.Info, slot, *, field: str) -> services.Slot | None:
    if slot is None:
        return None
    resource = None
    if slot.resource_id is not None:
        resource = resolve_id(info, slot.resource_id, ResourceType, field=field)
    return services.Slot(start=slot.start, resource=resource)


def _line_pks(gids: list[relay.GlobalID], *, field: str) -> list[int]:
    name = CartLineType.__strawberry_definition__.name
    pks = []
    for index, gid in enumerate(gids):
        pk = node_pk(gid, name)
        if pk is None:
            raise ValidationError(
                {
                    field.format(index): ValidationError(
                        "No such line in this cart.", code=CoreErrorCode.NOT_FOUND
                    )
                }
            )
        pks.append(pk)
    return pks
