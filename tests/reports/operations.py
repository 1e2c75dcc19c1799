"""Bookings and deliveries written directly with the ORM, at the times we say, and a known data
set of both for March 2025 in Paris (the month of ``known_sales``).

The orders the deliveries belong to are placed in December 2024: outside March and outside the
period before it, so that they change no sales figure of either.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from apps.bookings.models import Booking, BookingStatus, Resource, TimeOff
from apps.delivery.models import (
    CashHandIn,
    Delivery,
    DeliveryAgent,
    DeliveryEvent,
    DeliveryStatus,
)
from apps.orders.models import OrderStatus
from tests.bookings.factories import ResourceFactory
from tests.catalog.factories import ProductVariantFactory
from tests.delivery.factories import agent
from tests.reports.factories import make_order, paris, utc

NEW_YORK = "America/New_York"


def make_booking(
    resource: Resource,
    start: datetime,
    minutes: int = 60,
    *,
    status: str = BookingStatus.CONFIRMED,
    exclusive: bool = True,
    sold: bool | None = None,
) -> Booking:
    """A booking of ``resource`` for ``minutes`` from ``start``; ``sold``: it belongs to an
    order (by default unless it is a hold)."""
    if sold is None:
        sold = status not in (BookingStatus.HELD, BookingStatus.EXPIRED)
    order = None
    if sold:
        variant = ProductVariantFactory(price=Decimal("10.00"))
        order = make_order(
            status=OrderStatus.PAID, lines=[(variant, 1)], created_at=utc(2024, 6, 1)
        )
    end = start + timedelta(minutes=minutes)
    return Booking.objects.create(
        resource=resource,
        product_name="Haircut",
        resource_name=resource.name,
        start=start,
        end=end,
        blocked_start=start,
        blocked_end=end,
        exclusive=exclusive,
        status=status,
        hold_expires_at=utc(2100, 1, 1) if status == BookingStatus.HELD else None,
        order=order,
    )


def known_bookings() -> dict:
    """Three resources, bookings in every state, some across the edges of March (Paris).

    - Camille (Paris), open on Tuesdays 09:00-12:00: four Tuesdays in March, 12 h, less an hour
      off on 11 March (and an evening off that meets no open hour): 11 h open. Kept: 4 March
      09:00 (1 h, confirmed), 18 March 10:00 (1 h, completed), 25 March 09:00 (30 min,
      no-show): 2.5 h, 22.7 %. Not kept: a cancelled sale, a live hold, an expired hold, a hold
      let go. A no-show on 25 February (the previous period).
    - Studio (New York), open on Mondays 18:00-19:00 New York time: 3, 10, 17 and 24 March (the
      31st, 22:00 UTC, is 00:00 on 1 April in Paris): 4 h. A class of three on 3 March (18:00
      EST, 23:00 UTC) counts its hour once; one booking on 17 March (18:00 EDT, 22:00 UTC, after
      New York's change of time on 9 March): 2 h, 50 %.
    - Van (Paris), open every day 00:00-01:00: 31 h. Booked from 28 February 23:30 to 1 March
      00:30 (its half hour in March counts, but it starts in February), 31 March 23:30 to
      1 April 00:30 (its half hour in March counts), 1 April 00:30-01:00 (not March): 1 h,
      3.2 %.

    March: 8 bookings kept, 1 no-show, 1 cancellation; 46 h open, 5.5 h booked (12.0 %).
    """
    camille = ResourceFactory(
        name="Camille", time_zone="Europe/Paris", hours=[(2, "09:00", "12:00")]
    )
    studio = ResourceFactory(name="Studio", time_zone=NEW_YORK, hours=[(1, "18:00", "19:00")])
    van = ResourceFactory(
        name="Van", time_zone="Europe/Paris", hours=[(d, "00:00", "01:00") for d in range(1, 8)]
    )
    ResourceFactory(name="Retired", is_active=False)  # no booking: not listed
    TimeOff.objects.create(
        resource=camille, start=paris(2025, 3, 11, 9), end=paris(2025, 3, 11, 10)
    )
    TimeOff.objects.create(
        resource=camille, start=paris(2025, 3, 11, 20), end=paris(2025, 3, 11, 22)
    )
    make_booking(camille, paris(2025, 3, 4, 9), 60)
    make_booking(camille, paris(2025, 3, 18, 10), 60, status=BookingStatus.COMPLETED)
    make_booking(camille, paris(2025, 3, 25, 9), 30, status=BookingStatus.NO_SHOW)
    make_booking(camille, paris(2025, 3, 25, 10), 60, status=BookingStatus.CANCELLED)
    make_booking(camille, paris(2025, 3, 25, 11), 60, status=BookingStatus.HELD)
    make_booking(camille, paris(2025, 3, 18, 9), 60, status=BookingStatus.EXPIRED)
    make_booking(camille, paris(2025, 3, 11, 11), 60, status=BookingStatus.CANCELLED, sold=False)
    make_booking(camille, paris(2025, 2, 25, 9), 60, status=BookingStatus.NO_SHOW)
    for _ in range(3):
        make_booking(studio, utc(2025, 3, 3, 23), 60, exclusive=False)  # 18:00 EST
    make_booking(studio, utc(2025, 3, 17, 22), 60, exclusive=False)  # 18:00 EDT
    make_booking(van, paris(2025, 2, 28, 23, 30), 60)
    make_booking(van, paris(2025, 3, 31, 23, 30), 60)
    make_booking(van, paris(2025, 4, 1, 0, 30), 30)
    return {"camille": camille, "studio": studio, "van": van}


def make_delivery(
    courier: DeliveryAgent,
    *,
    status: str = DeliveryStatus.DELIVERED,
    picked_up: datetime | None = None,
    failed: list[datetime] = (),
    delivered: datetime | None = None,
    cash: str | None = None,
    handed_in: bool = False,
) -> Delivery:
    """A delivery of an order placed in December 2024, with its events at the given times:
    picked up, each failed attempt, delivered (``cash`` collected then)."""
    variant = ProductVariantFactory(price=Decimal("20.00"))
    order = make_order(
        status=OrderStatus.DELIVERED, lines=[(variant, 1)], created_at=utc(2024, 12, 1)
    )
    amount = Decimal(cash) if cash else Decimal("0.00")
    hand_in = None
    if handed_in:
        hand_in = CashHandIn.objects.create(agent=courier, day=delivered.date(), amount=amount)
    delivery = Delivery.objects.create(
        order=order,
        status=status,
        agent=courier,
        attempts=len(failed) + (1 if delivered else 0),
        cash_to_collect=amount,
        cash_collected=amount if cash and delivered else None,
        hand_in=hand_in,
        delivered_at=delivered,
    )
    steps = [(DeliveryStatus.PICKED_UP, picked_up)] if picked_up else []
    steps += [(DeliveryStatus.FAILED, moment) for moment in failed]
    if delivered:
        steps.append((DeliveryStatus.DELIVERED, delivered))
    for step, moment in steps:
        event = DeliveryEvent.objects.create(delivery=delivery, status=step)
        DeliveryEvent.objects.filter(pk=event.pk).update(created_at=moment)  # auto_now_add
    return delivery


def known_deliveries() -> dict:
    """Deliveries around March 2025 in Paris, by two couriers.

    Delivered in March: 10 March, first attempt, 1 h after its pick-up; 12 March, on its second
    attempt (one failed on 11 March), 26 h after its pick-up, 30.00 in cash not handed in;
    31 March 23:30 (Paris), first attempt, 30 min, 20.00 handed in; 1 March 00:30 (Paris),
    first attempt, 30 min, 15.00 not handed in (the other courier). Not March: 1 April 00:30
    (Paris), 50.00 not handed in. One more attempt failed on 20 March (still out).

    March: 4 delivered, 3 on the first attempt (75 %), 2 failed attempts, 7 h from pick-up to
    delivery on average, 45.00 held (30.00 by Dana, 15.00 by Eli). February: 1 delivered, on
    its first attempt, 2 h after its pick-up.
    """
    dana = agent(first_name="Dana", last_name="Rider")
    eli = agent(first_name="Eli", last_name="Courier")
    make_delivery(dana, picked_up=utc(2025, 3, 10, 11), delivered=utc(2025, 3, 10, 12))
    make_delivery(
        dana,
        picked_up=utc(2025, 3, 11, 13),
        failed=[utc(2025, 3, 11, 15)],
        delivered=utc(2025, 3, 12, 15),
        cash="30.00",
    )
    make_delivery(
        dana,
        picked_up=utc(2025, 3, 31, 21),
        delivered=paris(2025, 3, 31, 23, 30),
        cash="20.00",
        handed_in=True,
    )
    make_delivery(
        eli, picked_up=utc(2025, 2, 28, 23), delivered=paris(2025, 3, 1, 0, 30), cash="15.00"
    )
    make_delivery(
        eli, picked_up=utc(2025, 3, 31, 22), delivered=paris(2025, 4, 1, 0, 30), cash="50.00"
    )
    make_delivery(
        dana,
        status=DeliveryStatus.FAILED,
        picked_up=utc(2025, 3, 20, 8),
        failed=[utc(2025, 3, 20, 10)],
    )
    make_delivery(eli, picked_up=utc(2025, 2, 15, 8), delivered=utc(2025, 2, 15, 10))
    return {"dana": dana, "eli": eli}
