"""A year of the demo salon's past bookings, in bulk: what its dashboard measures.

Each booking was sold through an order of services (paid by card, nothing shipped: no address,
no delivery), one ``SERVICE`` line with the slot it bought. It is on one of the salon's
resources, on the grid of its service, within the resource's weekly hours (in the resource's
time zone), and never meets another booking of a one-seat service on its resource, buffers
included (the PostgreSQL exclusion constraint would hold even if they were still active); a
class's bookings share its slot within its seats. Most were completed (the order DELIVERED, its
completed state), some missed (NO_SHOW: the order stays PAID), some cancelled by their buyer
(the order CANCELLED and refunded). Each has its events: held, confirmed, then what became of it.

Idempotent, and topped up: ``seed_bookings(count=N)`` adds past bookings until N exist (matched
by the ``SALON-`` number of their order), in time still free.
"""

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import accumulate
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.bookings.models import Booking, BookingEvent, BookingStatus, ServiceSettings
from apps.catalog.models import ProductKind, ProductVariant
from apps.demo.accounts import demo_admin
from apps.demo.bookings import HAIRCUT, YOGA
from apps.demo.orders import BATCH, _customers, _keep_given_timestamps
from apps.orders.models import Order, OrderLine, OrderStatus
from apps.payments.models import Payment, PaymentMethod, PaymentStatus

NUMBER_PREFIX = "SALON-"
DAYS = 365
OUTCOMES = {BookingStatus.COMPLETED: 80, BookingStatus.NO_SHOW: 7, BookingStatus.CANCELLED: 13}
# How often each service is booked (a class seat is cheap, a colour long).
VARIANT_WEIGHTS = {"HAIRCUT-CUT": 45, "HAIRCUT-COLOUR": 20, "YOGA-CLASS-DROP-IN": 35}
ORDER_STATUS = {
    BookingStatus.COMPLETED: OrderStatus.DELIVERED,  # provided: the order's completed state
    BookingStatus.NO_SHOW: OrderStatus.PAID,
    BookingStatus.CANCELLED: OrderStatus.CANCELLED,
}


@dataclass
class _Resource:
    pk: int
    name: str
    zone: ZoneInfo
    hours: dict[int, list[tuple[time, time]]]
    # What is taken, by local day: (blocked start, blocked end, seats, exclusive).
    taken: dict[date, list[tuple[datetime, datetime, int, bool]]] = field(
        default_factory=lambda: defaultdict(list)
    )


@dataclass(frozen=True)
class _Service:
    variant: ProductVariant
    settings: ServiceSettings
    resources: tuple[_Resource, ...]

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.variant.duration_minutes)

    @property
    def exclusive(self) -> bool:
        return self.settings.seats_per_slot == 1


@dataclass(frozen=True)
class _Pick:
    service: _Service
    resource: _Resource
    start: datetime
    seats: int
    outcome: str


def _services(since: datetime) -> list[_Service]:
    """The salon's services, their variants, and their resources with what is taken of them
    since ``since``; ``ValueError`` before the salon is seeded."""
    rows = list(
        ServiceSettings.objects.filter(
            product__slug__in=[HAIRCUT.slug, YOGA.slug], product__kind=ProductKind.SERVICE
        )
        .select_related("product")
        .prefetch_related("resources__weekly_hours")
        .order_by("product__slug")
    )
    resources: dict[int, _Resource] = {}
    for row in rows:
        for resource in row.resources.all():
            hours: dict[int, list[tuple[time, time]]] = defaultdict(list)
            for each in resource.weekly_hours.all():
                hours[each.weekday].append((each.start, each.end))
            zone = ZoneInfo(resource.time_zone)
            resources[resource.pk] = _Resource(resource.pk, resource.name, zone, dict(hours))
    taken = Booking.objects.filter(resource_id__in=list(resources), blocked_end__gt=since)
    for resource_id, start, blocked_start, blocked_end, seats, exclusive in taken.values_list(
        "resource_id", "start", "blocked_start", "blocked_end", "seats", "exclusive"
    ):
        resource = resources[resource_id]
        day = start.astimezone(resource.zone).date()
        resource.taken[day].append((blocked_start, blocked_end, seats, exclusive))
    services = []
    for row in rows:
        variants = ProductVariant.objects.active().filter(
            product=row.product, duration_minutes__isnull=False
        )
        mine = tuple(resources[r.pk] for r in row.resources.all() if resources[r.pk].hours)
        services += [_Service(v, row, mine) for v in variants.order_by("sku") if mine]
    if not services:
        raise ValueError("Seed the salon first.")
    return services


