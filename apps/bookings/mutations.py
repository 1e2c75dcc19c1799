from datetime import datetime
from typing import Annotated, Union
from uuid import UUID

import strawberry
import strawberry_django
from django.db.models import Q
from strawberry import relay
from strawberry_django.fields.types import OperationInfo

from api.grants import grant
from api.permissions import HasPerm
from api.types import resolve_id

from . import services
from .models import Booking, BookingStatus, Resource, TimeOff
from .services.resources import Opening
from .types import (
    BookingStatusEnum,
    BookingType,
    ResourceKindEnum,
    ResourceType,
    SlotInput,
    TimeOffType,
)

BookingPayload = Annotated[
    Union[BookingType, OperationInfo],  # noqa: UP007
    strawberry.union("BookingPayload"),
]
ResourcePayload = Annotated[
    Union[ResourceType, OperationInfo],  # noqa: UP007
    strawberry.union("ResourcePayload"),
]


@strawberry.input(name="ResourceInput")
class ResourceInput:
    name: str
    kind: ResourceKindEnum
    time_zone: str = strawberry.field(description="IANA time zone, e.g. Europe/Paris.")
    is_active: bool = True


@strawberry.input(name="ResourceUpdateInput")
class ResourceUpdateInput:
    name: str | None = None
    kind: ResourceKindEnum | None = None
    time_zone: str | None = None
    is_active: bool | None = None


@strawberry.input(name="WeeklyHoursInput", description="Several ranges a day are fine.")
class WeeklyHoursInput:
    weekday: int = strawberry.field(description="ISO weekday: 1 is Monday, 7 Sunday.")
    start: str = strawberry.field(description='Local wall-clock time, "09:00".')
    end: str


def _buyer_booking(info: strawberry.Info, id: relay.GlobalID, order_token: UUID | None) -> Booking:
    """The booking ``id`` if the caller may change it: its customer, a guest holding its
    order's secret token, or staff; otherwise ``not_found``."""
    if order_token is not None:
        grant(info, "orders.Order", Q(token=order_token))
    return resolve_id(info, id, BookingType)


def _resource(info: strawberry.Info, gid: relay.GlobalID | None, field: str) -> Resource | None:
    return None if gid is None else resolve_id(info, gid, ResourceType, field=field)


def _as_staff(info: strawberry.Info) -> bool:
    return info.context.request.user.has_perm("bookings.change_booking")


def _actor(info: strawberry.Info):
    user = info.context.request.user
    return user if user.is_authenticated else None


@strawberry.type
class BookingMutation:
    @strawberry_django.mutation(
        description="Cancel a booking: its buyer (a customer, or a guest with the order's "
        "secret token) until the cancellation window; staff at any time."
    )
    def booking_cancel(
        self,
        info: strawberry.Info,
        id: relay.GlobalID,
        order_token: UUID | None = None,
        reason: str | None = None,
    ) -> BookingPayload:
        return services.booking_cancel(
            booking=_buyer_booking(info, id, order_token),
            actor=_actor(info),
            reason=reason or "",
            as_staff=_as_staff(info),
        )

    @strawberry_django.mutation(
        description="Move a booking to another slot (same rules as bookingCancel): the old "
        "span is freed and the new one taken at once, or nothing changes."
    )
    def booking_reschedule(
        self,
        info: strawberry.Info,
        id: relay.GlobalID,
        slot: SlotInput,
        order_token: UUID | None = None,
    ) -> BookingPayload:
        booking = _buyer_booking(info, id, order_token)
        return services.booking_reschedule(
            booking=booking,
            start=slot.start,
            resource=_resource(info, slot.resource_id, "slot.resourceId"),
            actor=_actor(info),
            as_staff=_as_staff(info),
        )

    @strawberry_django.mutation(
        extensions=[HasPerm("bookings.change_booking")],
        description="Staff: a confirmed booking was delivered (COMPLETED) or missed (NO_SHOW).",
    )
    def booking_status_update(
        self,
        info: strawberry.Info,
        id: relay.GlobalID,
        status: BookingStatusEnum,
        note: str | None = None,
    ) -> BookingPayload:
        return services.booking_status_update(
            booking=resolve_id(info, id, BookingType),
            status=BookingStatus(status),
            actor=_actor(info),
            note=note or "",
        )

    @strawberry_django.mutation(extensions=[HasPerm("bookings.add_resource")])
    def resource_create(self, info: strawberry.Info, input: ResourceInput) -> ResourcePayload:
        return services.resource_create(
            name=input.name,
            kind=Resource.Kind(input.kind),
            time_zone=input.time_zone,
            is_active=input.is_active,
        )

    @strawberry_django.mutation(extensions=[HasPerm("bookings.change_resource")])
    def resource_update(
        self, info: strawberry.Info, id: relay.GlobalID, input: ResourceUpdateInput
    ) -> ResourcePayload:
        return services.resource_update(
            resource=resolve_id(info, id, ResourceType),
            name=input.name,
            kind=Resource.Kind(input.kind) if input.kind is not None else None,
            time_zone=input.time_zone,
            is_active=input.is_active,
        )

    @strawberry_django.mutation(
        extensions=[HasPerm("bookings.change_resource")],
        description="Replace the resource's weekly hours.",
    )
    def resource_weekly_hours_set(
        self, info: strawberry.Info, id: relay.GlobalID, hours: list[WeeklyHoursInput]
    ) -> ResourcePayload:
        return services.resource_weekly_hours_set(
            resource=resolve_id(info, id, ResourceType),
            hours=[Opening(weekday=h.weekday, start=h.start, end=h.end) for h in hours],
        )

    @strawberry_django.mutation(
        extensions=[HasPerm("bookings.change_resource")],
        description="Take the resource off for a span: no new booking is taken there.",
    )
    def resource_time_off_create(
        self,
        info: strawberry.Info,
        resource_id: relay.GlobalID,
        start: datetime,
        end: datetime,
        reason: str | None = None,
    ) -> ResourcePayload:
        resource = resolve_id(info, resource_id, ResourceType, field="resourceId")
        services.resource_time_off_create(
            resource=resource, start=start, end=end, reason=reason or ""
        )
        return resource

    @strawberry_django.mutation(
        extensions=[HasPerm("bookings.change_resource")],
        description="Remove a time off of a resource (`Resource.timeOff`).",
    )
    def resource_time_off_delete(
        self, info: strawberry.Info, id: relay.GlobalID
    ) -> ResourcePayload:
        return services.resource_time_off_delete(
            time_off=resolve_id(
                info, id, TimeOffType, queryset=TimeOff.objects.select_related("resource")
            )
        )
