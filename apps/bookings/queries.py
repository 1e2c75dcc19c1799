from datetime import datetime

import strawberry
import strawberry_django
from django.core.exceptions import ValidationError
from strawberry import relay

from api.permissions import HasPerm
from api.types import CountableConnection, PublicError, StablyOrderedField, node_pk, resolve_id
from apps.catalog.models import ProductVariant
from apps.catalog.types import ProductVariantType
from apps.core.errors import CoreErrorCode

from . import availability
from .types import BookingFilter, BookingOrder, BookingType, TimeSlotType


@strawberry.type
class BookingQuery:
    @strawberry_django.field(
        description="The free slots of a service variant starting between `start` and `end` "
        "(at most 62 days), in every resource that offers it or in `resourceId` only; by start."
    )
    def available_slots(
        self,
        info: strawberry.Info,
        variant_id: relay.GlobalID,
        start: datetime,
        end: datetime,
        resource_id: relay.GlobalID | None = None,
    ) -> list[TimeSlotType]:
        try:
            variant = resolve_id(
                info,
                variant_id,
                ProductVariantType,
                field="variantId",
                queryset=ProductVariant.objects.select_related("product__service_settings"),
            )
            resource_ids = None
            if resource_id is not None:
                pk = node_pk(resource_id, "Resource")
                resource_ids = [pk] if pk is not None else []
            found = availability.available_slots(
                variant, start=start, end=end, resource_ids=resource_ids
            )
        except ValidationError as error:  # a list field: a top-level error
            code = getattr(error, "code", None) or CoreErrorCode.INVALID
            if hasattr(error, "error_dict"):
                code = next(iter(error.error_dict.values()))[0].code
            raise PublicError(error.messages[0], code=code) from None
        return [
            TimeSlotType(
                start=slot.start, end=slot.end, seats_left=slot.seats_left, resource=resource
            )
            for slot, resource in found
        ]

    bookings: CountableConnection[BookingType] = strawberry_django.connection(
        filters=BookingFilter,
        ordering=BookingOrder,
        field_cls=StablyOrderedField,
        extensions=[HasPerm("bookings.view_booking")],
        description="Staff: the calendar of bookings, by start unless `ordering` says otherwise.",
    )
