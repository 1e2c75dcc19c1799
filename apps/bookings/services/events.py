"""What a booking's followers hear once its change commits: the resource's calendar (staff),
and the order it belongs to (its buyer)."""

from apps.core.events import Event, publish

from ..models import Booking


def resource_group(resource_id: int) -> str:
    """The events group of one resource's calendar."""
    return f"resource:{resource_id}"


def booking_changed(booking: Booking) -> None:
    groups = [resource_group(booking.resource_id)]
    if booking.order_id:
        groups.append(f"order:{booking.order_id}")
    publish(
        Event(
            type="booking.changed",
            groups=tuple(groups),
            payload={
                "booking_id": booking.pk,
                "resource_id": booking.resource_id,
                "order_id": booking.order_id,
                "status": booking.status,
            },
        )
    )
