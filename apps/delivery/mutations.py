from datetime import date
from decimal import Decimal
from typing import Annotated, Union

import strawberry
import strawberry_django
from strawberry import relay
from strawberry_django.fields.types import OperationInfo

from api.permissions import HasPerm, permission_denied
from api.types import resolve_id
from apps.accounts.models import User
from apps.accounts.types import UserType

from . import services
from .models import Delivery, DeliveryAgent, FailureReason
from .types import (
    AgentCashType,
    DeliveryAgentType,
    DeliveryFailureReasonEnum,
    DeliveryType,
)

DeliveryPayload = Annotated[
    Union[DeliveryType, OperationInfo],  # noqa: UP007
    strawberry.union("DeliveryPayload"),
]
DeliveryAgentPayload = Annotated[
    Union[DeliveryAgentType, OperationInfo],  # noqa: UP007
    strawberry.union("DeliveryAgentPayload"),
]
AgentCashPayload = Annotated[
    Union[AgentCashType, OperationInfo],  # noqa: UP007
    strawberry.union("AgentCashPayload"),
]


@strawberry.input(name="DeliveryAgentInput", description="`userId` or `email`, not both.")
class DeliveryAgentInput:
    user_id: relay.GlobalID | None = strawberry.field(
        default=None, description="An existing account."
    )
    email: str | None = strawberry.field(
        default=None,
        description="The account with this email; if there is none, one is made and its owner "
        "emailed a link to choose a password.",
    )
    phone: str
    vehicle: str
    first_name: str | None = strawberry.field(default=None, description="For a new account.")
    last_name: str | None = strawberry.field(default=None, description="For a new account.")


@strawberry.input(name="DeliveryAgentUpdateInput")
class DeliveryAgentUpdateInput:
    phone: str | None = None
    vehicle: str | None = None
    is_active: bool | None = None


def _user(info: strawberry.Info):
    return info.context.request.user


def _me(info: strawberry.Info) -> DeliveryAgent:
    """The caller's courier profile; an inactive agent acts on nothing."""
    agent = DeliveryAgent.objects.filter(user=_user(info)).first()
    if agent is None or not agent.is_active:
        raise permission_denied("You are not an active delivery agent.")
    agent.user = _user(info)
    return agent


def _mine(info: strawberry.Info, id: relay.GlobalID) -> tuple[Delivery, DeliveryAgent]:
    """The delivery ``id`` if it is assigned to the caller; anything else is ``not_found``."""
    agent = _me(info)
    delivery = resolve_id(info, id, DeliveryType, queryset=Delivery.objects.filter(agent=agent))
    return delivery, agent


def _any(info: strawberry.Info, id: relay.GlobalID) -> Delivery:
    return resolve_id(info, id, DeliveryType)


