from typing import Annotated, Union

import strawberry
import strawberry_django
from django.db.models import Q
from strawberry import relay
from strawberry.utils.str_converters import to_camel_case
from strawberry_django.fields.types import OperationInfo
from strawberry_django.optimizer import optimize

from api.grants import grant
from api.permissions import HasPerm, IsAuthenticated
from api.rows import selected_names
from api.types import node_pk, not_found, resolve_id
from apps.accounts.models import Address
from apps.accounts.types import AddressType

from . import services
from .models import Order
from .types import CheckoutInput, OrderStatusEnum, OrderType

OrderPayload = Annotated[
    Union[OrderType, OperationInfo],  # noqa: UP007
    strawberry.union("OrderPayload"),
]


# Fields that would read other tables (the model's relations, by their GraphQL names); every
# other field of Order is a column of the order itself.
_RELATIONS = {to_camel_case(f.name) for f in Order._meta.get_fields() if f.is_relation}


def _payload(info: strawberry.Info, order: Order) -> Order:
    """The order a mutation just wrote, read back with what the client selected.

    The service's instance holds every column as written; only a selection that reaches into
    related rows needs the optimized read.
    """
    if selected_names(info.selected_fields[0].selections).isdisjoint(_RELATIONS):
        return order
    grant(info, Order, Q(pk=order.pk))  # the buyer sees what they placed, guests included
    return optimize(Order.objects.filter(pk=order.pk), info).get()


def _own_address(user, gid: relay.GlobalID) -> Address:
    """An entry of the caller's own address book (a guest has none), else ``not_found``."""
    pk = node_pk(gid, AddressType.__strawberry_definition__.name)
    address = None
    if pk is not None and user.is_authenticated:
        address = user.addresses.filter(pk=pk).first()
    if address is None:
        raise not_found("shippingAddressId", "Address")
    return address


def _address_dict(value) -> dict | None:
    return strawberry.asdict(value) if value is not None else None


@strawberry.type
class OrderMutation:
    @strawberry_django.mutation(
        description="Place the order: stock is taken, the cart closed, the confirmation emailed."
    )
    def checkout_complete(self, info: strawberry.Info, input: CheckoutInput) -> OrderPayload:
        user = info.context.request.user
        saved_address = None
        if input.shipping_address_id is not None:
            saved_address = _own_address(user, input.shipping_address_id)
        order = services.checkout_complete(
            cart_token=input.cart_token,
            user=user,
            payment_method=input.payment_method.value,
            idempotency_key=input.idempotency_key,
            email=input.email,
            shipping_address=_address_dict(input.shipping_address),
            saved_address=saved_address,
            billing_address=_address_dict(input.billing_address),
            note=input.note or "",
            expected_total=input.expected_total,
        )
        # The buyer sees the order even as a guest (its token is the key to it).
        return _payload(info, order)

    @strawberry_django.mutation(
        extensions=[IsAuthenticated()],
        description="Cancel your PENDING or PAID order (staff: any cancellable order).",
    )
    def order_cancel(
        self, info: strawberry.Info, id: relay.GlobalID, reason: str | None = None
    ) -> OrderPayload:
        user = info.context.request.user
        order = services.order_cancel(
            order=resolve_id(info, id, OrderType),
            actor=user,
            reason=reason or "",
            as_staff=user.has_perm("orders.change_order"),
        )
        return _payload(info, order)

    @strawberry_django.mutation(extensions=[HasPerm("orders.change_order")])
    def order_status_update(
        self,
        info: strawberry.Info,
        id: relay.GlobalID,
        status: OrderStatusEnum,
        note: str | None = None,
    ) -> OrderPayload:
        order = services.order_transition(
            order=resolve_id(info, id, OrderType),
            status=status.value,
            actor=info.context.request.user,
            note=note or "",
        )
        return _payload(info, order)
