"""The sales report: a handful of aggregate queries in the database, whatever the range.

Revenue counts orders placed in the range that were paid and are not cancelled or refunded.
Periods are days, weeks (ISO, Monday first) or months in the shop's time zone.

The same functions serve the GraphQL ``salesReport`` and the admin's dashboard: sales, the
bookings (utilisation of each resource, no-shows, cancellations) and the deliveries (first
attempts, failed attempts, time on the road, the cash the couriers hold). Each runs a fixed
number of queries, whatever the number of orders, bookings or deliveries.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import (
    Avg,
    Case,
    Count,
    DecimalField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import (
    Coalesce,
    Greatest,
    Least,
    RowNumber,
    TruncDay,
    TruncMonth,
    TruncWeek,
)
from django.utils import timezone

from apps.accounts.models import User
from apps.bookings.models import Booking, BookingStatus, Resource, TimeOff
from apps.catalog.models import ProductKind, ProductVariant
from apps.core.errors import CoreErrorCode
from apps.delivery.models import Delivery, DeliveryAgent, DeliveryEvent, DeliveryStatus
from apps.orders.models import Order, OrderLine

MAX_YEARS = 3
MAX_TOP_PRODUCTS = 50
MIN_YEAR, MAX_YEAR = 1900, 9000
TRUNCATE = {"DAY": TruncDay, "WEEK": TruncWeek, "MONTH": TruncMonth}
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ReportRange:
    start: datetime
    end: datetime
    granularity: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(settings.TIME_ZONE)


def report_range(*, start: datetime, end: datetime, granularity: str) -> ReportRange:
    """Check the range: ``end`` after ``start``, at most three years, a known granularity.

    A date and time without an offset is read in the shop's time zone.
    """
    if granularity not in TRUNCATE:
        raise ValidationError("The granularity is DAY, WEEK or MONTH.", code=CoreErrorCode.INVALID)
    zone = ZoneInfo(settings.TIME_ZONE)
    if not all(MIN_YEAR <= d.year <= MAX_YEAR for d in (start, end)):
        raise ValidationError(
            f"Dates are between the years {MIN_YEAR} and {MAX_YEAR}.", code=CoreErrorCode.INVALID
        )
    start, end = (timezone.make_aware(d, zone) if timezone.is_naive(d) else d for d in (start, end))
    if end <= start:
        raise ValidationError("The end must come after the start.", code=CoreErrorCode.INVALID)
    if end > _years_later(start.astimezone(zone), MAX_YEARS):
        raise ValidationError("A report covers at most three years.", code=CoreErrorCode.INVALID)
    return ReportRange(start=start, end=end, granularity=granularity)


def _years_later(moment: datetime, years: int) -> datetime:
    """The same wall-clock time ``years`` later (28 February for 29 February)."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


def _placed(window: ReportRange):
    return Order.objects.filter(created_at__gte=window.start, created_at__lt=window.end)


def _money(expression) -> Coalesce:
    return Coalesce(
        expression, Value(ZERO), output_field=DecimalField(max_digits=14, decimal_places=2)
    )


def _cents(amount: Decimal) -> Decimal:
    """A sum of money to the cent (SQLite's sums come back as 170.010000000000 or 100)."""
    return Decimal(amount).quantize(Decimal("0.01"), ROUND_HALF_UP)


def totals(window: ReportRange) -> dict:
    """Revenue, order count and average order value (one query)."""
    row = _placed(window).paid().aggregate(revenue=_money(Sum("total")), orders=Count("pk"))
    orders, revenue = row["orders"], _cents(row["revenue"])
    average = (revenue / orders).quantize(Decimal("0.01"), ROUND_HALF_UP) if orders else ZERO
    return {"revenue": revenue, "order_count": orders, "average_order_value": average}


def items_sold(window: ReportRange) -> int:
    lines = OrderLine.objects.filter(order__in=_placed(window).paid())
    return lines.aggregate(items=Coalesce(Sum("quantity"), 0))["items"]


def new_customers(window: ReportRange) -> int:
    return User.objects.filter(
        date_joined__gte=window.start, date_joined__lt=window.end, is_staff=False
    ).count()