@strawberry.type
class DeliveryMutation:
    # --- staff -----------------------------------------------------------------------------

    @strawberry_django.mutation(
        extensions=[HasPerm("delivery.add_deliveryagent")],
        description="Staff: make a user a delivery agent (an existing account, or one made for "
        "an email), in the `Delivery agent` group.",
    )
    def delivery_agent_create(
        self, info: strawberry.Info, input: DeliveryAgentInput
    ) -> DeliveryAgentPayload:
        user = None
        if input.user_id is not None:
            user = resolve_id(
                info, input.user_id, UserType, field="userId", queryset=User.objects.all()
            )
        return services.agent_create(
            user=user,
            email=input.email,
            phone=input.phone,
            vehicle=input.vehicle,
            first_name=input.first_name or "",
            last_name=input.last_name or "",
        )

    @strawberry_django.mutation(extensions=[HasPerm("delivery.change_deliveryagent")])
    def delivery_agent_update(
        self, info: strawberry.Info, id: relay.GlobalID, input: DeliveryAgentUpdateInput
    ) -> DeliveryAgentPayload:
        return services.agent_update(
            agent=resolve_id(info, id, DeliveryAgentType),
            phone=input.phone,
            vehicle=input.vehicle,
            is_active=input.is_active,
        )

    @strawberry_django.mutation(
        extensions=[HasPerm("delivery.change_delivery")],
        description="Staff: give the delivery to an agent, or to another one while it is under "
        "way; reassigning unlocks a delivery locked by wrong codes.",
    )
    def delivery_assign(
        self, info: strawberry.Info, id: relay.GlobalID, agent_id: relay.GlobalID
    ) -> DeliveryPayload:
        delivery = _any(info, id)
        agent = resolve_id(info, agent_id, DeliveryAgentType, field="agentId")
        return services.delivery_assign(delivery=delivery, agent=agent, actor=_user(info))

    @strawberry_django.mutation(
        extensions=[HasPerm("delivery.change_delivery")],
        description="Staff: the goods of a failed delivery are back: they return to stock, and "
        "the order is refunded (paid) or cancelled (cash on delivery).",
    )
    def delivery_return(
        self, info: strawberry.Info, id: relay.GlobalID, note: str | None = None
    ) -> DeliveryPayload:
        return services.delivery_return(delivery=_any(info, id), actor=_user(info), note=note or "")

    @strawberry_django.mutation(
        extensions=[HasPerm("delivery.add_cashhandin")],
        description="Staff: an agent hands in the cash they collected on `date`: exactly what "
        "they still hold for that day (`cash_mismatch` otherwise).",
    )
    def agent_cash_hand_in(
        self, info: strawberry.Info, agent_id: relay.GlobalID, date: date, amount: Decimal
    ) -> AgentCashPayload:
        agent = resolve_id(info, agent_id, DeliveryAgentType, field="agentId")
        row = services.cash_hand_in(agent=agent, day=date, amount=amount, actor=_user(info))
        return AgentCashType.of(row)

    # --- the assigned agent ----------------------------------------------------------------

    @strawberry_django.mutation(
        extensions=[HasPerm("delivery.deliver")],
        description="The agent has the goods: the order is SHIPPED.",
    )
    def delivery_pick_up(self, info: strawberry.Info, id: relay.GlobalID) -> DeliveryPayload:
        delivery, agent = _mine(info, id)
        return services.delivery_pick_up(delivery=delivery, agent=agent)

    @strawberry_django.mutation(
        extensions=[HasPerm("delivery.deliver")],
        description="Out for delivery (again after a failed attempt): the buyer is emailed "
        "and notified this attempt's 6-digit code.",
    )
    def delivery_start(self, info: strawberry.Info, id: relay.GlobalID) -> DeliveryPayload:
        delivery, agent = _mine(info, id)
        return services.delivery_start(delivery=delivery, agent=agent)

    @strawberry_django.mutation(
        extensions=[HasPerm("delivery.deliver")],
        description="Where you are, while the delivery is on its way (picked up or out for "
        "delivery); one position every few seconds at most.",
    )
    def delivery_location_update(
        self, info: strawberry.Info, id: relay.GlobalID, latitude: float, longitude: float
    ) -> DeliveryPayload:
        delivery, agent = _mine(info, id)
        return services.delivery_location_update(
            delivery=delivery, agent=agent, latitude=latitude, longitude=longitude
        )

    @strawberry_django.mutation(
        extensions=[HasPerm("delivery.deliver")],
        description="Handed over: with the buyer's code, and for a cash order exactly "
        "`cashToCollect` (`cash_mismatch` otherwise). The order is DELIVERED (and a cash order "
        "paid). Five wrong codes lock the delivery until staff reassign it.",
    )
    def delivery_complete(
        self,
        info: strawberry.Info,
        id: relay.GlobalID,
        code: str,
        cash_collected: Decimal | None = None,
        recipient_name: str | None = None,
    ) -> DeliveryPayload:
        delivery, agent = _mine(info, id)
        return services.delivery_complete(
            delivery=delivery,
            agent=agent,
            code=code,
            cash_collected=cash_collected,
            recipient_name=recipient_name or "",
        )

    @strawberry_django.mutation(
        extensions=[HasPerm("delivery.deliver")],
        description="The attempt failed at the door. Set out again with `deliveryStart`, or "
        "bring the goods back (staff then use `deliveryReturn`).",
    )
    def delivery_fail(
        self,
        info: strawberry.Info,
        id: relay.GlobalID,
        reason: DeliveryFailureReasonEnum,
        note: str | None = None,
    ) -> DeliveryPayload:
        delivery, agent = _mine(info, id)
        return services.delivery_fail(
            delivery=delivery, agent=agent, reason=FailureReason(reason), note=note or ""
        )
