from datetime import date

import strawberry
import strawberry_django
from django.db.models import QuerySet

from api.permissions import HasPerm
from api.types import CountableConnection, StablyOrderedField

from . import services
from .models import Delivery
from .types import AgentCashType, DeliveryAgentType, DeliveryFilter, DeliveryOrder, DeliveryType


@strawberry.type
class DeliveryQuery:
    deliveries: CountableConnection[DeliveryType] = strawberry_django.connection(
        filters=DeliveryFilter,
        ordering=DeliveryOrder,
        field_cls=StablyOrderedField,
        extensions=[HasPerm("delivery.view_delivery")],
        description="Staff: every delivery, oldest first unless `ordering` says otherwise.",
    )
    delivery_agents: CountableConnection[DeliveryAgentType] = strawberry_django.connection(
        field_cls=StablyOrderedField,
        extensions=[HasPerm("delivery.view_deliveryagent")],
        description="Staff: the couriers, by name.",
    )

    @strawberry_django.connection(
        CountableConnection[DeliveryType],
        filters=DeliveryFilter,
        ordering=DeliveryOrder,
        field_cls=StablyOrderedField,
        extensions=[HasPerm("delivery.deliver")],
        description="A delivery agent: the deliveries assigned to you, oldest first unless "
        "`ordering` says otherwise (`filters: {isOpen: true}` for today's round).",
    )
    def my_deliveries(self, info: strawberry.Info) -> QuerySet[Delivery]:
        return Delivery.objects.filter(agent__user=info.context.request.user)

    @strawberry_django.field(
        extensions=[HasPerm("delivery.view_delivery")],
        description="Staff: for each agent, the cash collected on `date` (shop time), what of "
        "it was handed in, and what is still outstanding.",
    )
    def agent_cash_report(self, date: date) -> list[AgentCashType]:
        return [AgentCashType.of(row) for row in services.cash_report(day=date)]