def by_period(window: ReportRange) -> list[dict]:
    """Revenue and paid orders per period, every period of the range included (one query)."""
    truncate = TRUNCATE[window.granularity]
    rows = (
        _placed(window)
        .paid()
        .annotate(period=truncate("created_at", tzinfo=window.zone))
        .values("period")
        .annotate(revenue=_money(Sum("total")), orders=Count("pk"))
        .order_by("period")
    )
    found = {row["period"]: row for row in rows}
    periods = []
    for period in _periods(window):
        row = found.get(period, {})
        periods.append(
            {
                "start": period,
                "revenue": _cents(row.get("revenue", ZERO)),
                "order_count": row.get("orders", 0),
            }
        )
    return periods


def _periods(window: ReportRange) -> list[datetime]:
    """The start of every period touching [start, end), in the shop's time zone."""
    local = window.start.astimezone(window.zone)
    cursor = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if window.granularity == "WEEK":
        cursor -= timedelta(days=cursor.weekday())
    elif window.granularity == "MONTH":
        cursor = cursor.replace(day=1)
    periods = []
    while cursor < window.end:
        periods.append(cursor)
        # Aware arithmetic here is wall-clock arithmetic: periods start at local midnight.
        if window.granularity == "DAY":
            cursor += timedelta(days=1)
        elif window.granularity == "WEEK":
            cursor += timedelta(days=7)
        else:
            cursor = (cursor.replace(day=28) + timedelta(days=4)).replace(day=1)
    return periods


def orders_by_status(window: ReportRange) -> list[dict]:
    rows = _placed(window).values("status").annotate(count=Count("pk")).order_by("status")
    return list(rows)


def top_products(window: ReportRange, *, limit: int, kind: str | None = None) -> list[dict]:
    """Paid sales per product, best first (one query); only lines of ``kind`` (GOODS or
    SERVICE, as sold) when given.

    A product counts once even if it was renamed between orders (each line keeps the name it
    had; the report shows the greatest of them); lines without a variant count by name.
    """
    if not 1 <= limit <= MAX_TOP_PRODUCTS:
        raise ValidationError(
            f"The limit is between 1 and {MAX_TOP_PRODUCTS}.", code=CoreErrorCode.INVALID
        )
    if kind is not None and kind not in ProductKind.values:
        raise ValidationError("The kind is GOODS or SERVICE.", code=CoreErrorCode.INVALID)
    lines = OrderLine.objects.filter(order__in=_placed(window).paid())
    if kind is not None:
        lines = lines.filter(kind=kind)
    rows = (
        lines.values(
            product_id=F("variant__product_id"),
            orphan_name=Case(When(variant__isnull=True, then="product_name"), default=Value("")),
        )
        .annotate(
            name=Max("product_name"),
            quantity=Sum("quantity"),
            revenue=_money(Sum("line_total")),
        )
        .order_by("-revenue", "name", "product_id")[:limit]
    )
    return [
        {
            "product_id": row["product_id"],
            "product_name": row["name"],
            "quantity": row["quantity"],
            "revenue": _cents(row["revenue"]),
        }
        for row in rows
    ]


