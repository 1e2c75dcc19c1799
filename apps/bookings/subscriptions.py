from collections.abc import AsyncGenerator

import strawberry
from strawberry import relay

from api.subscriptions import Reader, answers, follow, not_found, read, require
from api.types import node_pk

from .models import Booking, Resource
from .services.events import resource_group
from .types import BookingType, ResourceType


def _resource(info: strawberry.Info, pk: int) -> Resource | None:
    return ResourceType.get_queryset(Resource.objects.filter(pk=pk), info).first()


def _changed(event: dict) -> tuple | None:
    if event["event"] != "booking.changed":
        return None
    return (event["payload"]["booking_id"],)


@strawberry.type
class BookingSubscription:
    @strawberry.subscription(
        description="Staff: each booking of the resource's calendar as it is held, confirmed, "
        "moved or cancelled (a hold that lapses is not announced).",
    )
    async def resource_calendar_changed(
        self, info: strawberry.Info, resource_id: relay.GlobalID
    ) -> AsyncGenerator[BookingType, None]:
        await require(info, "bookings.view_booking")
        pk = node_pk(resource_id, "Resource")
        if pk is None or await read(_resource, info, pk) is None:
            raise not_found("Resource")
        async with follow(info, [resource_group(pk)]) as events:
            async for booking in answers(info, events, Reader(BookingType, Booking), _changed):
                yield booking
