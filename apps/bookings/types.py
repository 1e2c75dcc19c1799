from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
import strawberry_django
from django.db.models import Q, QuerySet
from strawberry import auto, relay

from api.grants import granted
from apps.catalog.types import ProductVariantType
from apps.core.visibility import visible_to

from .models import Booking, BookingStatus, Resource, ServiceSettings, TimeOff, WeeklyHours

if TYPE_CHECKING:
    from apps.orders.types import OrderType

OrderRef = Annotated["OrderType", strawberry.lazy("apps.orders.types")]

ResourceKindEnum = strawberry.enum(Resource.Kind, name="ResourceKind")
BookingStatusEnum = strawberry.enum(BookingStatus, name="BookingStatus")


@strawberry.type(name="WeeklyHours", description="Opening hours of one weekday, local time.")
class WeeklyHoursType:
    weekday: int = strawberry.field(description="ISO weekday: 1 is Monday, 7 Sunday.")
    start: str = strawberry.field(description='Local wall-clock time, "09:00".')
    end: str

    @classmethod
    def of(cls, hours: WeeklyHours) -> "WeeklyHoursType":
        return cls(weekday=hours.weekday, start=f"{hours.start:%H:%M}", end=f"{hours.end:%H:%M}")


@strawberry_django.type(TimeOff, name="TimeOff")
class TimeOffType(relay.Node):
    id: relay.NodeID[int]
    start: auto
    end: auto
    reason: auto

    @classmethod
    def get_queryset(cls, queryset: QuerySet[TimeOff], info: strawberry.Info, **kwargs):
        return visible_to(info.context.request.user, queryset)  # staff only


@strawberry_django.type(Resource, name="Resource")
class ResourceType(relay.Node):
    id: relay.NodeID[int]
    name: auto
    time_zone: str = strawberry_django.field(description="IANA time zone, e.g. Europe/Paris.")
    is_active: auto

    @strawberry_django.field(only=["kind"])
    def kind(self) -> ResourceKindEnum:
        return Resource.Kind(self.kind)

    @strawberry_django.field(
        prefetch_related=["weekly_hours"],
        description="Staff only (an empty list for others): free slots are what buyers see.",
    )
    def weekly_hours(self, info: strawberry.Info) -> list[WeeklyHoursType]:
        if not info.context.request.user.has_perm("bookings.view_resource"):
            return []
        return [WeeklyHoursType.of(hours) for hours in self.weekly_hours.all()]

    time_off: list[TimeOffType] = strawberry_django.field(
        description="Staff only (an empty list for others): the resource's time off."
    )

    @classmethod
    def get_queryset(cls, queryset: QuerySet[Resource], info: strawberry.Info, **kwargs):
        return visible_to(info.context.request.user, queryset, public=Q(is_active=True))


@strawberry_django.type(ServiceSettings, name="ServiceSettings")
class ServiceSettingsType:
    buffer_before_minutes: auto
    buffer_after_minutes: auto
    slot_interval_minutes: auto
    minimum_notice_minutes: auto
    maximum_advance_days: auto
    seats_per_slot: auto
    cancellation_window_hours: auto
    resources: list[ResourceType]


@strawberry.type(name="TimeSlot", description="A slot that can be booked now.")
class TimeSlotType:
    start: datetime
    end: datetime
    seats_left: int
    resource: ResourceType


@strawberry_django.type(Booking, name="Booking")
class BookingType(relay.Node):
    id: relay.NodeID[int]
    start: auto
    end: auto
    seats: auto
    product_name: auto
    variant_name: auto
    variant: ProductVariantType | None
    hold_expires_at: datetime | None = strawberry_django.field(
        description="A held slot is the buyer's until then; afterwards it is taken again at "
        "checkout if it is still free."
    )
    order: OrderRef | None
    created_at: auto
    updated_at: auto

    @strawberry_django.field(only=["status"])
    def status(self) -> BookingStatusEnum:
        return BookingStatus(self.status)

    @strawberry_django.field(
        select_related=["resource"],
        description="Who or what delivers it, even once it stopped taking bookings.",
    )
    def resource(self) -> ResourceType:
        # Not filtered by ResourceType's rule (an inactive resource is hidden from buyers):
        # a booking always has its resource, and a null here would break the whole response.
        return self.resource

    @classmethod
    def get_queryset(cls, queryset: QuerySet[Booking], info: strawberry.Info, **kwargs):
        # Its buyer's, the ones a secret grants (a guest's cart or order), staff's, and the
        # holds in the customer's own cart (a guest's cart merged at sign-in brings its holds).
        user = info.context.request.user
        public = Q(pk__in=[])
        if user.is_authenticated:
            public |= Q(cart_line__cart__user=user.pk)
        for model, through in (("cart.Cart", "cart_line__cart__"), ("orders.Order", "order__")):
            condition = granted(info, model, through=through)
            if condition is not None:
                public |= condition
        return visible_to(user, queryset, owner="user", public=public)


@strawberry.input(name="SlotInput", description="The slot to book: from `availableSlots`.")
class SlotInput:
    start: datetime
    resource_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Any resource that offers the service when omitted."
    )


@strawberry_django.filter_type(Booking, name="BookingFilter")
class BookingFilter:
    @strawberry_django.filter_field
    def status(self, queryset, value: list[BookingStatusEnum], prefix: str):
        return queryset, Q(**{f"{prefix}status__in": [BookingStatus(v).value for v in value]})

    @strawberry_django.filter_field(description="Starting at or after this moment.")
    def start_after(self, queryset, value: datetime, prefix: str):
        return queryset, Q(**{f"{prefix}start__gte": value})

    @strawberry_django.filter_field(description="Starting before this moment.")
    def start_before(self, queryset, value: datetime, prefix: str):
        return queryset, Q(**{f"{prefix}start__lt": value})

    @strawberry_django.filter_field
    def resource_id(self, queryset, value: relay.GlobalID, prefix: str):
        from api.types import node_pk

        return queryset, Q(**{f"{prefix}resource_id": node_pk(value, "Resource") or -1})


@strawberry_django.order_type(Booking, name="BookingOrder")
class BookingOrder:
    start: auto
    created_at: auto


@strawberry.input(
    name="ServiceSettingsInput",
    description="How a service is booked; a field left out keeps its value (or its default).",
)
class ServiceSettingsInput:
    buffer_before_minutes: int | None = None
    buffer_after_minutes: int | None = None
    slot_interval_minutes: int | None = None
    minimum_notice_minutes: int | None = None
    maximum_advance_days: int | None = None
    seats_per_slot: int | None = None
    cancellation_window_hours: int | None = None
    resource_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="The resources that deliver it (replaces them)."
    )
