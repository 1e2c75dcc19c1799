from uuid import UUID

import strawberry
import strawberry_django
from django.db.models import Q
from strawberry import relay
from strawberry_django.optimizer import optimize

from api.grants import grant
from api.permissions import HasPerm
from api.types import CountableConnection, StablyOrderedField, node_pk

from .models import Order
from .types import OrderFilter, OrderOrder, OrderType


@strawberry.type
class OrderQuery:
    orders: CountableConnection[OrderType] = strawberry_django.connection(
        filters=OrderFilter,
        ordering=OrderOrder,
        field_cls=StablyOrderedField,
        extensions=[HasPerm("orders.view_order")],
        description="Staff: every order, newest first unless `ordering` says otherwise.",
    )

    @strawberry_django.field(description="An order of yours (or any order, for staff).")
    def order(self, info: strawberry.Info, id: relay.GlobalID) -> OrderType | None:
        pk = node_pk(id, "Order")
        if pk is None:
            return None
        queryset = OrderType.get_queryset(Order.objects.filter(pk=pk), info)
        return optimize(queryset, info).first()

    @strawberry_django.field(description="A guest's order, by the secret token of its link.")
    def order_by_token(self, info: strawberry.Info, token: UUID) -> OrderType | None:
        grant(info, Order, Q(token=token))  # the secret of the link: the order and its lines
        return optimize(Order.objects.filter(token=token), info).first()