def best_sellers(
    window: ReportRange, *, limit: int, previous: ReportRange | None = None
) -> dict[str, list[dict]]:
    """``top_products`` of each kind (GOODS and SERVICE, as sold), ``limit`` of each, in one
    query: the order lines are read once and ranked within their kind in the database.

    With ``previous``, each row also has the same product's paid sales in that period
    (``previous_quantity``, ``previous_revenue``), from the same pass over the lines; None for
    lines without a variant, which have no product to follow.
    """
    if not 1 <= limit <= MAX_TOP_PRODUCTS:
        raise ValidationError(
            f"The limit is between 1 and {MAX_TOP_PRODUCTS}.", code=CoreErrorCode.INVALID
        )
    first, after = _utc(window)
    now = Q(order__created_at__gte=first, order__created_at__lt=after)
    # One range of orders that covers both periods (the previous one ends where this one
    # starts), so that the index on the orders' dates bounds the scan.
    ends = [_utc(span) for span in ([window] if previous is None else [window, previous])]
    span_start, span_end = min(start for start, _ in ends), max(end for _, end in ends)
    placed = Order.objects.filter(created_at__gte=span_start, created_at__lt=span_end).paid()
    sums = {
        "name": Max("product_name", filter=now),
        "sold": Sum("quantity", filter=now),
        "revenue": _money(Sum("line_total", filter=now)),
    }
    if previous is not None:
        start, end = _utc(previous)
        before = Q(order__created_at__gte=start, order__created_at__lt=end)
        sums["previous_sold"] = Sum("quantity", filter=before)
        sums["previous_revenue"] = _money(Sum("line_total", filter=before))
    best_first = [F("revenue").desc(), F("name").asc(), F("product_id").asc()]
    rows = (
        OrderLine.objects.filter(
            order__in=placed, order__created_at__gte=span_start, order__created_at__lt=span_end
        )
        .values(
            "kind",
            product_id=F("variant__product_id"),
            orphan_name=Case(When(variant__isnull=True, then="product_name"), default=Value("")),
        )
        .annotate(**sums)
        .filter(sold__gt=0)  # sold in the range, not only in the previous period
        .annotate(rank=Window(RowNumber(), partition_by=[F("kind")], order_by=best_first))
        .filter(rank__lte=limit)
        .order_by("kind", "rank")
    )
    tables: dict[str, list[dict]] = {kind: [] for kind in ProductKind.values}
    for row in rows:
        sold = {
            "product_id": row["product_id"],
            "product_name": row["name"],
            "quantity": row["sold"],
            "revenue": _cents(row["revenue"]),
        }
        if previous is not None:
            followed = row["product_id"] is not None
            sold["previous_quantity"] = (row["previous_sold"] or 0) if followed else None
            sold["previous_revenue"] = _cents(row["previous_revenue"]) if followed else None
        tables[row["kind"]].append(sold)
    return tables


# --- The comparison with the previous period --------------------------------------------------


def _utc(window: ReportRange) -> tuple[datetime, datetime]:
    """The range's ends in UTC: Python subtracts (and compares) two times of one zone by
    their wall clocks, which is an hour off across a change of summer time."""
    return window.start.astimezone(UTC), window.end.astimezone(UTC)


def previous_range(window: ReportRange) -> ReportRange:
    """The period of the same length just before ``window``, ending where it starts.

    The length is the one the shop's clock shows: the 30 days before 30 days from local
    midnight also run from local midnight, across a change of summer time too.
    """
    zone = window.zone
    start = window.start.astimezone(zone).replace(tzinfo=None)
    length = window.end.astimezone(zone).replace(tzinfo=None) - start
    # Compared in UTC: Python compares two times of one zone by their wall clocks.
    previous_start = (start - length).replace(tzinfo=zone).astimezone(UTC)
    start_utc, end_utc = _utc(window)
    if length <= timedelta(0) or previous_start >= start_utc:
        # Within the hour the clock goes back in the autumn: the length in elapsed time.
        previous_start = start_utc - (end_utc - start_utc)
    return ReportRange(
        start=previous_start.astimezone(zone), end=window.start, granularity=window.granularity
    )


def percent_change(current, previous) -> Decimal | None:
    """The change from ``previous`` to ``current`` in percent, to one decimal.

    0 when both are 0; None when there is nothing to compare with (``previous`` is 0 or
    unknown while ``current`` is not, or ``current`` is unknown).
    """
    if current is None or previous is None:
        return None
    if isinstance(current, timedelta):
        current, previous = current.total_seconds(), previous.total_seconds()
    current, previous = Decimal(str(current)), Decimal(str(previous))
    if previous == 0:
        return Decimal("0.0") if current == 0 else None
    return ((current - previous) * 100 / abs(previous)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def share(part, whole) -> Decimal | None:
    """``part`` of ``whole`` in percent, to one decimal; None when ``whole`` is 0."""
    if not whole:
        return None
    return (Decimal(str(part)) * 100 / Decimal(str(whole))).quantize(Decimal("0.1"), ROUND_HALF_UP)


# --- Bookings ---------------------------------------------------------------------------------

# Bookings that kept their resource's time: sold and not cancelled. A hold (HELD, or EXPIRED
# once it lapsed) is not a booking yet; a no-show's time was kept for the buyer.
BOOKED_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.COMPLETED, BookingStatus.NO_SHOW)
HOUR = Decimal(3600)


def _hours(span: timedelta) -> Decimal:
    return (Decimal(str(span.total_seconds())) / HOUR).quantize(Decimal("0.01"), ROUND_HALF_UP)


