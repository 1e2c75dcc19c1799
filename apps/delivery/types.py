from datetime import date, datetime

import strawberry
import strawberry_django
from django.db.models import Q, QuerySet
from strawberry import auto, relay

from api.fields import django_field, django_type
from api.grants import granted
from api.types import Money, node_pk
from apps.catalog.models import ProductKind
from apps.core.visibility import visible_to
from apps.orders.models import Order
from apps.orders.types import OrderAddress, OrderLineType, OrderType

from .models import (
    FINISHED,
    UNDER_WAY,
    Delivery,
    DeliveryAgent,
    DeliveryEvent,
    DeliveryStatus,
    FailureReason,
)
from .services.cash import day_span

DeliveryStatusEnum = strawberry.enum(DeliveryStatus, name="DeliveryStatus")
DeliveryFailureReasonEnum = strawberry.enum(FailureReason, name="DeliveryFailureReason")


def _viewer(info: strawberry.Info):
    return info.context.request.user


def _sees_agents(info: strawberry.Info) -> bool:
    return _viewer(info).has_perm("delivery.view_deliveryagent")


@strawberry.type(name="GeoPoint", description="A position (WGS 84) and when it was taken.")
class GeoPoint:
    latitude: float
    longitude: float
    at: datetime


@django_type(
    DeliveryAgent,
    name="DeliveryAgent",
    description="A courier of the shop. A buyer sees their first name, and their phone while "
    "their delivery is out for delivery; staff and the agent see everything.",
)
class DeliveryAgentType(relay.Node):
    id: relay.NodeID[int]
    vehicle: auto
    is_active: auto
    created_at: auto

    def _known(self, info: strawberry.Info) -> bool:
        """Staff, or the agent themselves."""
        user = _viewer(info)
        return self.user_id == user.pk or _sees_agents(info)

    @django_field(select_related=["user"], only=["user__first_name", "user__last_name"])
    def name(self, info: strawberry.Info) -> str:
        return self.name if DeliveryAgentType._known(self, info) else self.first_name

    @django_field(
        only=["phone", "user_id"],
        description="Null unless you may call them: staff, the agent, or the buyer while the "
        "delivery is out for delivery.",
    )
    def phone(self, info: strawberry.Info) -> str | None:
        if DeliveryAgentType._known(self, info):
            return self.phone
        return (
            self.phone
            if getattr(self, "_seen_on", None) == DeliveryStatus.OUT_FOR_DELIVERY
            else None
        )

    @django_field(select_related=["user"], description="Staff and the agent: the account's email.")
    def email(self, info: strawberry.Info) -> str | None:
        return self.user.email if DeliveryAgentType._known(self, info) else None

    @classmethod
    def get_queryset(cls, queryset: QuerySet[DeliveryAgent], info: strawberry.Info, **kwargs):
        return visible_to(_viewer(info), queryset, owner="user")


@django_type(DeliveryEvent, name="DeliveryEvent")
class DeliveryEventType:
    note: auto
    created_at: auto

    @django_field(only=["status"])
    def status(self) -> DeliveryStatusEnum:
        return DeliveryStatus(self.status)

    @django_field(only=["latitude", "longitude", "created_at"])
    def location(self) -> GeoPoint | None:
        if self.latitude is None:
            return None
        return GeoPoint(latitude=self.latitude, longitude=self.longitude, at=self.created_at)


