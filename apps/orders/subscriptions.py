from collections.abc import AsyncGenerator
from uuid import UUID

import strawberry
from django.db.models import Q
from strawberry import relay

from api.grants import grant
from api.subscriptions import Reader, answers, follow, not_found, read
from api.types import node_pk

from .models import Order
from .services import order_group
from .types import OrderType


@strawberry.type
class OrderSubscription:
    @strawberry.subscription(
        description="The order each time it changes: its status and payment, its delivery "
        "(status, position) and its bookings. Its buyer, a guest with its secret `token`, or "
        "staff; anyone else gets `not_found`, and the subscription ends."
    )
    async def order_updated(
        self, info: strawberry.Info, id: relay.GlobalID, token: UUID | None = None
    ) -> AsyncGenerator[OrderType, None]:
        pk = node_pk(id, "Order")
        if token is not None:
            grant(info, Order, Q(token=token))
        reader = Reader(OrderType, Order)
        if pk is None or await read(reader, info, pk) is None:
            raise not_found("Order")
        async with follow(info, [order_group(pk)]) as events:
            # ends when the order is no longer visible (deleted, or the grant no longer holds)
            async for order in answers(
                info, events, reader, lambda _: (pk,), end_when_missing=True
            ):
                yield order