def booking_figures(window: ReportRange) -> dict:
    """Bookings starting in the range (one query): those that kept their time, the no-shows,
    and the cancellations (of sold bookings: a hold let go from a cart is no cancellation)."""
    row = Booking.objects.filter(start__gte=window.start, start__lt=window.end).aggregate(
        booked=Count("pk", filter=Q(status__in=BOOKED_STATUSES)),
        no_shows=Count("pk", filter=Q(status=BookingStatus.NO_SHOW)),
        cancellations=Count("pk", filter=Q(status=BookingStatus.CANCELLED, order__isnull=False)),
    )
    return row


def _booked_time(window: ReportRange) -> dict[int, timedelta]:
    """Per resource, the time of the range its bookings kept (one query).

    A booking over an edge of the range counts for its part inside. The bookings of a class
    (several seats, ``exclusive`` false) share their slot: it counts once, whatever the number
    of buyers, as the room or the teacher is taken once.
    """
    same_slot_before = Booking.objects.filter(
        resource=OuterRef("resource"),
        blocked_start=OuterRef("blocked_start"),
        start=OuterRef("start"),
        end=OuterRef("end"),
        status__in=BOOKED_STATUSES,
        pk__lt=OuterRef("pk"),
    )
    inside = ExpressionWrapper(
        Least("end", Value(window.end)) - Greatest("start", Value(window.start)),
        output_field=DurationField(),
    )
    rows = (
        Booking.objects.filter(
            status__in=BOOKED_STATUSES, start__lt=window.end, end__gt=window.start
        )
        .filter(Q(exclusive=True) | ~Exists(same_slot_before))
        .values("resource_id")
        .annotate(booked=Sum(inside))
        .order_by("resource_id")
    )
    return {row["resource_id"]: row["booked"] for row in rows}