def _slots(service: _Service, resource: _Resource, day: date) -> list[datetime]:
    """The slots of ``day`` (local) on the service's grid that fit the resource's hours with
    their buffers, in UTC, as ``apps.bookings.availability`` offers them."""
    interval = timedelta(minutes=service.settings.slot_interval_minutes)
    before, after = service.settings.buffer_before, service.settings.buffer_after
    slots = []
    for opening, closing in resource.hours.get(day.isoweekday(), ()):
        opens = datetime.combine(day, opening, tzinfo=resource.zone)
        closes = datetime.combine(day, closing, tzinfo=resource.zone)
        wall = opens
        while wall < closes:
            local, wall = wall, wall + interval  # wall-clock arithmetic, as the grid's
            start = local.astimezone(UTC)
            if start.astimezone(resource.zone).replace(tzinfo=None) != local.replace(tzinfo=None):
                continue  # the hour that daylight saving time skips
            if start - before < opens or start + service.duration + after > closes:
                continue
            slots.append(start)
    return slots


def _fits(pick_service: _Service, resource: _Resource, start: datetime, seats: int) -> bool:
    """Whether the span is free on the resource: no one-seat booking meets it, buffers
    included; and for a class, seats are left."""
    settings_ = pick_service.settings
    blocked_start = start - settings_.buffer_before
    blocked_end = start + pick_service.duration + settings_.buffer_after
    used = 0
    for other_start, other_end, other_seats, other_exclusive in resource.taken[
        start.astimezone(resource.zone).date()
    ]:
        if other_start < blocked_end and other_end > blocked_start:
            if other_exclusive or pick_service.exclusive:
                return False
            used += other_seats
    return used + seats <= settings_.seats_per_slot


def _take(pick: _Pick) -> None:
    settings_ = pick.service.settings
    pick.resource.taken[pick.start.astimezone(pick.resource.zone).date()].append(
        (
            pick.start - settings_.buffer_before,
            pick.start + pick.service.duration + settings_.buffer_after,
            pick.seats,
            pick.service.exclusive,
        )
    )


def _pick_all(rng: random.Random, services: list[_Service], wanted: int, now: datetime):
    """``wanted`` bookings (fewer if the year is full), each in free time, over the last year,
    busier lately; in time order."""
    days = [now - timedelta(days=age) for age in range(1, DAYS + 1)]
    day_weights = list(accumulate(0.5 + (DAYS - age) / DAYS for age in range(1, DAYS + 1)))
    weights = [VARIANT_WEIGHTS.get(s.variant.sku, 10) for s in services]
    outcomes, outcome_weights = zip(*OUTCOMES.items(), strict=True)
    since = now - timedelta(days=DAYS)
    picks: list[_Pick] = []
    slots: dict[tuple, list[datetime]] = {}
    for _ in range(wanted * 30):
        if len(picks) == wanted:
            break
        service = rng.choices(services, weights)[0]
        resource = rng.choice(service.resources)
        day = rng.choices(days, cum_weights=day_weights)[0].astimezone(resource.zone).date()
        key = (service.variant.pk, resource.pk, day)
        if key not in slots:
            slots[key] = _slots(service, resource, day)
        if not slots[key]:
            continue
        start = rng.choice(slots[key])
        if start < since or start + service.duration > now - timedelta(minutes=30):
            continue
        seats = 1 if service.exclusive or rng.random() < 0.85 else 2
        if not _fits(service, resource, start, seats):
            continue
        pick = _Pick(service, resource, start, seats, rng.choices(outcomes, outcome_weights)[0])
        _take(pick)
        picks.append(pick)
    picks.sort(key=lambda pick: (pick.start, pick.resource.pk))
    return picks


def seed_bookings(*, count: int, seed: int = 2026) -> int:
    """Make sure ``count`` past demo bookings of the salon exist, each sold through a paid
    order of services; return how many were created."""
    existing = Order.objects.filter(number__startswith=NUMBER_PREFIX).count()
    wanted = count - existing
    if wanted <= 0:
        return 0
    now = timezone.now()
    services = _services(now - timedelta(days=DAYS + 1))
    rng = random.Random(seed + existing)  # noqa: S311 - demo data
    picks = _pick_all(rng, services, wanted, now)
    customers = _customers(rng, 50, now)
    admin = demo_admin()
    admin_id = admin.pk if admin else None
    currency = settings.SHOP_CURRENCY
    with _keep_given_timestamps(Order, Payment, Booking, BookingEvent), transaction.atomic():
        for first in range(0, len(picks), BATCH):
            batch = picks[first : first + BATCH]
            rows = [
                _sale(rng, pick, existing + first + n, now, customers, currency)
                for n, pick in enumerate(batch)
            ]
            Order.objects.bulk_create([row.order for row in rows], batch_size=BATCH)
            for row in rows:
                row.line.order = row.payment.order = row.booking.order = row.order
            OrderLine.objects.bulk_create([row.line for row in rows], batch_size=BATCH)
            Payment.objects.bulk_create([row.payment for row in rows], batch_size=BATCH)
            for row in rows:
                row.booking.order_line = row.line
            Booking.objects.bulk_create([row.booking for row in rows], batch_size=BATCH)
            events = [event for row in rows for event in _events(row, admin_id)]
            BookingEvent.objects.bulk_create(events, batch_size=BATCH)
    if connection.vendor == "postgresql":  # fresh statistics, as autovacuum would give later
        with connection.cursor() as cursor:
            for model in (Order, OrderLine, Payment, Booking, BookingEvent):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return len(picks)


