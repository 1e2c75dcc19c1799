from uuid import UUID

import strawberry
import strawberry_django
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.crypto import constant_time_compare
from strawberry import relay
from strawberry_django.optimizer import optimize

from api.grants import grant
from api.permissions import HasPerm
from api.types import CountableConnection, PublicError, StablyOrderedField, node_pk, search_text
from apps.core.errors import CoreErrorCode
from apps.core.ratelimit import enforce_rate_limit
from apps.core.validation import fold

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

    @strawberry_django.field(
        description="A guest's order, by its number and the email it was placed with (rate "
        "limited). A pair that does not match answers null, exactly as an unknown number."
    )
    def order_lookup(self, info: strawberry.Info, number: str, email: str) -> OrderType | None:
        request = info.context.request
        try:
            enforce_rate_limit(request, group="order-lookup", account=number)
        except ValidationError as error:  # a nullable field: a top-level error
            raise PublicError(error.messages[0], code=CoreErrorCode.RATE_LIMITED) from None
        number = search_text(number, argument="number")
        found = Order.objects.filter(number__iexact=number).values_list("pk", "email").first()
        if found is None or not constant_time_compare(fold(found[1]), fold(email)):
            return None
        grant(info, Order, Q(pk=found[0]))
        return optimize(Order.objects.filter(pk=found[0]), info).first()