@django_type(
    Delivery,
    name="Delivery",
    description="How the goods of an order reach its buyer. Its buyer sees its status, the "
    "agent's first name and, while it is on its way, where the agent is; never its code.",
)
class DeliveryType(relay.Node):
    id: relay.NodeID[int]
    attempts: int = django_field(description="Times it went out for delivery.")
    events: list[DeliveryEventType]
    recipient_name: str = django_field(description="Who took it, if the agent said.")
    delivered_at: auto
    created_at: auto
    updated_at: auto

    @django_field(only=["status"])
    def status(self) -> DeliveryStatusEnum:
        return DeliveryStatus(self.status)

    @django_field(
        select_related=["order", "agent"],
        description="The order, for those who may see it: its buyer and staff. Its courier "
        "sees what the delivery needs instead (`orderNumber`, `address`, `lines`, "
        "`instructions`, `cashToCollect`), never the buyer's account or the order's secrets.",
    )
    def order(self, info: strawberry.Info) -> OrderType | None:
        user = _viewer(info)
        if user.has_perm("orders.view_order"):
            return self.order
        if user.is_authenticated and self.order.user_id == user.pk:
            return self.order
        if self.agent is not None and self.agent.user_id == user.pk:
            return None  # the courier, and not the buyer: no query needed
        visible = OrderType.get_queryset(Order.objects.filter(pk=self.order_id), info)
        return self.order if visible.exists() else None  # a guest holding the order's token

    @django_field(select_related=["order"], only=["order__number"])
    def order_number(self) -> str:
        return self.order.number

    @django_field(
        select_related=["order"],
        only=["order__note"],
        description="What the buyer wrote with the order (where to leave it, a door code).",
    )
    def instructions(self) -> str:
        return self.order.note

    @django_field(only=["failure_reason"], description="Why the last attempt failed.")
    def failure_reason(self) -> DeliveryFailureReasonEnum | None:
        return FailureReason(self.failure_reason) if self.failure_reason else None

    @django_field(
        # The agent comes with the delivery (a join), with every column its type reads: the
        # join makes Django skip the optimizer's prefetch of the agent, and a column left out
        # would be loaded again for each delivery.
        select_related=["agent__user"],
        only=[
            "status",
            "agent__phone",
            "agent__vehicle",
            "agent__is_active",
            "agent__created_at",
        ],
    )
    def agent(self) -> DeliveryAgentType | None:
        agent = self.agent
        if agent is not None:
            agent._seen_on = self.status  # what a buyer may see of them depends on it
        return agent

    @django_field(
        select_related=["order"],
        only=["order__shipping_address"],
        description="Where it goes, as the order has it.",
    )
    def address(self) -> OrderAddress:
        return OrderAddress.of(self.order.shipping_address or {})

    @django_field(
        prefetch_related=["order__lines"], description="What it carries: the order's goods."
    )
    def lines(self) -> list[OrderLineType]:
        return [line for line in self.order.lines.all() if line.kind == ProductKind.GOODS]

    @django_field(only=["cash_to_collect"], description="Zero for a paid order.")
    def cash_to_collect(self) -> Money:
        return Money.of(self.cash_to_collect)

    @django_field(only=["cash_collected"])
    def cash_collected(self) -> Money | None:
        return None if self.cash_collected is None else Money.of(self.cash_collected)

    @django_field(
        only=["code_failures"],
        description="Too many wrong codes: the agent cannot complete it until staff reassign it.",
    )
    def is_locked(self) -> bool:
        return self.is_locked

    @django_field(
        select_related=["agent"],
        only=["latitude", "longitude", "located_at", "status", "agent__user_id"],
        description="Where the agent last was. Its buyer sees it while it is on its way.",
    )
    def last_location(self, info: strawberry.Info) -> GeoPoint | None:
        if self.located_at is None:
            return None
        user = _viewer(info)
        own = self.agent is not None and self.agent.user_id == user.pk
        if not (own or user.has_perm("delivery.view_delivery")) and self.status not in UNDER_WAY:
            return None
        return GeoPoint(latitude=self.latitude, longitude=self.longitude, at=self.located_at)

    @classmethod
    def get_queryset(cls, queryset: QuerySet[Delivery], info: strawberry.Info, **kwargs):
        """Staff see every delivery; an agent theirs; a buyer their orders' (a guest the
        order whose token they hold)."""
        return visible_to(
            _viewer(info),
            queryset,
            owner=("agent__user", "order__user"),
            public=granted(info, Order, through="order__"),
        )


@strawberry_django.filter_type(Delivery, name="DeliveryFilter")
class DeliveryFilter:
    @strawberry_django.filter_field
    def status(self, queryset, value: list[DeliveryStatusEnum], prefix: str):
        return queryset, Q(**{f"{prefix}status__in": [DeliveryStatus(v).value for v in value]})

    @strawberry_django.filter_field(description="Not yet delivered, returned or cancelled.")
    def is_open(self, queryset, value: bool, prefix: str):
        condition = Q(**{f"{prefix}status__in": list(FINISHED)})
        return queryset, ~condition if value else condition

    @strawberry_django.filter_field
    def agent_id(self, queryset, value: relay.GlobalID, prefix: str):
        return queryset, Q(**{f"{prefix}agent_id": node_pk(value, "DeliveryAgent") or -1})

    @strawberry_django.filter_field(description="Placed on this day (shop time).")
    def date(self, queryset, value: date, prefix: str):
        start, end = day_span(value)
        return queryset, Q(**{f"{prefix}created_at__gte": start, f"{prefix}created_at__lt": end})


@strawberry_django.order_type(Delivery, name="DeliveryOrder")
class DeliveryOrder:
    created_at: auto
    updated_at: auto
    status: auto


@strawberry.type(name="AgentCash", description="The cash an agent collected on one day.")
class AgentCashType:
    agent: DeliveryAgentType
    day: date = strawberry.field(name="date", description="The day (shop time).")
    collected: Money
    handed_in: Money
    outstanding: Money = strawberry.field(description="Collected, not yet handed in.")
    deliveries: int = strawberry.field(description="Cash deliveries made that day.")

    @classmethod
    def of(cls, row) -> "AgentCashType":
        return cls(
            agent=row.agent,
            day=row.day,
            collected=Money.of(row.collected),
            handed_in=Money.of(row.handed_in),
            outstanding=Money.of(row.outstanding),
            deliveries=row.deliveries,
        )