@dataclass
class _Sale:
    pick: _Pick
    order: Order
    line: OrderLine
    payment: Payment
    booking: Booking
    held_at: datetime
    ended_at: datetime | None  # completed, missed or cancelled


def _sale(rng, pick: _Pick, n: int, now: datetime, customers: list[int], currency) -> _Sale:
    """The order, line, payment and booking of one past booking, with their times."""
    service, start = pick.service, pick.start
    end = start + service.duration
    notice = timedelta(minutes=service.settings.minimum_notice_minutes)
    placed = start - max(notice, timedelta(hours=rng.uniform(2, 21 * 24)))
    held_at = placed - timedelta(minutes=rng.uniform(2, 15))
    paid_at = placed + timedelta(minutes=rng.uniform(0, 1))
    if pick.outcome == BookingStatus.COMPLETED:
        ended_at = min(end + timedelta(minutes=rng.uniform(5, 60)), now)
    elif pick.outcome == BookingStatus.NO_SHOW:
        ended_at = min(start + timedelta(minutes=rng.uniform(15, 30)), now)
    else:  # the buyer cancelled the order, mostly before the cancellation window
        low = paid_at + timedelta(minutes=10)
        high = start - timedelta(hours=service.settings.cancellation_window_hours)
        if high <= low:
            high = start - timedelta(minutes=30)
        ended_at = low + (high - low) * rng.random() if high > low else low
    variant = service.variant
    total = variant.price * pick.seats
    status = ORDER_STATUS[pick.outcome]
    order = Order(
        number=f"{NUMBER_PREFIX}{n:08d}",
        status=status,
        user_id=None if rng.random() < 0.15 else rng.choice(customers),
        email=f"salon{n}@demo.silkcart.test",
        currency=currency,
        subtotal=total,
        shipping_total=Decimal("0.00"),
        total=total,
        requires_shipping=False,
        shipping_address=None,
        billing_address=None,
        buyer_key=f"salon:{n}",
        idempotency_key="demo",
        paid_at=paid_at,
        created_at=placed,
        updated_at=paid_at if status == OrderStatus.PAID else ended_at,
    )
    line = OrderLine(
        kind=ProductKind.SERVICE,
        variant=variant,
        product_name=variant.product.name,
        variant_name=variant.name,
        sku=variant.sku,
        quantity=pick.seats,
        unit_price=variant.price,
        line_total=total,
        booking_start=start,
        booking_end=end,
        resource_name=pick.resource.name,
    )
    payment = Payment(
        method=PaymentMethod.CARD_PLACEHOLDER,
        amount=total,
        currency=currency,
        reference=f"demo-{order.number}",
        status=(
            PaymentStatus.REFUNDED
            if pick.outcome == BookingStatus.CANCELLED
            else PaymentStatus.CAPTURED
        ),
        created_at=placed,
        updated_at=ended_at if pick.outcome == BookingStatus.CANCELLED else paid_at,
    )
    booking = Booking(
        resource_id=pick.resource.pk,
        variant=variant,
        product_name=variant.product.name,
        variant_name=variant.name,
        resource_name=pick.resource.name,
        start=start,
        end=end,
        blocked_start=start - service.settings.buffer_before,
        blocked_end=end + service.settings.buffer_after,
        seats=pick.seats,
        exclusive=service.exclusive,
        status=pick.outcome,
        user_id=order.user_id,
        created_at=held_at,
        updated_at=ended_at,
    )
    return _Sale(pick, order, line, payment, booking, held_at, ended_at)


def _events(sale: _Sale, admin_id: int | None) -> list[BookingEvent]:
    """Held in a cart, confirmed by the order, then completed or missed (staff) or cancelled
    with the order (its buyer): as the bookings services write them."""
    booking, order = sale.booking, sale.order
    span = {"start": booking.start, "end": booking.end}
    events = [
        BookingEvent(
            booking=booking,
            type=BookingEvent.Type.HELD,
            to_status=BookingStatus.HELD,
            actor_id=order.user_id,
            created_at=sale.held_at,
            **span,
        ),
        BookingEvent(
            booking=booking,
            type=BookingEvent.Type.CONFIRMED,
            from_status=BookingStatus.HELD,
            to_status=BookingStatus.CONFIRMED,
            note=f"Order {order.number}",
            actor_id=order.user_id,
            created_at=order.created_at,
            **span,
        ),
    ]
    cancelled = booking.status == BookingStatus.CANCELLED
    events.append(
        BookingEvent(
            booking=booking,
            type=booking.status,  # COMPLETED, NO_SHOW and CANCELLED are event types too
            from_status=BookingStatus.CONFIRMED,
            to_status=booking.status,
            note=f"Order {order.number} cancelled" if cancelled else "",
            actor_id=order.user_id if cancelled else admin_id,
            created_at=sale.ended_at,
        )
    )
    return events