def _union(spans: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[list[datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def _length(spans: list[tuple[datetime, datetime]]) -> timedelta:
    return sum((end - start for start, end in spans), timedelta(0))


def _overlap(a: list[tuple[datetime, datetime]], b: list[tuple[datetime, datetime]]) -> timedelta:
    """The time two sorted lists of disjoint spans have in common."""
    total, i, j = timedelta(0), 0, 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            total += end - start
        if a[i][1] <= b[j][1]:
            i += 1
        else:
            j += 1
    return total


def _opening_spans(
    hours: dict[int, list[tuple[time, time]]], zone: ZoneInfo, window: ReportRange
) -> list[tuple[datetime, datetime]]:
    """The resource's weekly hours over the range: wall-clock hours of its own time zone, each
    day converted to UTC (09:00 is 09:00 local on both sides of a change of summer time)."""
    spans = []
    first, after = _utc(window)
    day = first.astimezone(zone).date()
    last = after.astimezone(zone).date()
    while day <= last:
        for opening, closing in hours.get(day.isoweekday(), ()):
            start = datetime.combine(day, opening, tzinfo=zone).astimezone(UTC)
            end = datetime.combine(day, closing, tzinfo=zone).astimezone(UTC)
            start, end = max(start, first), min(end, after)
            if start < end:
                spans.append((start, end))
        day += timedelta(days=1)
    return _union(spans)


def utilisation(window: ReportRange) -> list[dict]:
    """Per resource (the active ones, and any other that had bookings in the range), by name:
    its open hours in the range (its weekly hours, in its time zone, less its time off), the
    hours its bookings kept, and the one over the other in percent (None without open hours).

    Four queries: the bookings' time (an aggregate), the resources and their weekly hours,
    and the time off that meets the range.
    """
    booked = _booked_time(window)
    resources = Resource.objects.filter(Q(is_active=True) | Q(pk__in=list(booked)))
    resources = resources.prefetch_related("weekly_hours").order_by("name", "pk")
    first, after = _utc(window)
    time_off: dict[int, list[tuple[datetime, datetime]]] = {}
    away = TimeOff.objects.filter(start__lt=after, end__gt=first)
    for resource_id, start, end in away.values_list("resource_id", "start", "end"):
        span = (max(start.astimezone(UTC), first), min(end.astimezone(UTC), after))
        time_off.setdefault(resource_id, []).append(span)
    rows = []
    for resource in resources:
        zone = ZoneInfo(resource.time_zone)
        hours: dict[int, list[tuple[time, time]]] = {}
        for each in resource.weekly_hours.all():
            hours.setdefault(each.weekday, []).append((each.start, each.end))
        opening = _opening_spans(hours, zone, window)
        open_time = _length(opening) - _overlap(opening, _union(time_off.get(resource.pk, ())))
        booked_time = booked.get(resource.pk) or timedelta(0)
        rows.append(
            {
                "resource_id": resource.pk,
                "resource_name": resource.name,
                "time_zone": resource.time_zone,
                "open_hours": _hours(open_time),
                "booked_hours": _hours(booked_time),
                "utilisation_percent": share(
                    booked_time.total_seconds(), open_time.total_seconds()
                ),
            }
        )
    return rows


def utilisation_total(rows: list[dict]) -> dict:
    """Every resource together: open hours, booked hours, and the one over the other."""
    open_hours = sum((row["open_hours"] for row in rows), Decimal("0.00"))
    booked_hours = sum((row["booked_hours"] for row in rows), Decimal("0.00"))
    return {
        "open_hours": open_hours,
        "booked_hours": booked_hours,
        "utilisation_percent": share(booked_hours, open_hours),
    }


# --- Deliveries -------------------------------------------------------------------------------


def delivery_figures(window: ReportRange) -> dict:
    """Deliveries made in the range (by ``delivered_at``): how many, how many on their first
    attempt, the average time from pick-up (the first PICKED_UP event) to delivery; and the
    attempts that failed in the range (FAILED events). Two queries."""
    picked_up = (
        DeliveryEvent.objects.filter(delivery=OuterRef("pk"), status=DeliveryStatus.PICKED_UP)
        .order_by("created_at")
        .values("created_at")[:1]
    )
    row = Delivery.objects.filter(
        status=DeliveryStatus.DELIVERED,
        delivered_at__gte=window.start,
        delivered_at__lt=window.end,
    ).aggregate(
        delivered=Count("pk"),
        first_attempt=Count("pk", filter=Q(attempts__lte=1)),
        average_pickup_to_delivery=Avg(
            ExpressionWrapper(F("delivered_at") - Subquery(picked_up), output_field=DurationField())
        ),
    )
    row["failed_attempts"] = DeliveryEvent.objects.filter(
        status=DeliveryStatus.FAILED, created_at__gte=window.start, created_at__lt=window.end
    ).count()
    average = row["average_pickup_to_delivery"]
    if average is not None:  # to the second: SQLite and PostgreSQL round microseconds apart
        row["average_pickup_to_delivery"] = timedelta(seconds=round(average.total_seconds()))
    return row


def cash_held(window: ReportRange) -> list[dict]:
    """The cash of deliveries made in the range that the couriers collected and have not handed
    in yet, per courier, most first (one query)."""
    agents = (
        DeliveryAgent.objects.filter(
            deliveries__delivered_at__gte=window.start,
            deliveries__delivered_at__lt=window.end,
            deliveries__cash_collected__gt=0,
            deliveries__hand_in__isnull=True,
        )
        .select_related("user")
        .annotate(amount=Sum("deliveries__cash_collected"), count=Count("deliveries"))
        .order_by("-amount", "pk")
    )
    return [
        {
            "agent_id": agent.pk,
            "agent_name": agent.name,
            "amount": _cents(agent.amount),
            "deliveries": agent.count,
        }
        for agent in agents
    ]


# --- Stock ------------------------------------------------------------------------------------

LOW_STOCK_THRESHOLD = 5


def low_stock(*, threshold: int = LOW_STOCK_THRESHOLD, limit: int = 20) -> list[dict]:
    """Goods on sale with at most ``threshold`` units, fewest first (one query). Services are
    booked by slot: they have no stock."""
    variants = (
        ProductVariant.objects.active()
        .filter(product__kind=ProductKind.GOODS, stock_quantity__lte=threshold)
        .select_related("product")
        .order_by("stock_quantity", "pk")[:limit]
    )
    return [
        {
            "variant_id": variant.pk,
            "product_id": variant.product_id,
            "product_name": variant.product.name,
            "variant_name": variant.name,
            "sku": variant.sku,
            "stock": variant.stock_quantity,
        }
        for variant in variants
    ]
