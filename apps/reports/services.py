"""The sales report: a handful of aggregate queries in the database, whatever the range.

Revenue counts orders placed in the range that were paid and are not cancelled or refunded.
Periods are days, weeks (ISO, Monday first) or months in the shop's time zone.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Case, Count, DecimalField, F, Max, Sum, Value, When
from django.db.models.functions import Coalesce, TruncDay, TruncMonth, TruncWeek
from django.utils import timezone

from apps.accounts.models import User
from apps.core.errors import CoreErrorCode
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


def totals(window: ReportRange) -> dict:
    """Revenue, order count and average order value (one query)."""
    row = _placed(window).paid().aggregate(revenue=_money(Sum("total")), orders=Count("pk"))
    orders = row["orders"]
    average = (row["revenue"] / orders).quantize(Decimal("0.01"), ROUND_HALF_UP) if orders else ZERO
    return {"revenue": row["revenue"], "order_count": orders, "average_order_value": average}


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
                "revenue": row.get("revenue", ZERO),
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


def top_products(window: ReportRange, *, limit: int) -> list[dict]:
    """Paid sales per product, best first (one query).

    A product counts once even if it was renamed between orders (each line keeps the name it
    had; the report shows the greatest of them); lines without a variant count by name.
    """
    if not 1 <= limit <= MAX_TOP_PRODUCTS:
        raise ValidationError(
            f"The limit is between 1 and {MAX_TOP_PRODUCTS}.", code=CoreErrorCode.INVALID
        )
    rows = (
        OrderLine.objects.filter(order__in=_placed(window).paid())
        .values(
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
            "revenue": row["revenue"],
        }
        for row in rows
    ]
