"""The admin's dashboard: the period picked, and the reports' figures for it beside the same
figures for the period just before, ready to show and to export.

Every number comes from ``apps.reports.services``, which also answers the GraphQL
``salesReport``: this module only pairs the two periods, computes the changes and formats.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cached_property
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from apps.catalog.models import ProductKind
from apps.orders.models import OrderStatus

from . import charts, services
from .services import ReportRange

PRESETS = {"7": 7, "30": 30, "90": 90}
DEFAULT_PRESET = "30"
CUSTOM = "custom"
# Longer periods are drawn week by week (their CSV series stays day by day).
WEEKLY_AFTER_DAYS = 92
TOP_LIMIT = 10
LOW_STOCK_LIMIT = 20


# --- The period ---------------------------------------------------------------------------------


def shop_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def shop_today() -> date:
    return timezone.now().astimezone(shop_zone()).date()


@dataclass(frozen=True)
class Period:
    """Whole days of the shop's calendar, ``first`` to ``last`` included, and the period of
    the same number of days just before."""

    key: str  # "7", "30", "90" or "custom"
    first: date
    last: date
    window: ReportRange = field(repr=False)
    previous: ReportRange = field(repr=False)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def previous_first(self) -> date:
        return self.previous.start.astimezone(shop_zone()).date()

    @property
    def previous_last(self) -> date:
        return self.first - timedelta(days=1)

    @property
    def weekly(self) -> bool:
        return self.window.granularity == "WEEK"

    @property
    def query(self) -> str:
        """The query string that picks this period again (for the CSV links)."""
        if self.key == CUSTOM:
            return urlencode({"period": CUSTOM, "start": self.first, "end": self.last})
        return urlencode({"period": self.key})

    def file_name(self, table: str) -> str:
        return f"silkcart-{table}-{self.first:%Y-%m-%d}-{self.last:%Y-%m-%d}.csv"


def period_of(first: date, last: date, key: str = CUSTOM) -> Period:
    """The period of the days ``first`` to ``last``; a ``ValidationError`` when ``last`` is
    before ``first`` or the period is longer than a report may be."""
    days = (last - first).days + 1
    window = services.report_range(
        start=datetime.combine(first, time.min),
        end=datetime.combine(last + timedelta(days=1), time.min),
        granularity="DAY" if days <= WEEKLY_AFTER_DAYS else "WEEK",
    )
    return Period(
        key=key, first=first, last=last, window=window, previous=services.previous_range(window)
    )


def preset(key: str = DEFAULT_PRESET, *, today: date | None = None) -> Period:
    """The last 7, 30 or 90 days, today included."""
    today = today or shop_today()
    return period_of(today - timedelta(days=PRESETS[key] - 1), today, key)


class DateInput(forms.DateInput):
    input_type = "date"


class PeriodForm(forms.Form):
    """The period picker (a GET form): a preset, or a custom range of days."""

    period = forms.ChoiceField(
        choices=[
            ("7", "Last 7 days"),
            ("30", "Last 30 days"),
            ("90", "Last 90 days"),
            (CUSTOM, "Custom range"),
        ],
        required=False,
        initial=DEFAULT_PRESET,
    )
    start = forms.DateField(required=False, label="From", widget=DateInput)
    end = forms.DateField(required=False, label="To (included)", widget=DateInput)

    def clean(self) -> dict:
        data = super().clean()
        key = data.get("period") or (CUSTOM if data.get("start") or data.get("end") else None)
        key = key or DEFAULT_PRESET
        data["period"] = key
        if key != CUSTOM:
            data["chosen"] = preset(key)
            return data
        start, end = data.get("start"), data.get("end")
        if start is None or end is None:
            if "start" not in self.errors and "end" not in self.errors:
                raise ValidationError("Give the first and the last day of the range.")
            return data
        try:
            data["chosen"] = period_of(start, end)
        except ValidationError as error:
            message = error.messages[0]
            if message == "The end must come after the start.":
                message = "The last day cannot come before the first."
            raise ValidationError(message) from None
        return data

    def chosen(self) -> Period:
        """The period asked for; the default one when the form is not valid."""
        if self.is_valid():
            return self.cleaned_data["chosen"]
        return preset()


# --- Formats ------------------------------------------------------------------------------------


def money(amount: Decimal | None) -> str:
    return "—" if amount is None else f"{amount:,.2f} {settings.SHOP_CURRENCY}"


def count(number: int | None) -> str:
    return "—" if number is None else f"{number:,}"


def hours(number: Decimal | None) -> str:
    return "—" if number is None else f"{number:,.1f} h"


def percent(number: Decimal | None) -> str:
    return "—" if number is None else f"{number:,.1f} %"


def duration(span: timedelta | None) -> str:
    if span is None:
        return "—"
    minutes = round(span.total_seconds() / 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours_, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours_} h"
    if hours_:
        return f"{hours_} h {minutes:02d} min"
    return f"{minutes} min"


FORMATS: dict[str, Callable] = {
    "money": money,
    "count": count,
    "hours": hours,
    "percent": percent,
    "duration": duration,
}


def change_text(change: Decimal | None, current, previous) -> str:
    if change is None:
        return "new" if previous in (0, Decimal(0)) and current not in (None, 0) else "—"
    if change == 0:
        return "±0.0 %"
    sign = "+" if change > 0 else "\N{MINUS SIGN}"
    return f"{sign}{abs(change):,.1f} %"


def raw(value):
    """A value as the CSV writes it: a duration in seconds, numbers as they are."""
    if isinstance(value, timedelta):
        return round(value.total_seconds())
    return value


@dataclass(frozen=True)
class Figure:
    """One figure of the period beside the same figure of the previous period."""

    key: str
    label: str
    current: object
    previous: object
    kind: str = "count"  # a key of FORMATS
    lower_is_better: bool = False
    note: str = ""

    @cached_property
    def change(self) -> Decimal | None:
        return services.percent_change(self.current, self.previous)

    @property
    def shown(self) -> str:
        return FORMATS[self.kind](self.current)

    @property
    def previous_shown(self) -> str:
        return FORMATS[self.kind](self.previous)

    @property
    def change_shown(self) -> str:
        return change_text(self.change, self.current, self.previous)

    @property
    def tone(self) -> str:
        """``good``, ``bad`` or ``flat``, as the change goes; ``none`` without a change."""
        if self.change is None:
            return "none"
        if self.change == 0:
            return "flat"
        return "good" if (self.change > 0) != self.lower_is_better else "bad"


def compared(current, previous, *, lower_is_better: bool = False) -> dict:
    """What a table cell of a compared value needs: the change and its tone."""
    figure = Figure("", "", current, previous, lower_is_better=lower_is_better)
    return {"change": figure.change, "change_shown": figure.change_shown, "tone": figure.tone}


# --- The sections -------------------------------------------------------------------------------


def _period_label(start: datetime, granularity: str) -> str:
    local = start.astimezone(shop_zone())
    return f"{local:%d %b}" if granularity == "DAY" else f"w/c {local:%d %b}"


def sales(period: Period) -> dict:
    """Revenue, orders and average order value; the revenue per day (or week) of both periods."""
    now, before = services.totals(period.window), services.totals(period.previous)
    series, previous_series = (
        services.by_period(period.window),
        services.by_period(period.previous),
    )
    return {
        "figures": [
            Figure("revenue", "Revenue", now["revenue"], before["revenue"], "money"),
            Figure("orders", "Orders", now["order_count"], before["order_count"]),
            Figure(
                "average_order_value",
                "Average order value",
                now["average_order_value"],
                before["average_order_value"],
                "money",
            ),
        ],
        "series": series,
        "previous_series": previous_series,
    }


def daily_revenue(period: Period) -> list[dict]:
    """Revenue and orders day by day, each beside the same day of the previous period."""
    window = ReportRange(period.window.start, period.window.end, "DAY")
    previous = ReportRange(period.previous.start, period.previous.end, "DAY")
    now, before = services.by_period(window), services.by_period(previous)
    rows = []
    for index, row in enumerate(now):
        earlier = before[index] if index < len(before) else None
        rows.append(
            {
                "day": row["start"].date(),
                "revenue": row["revenue"],
                "orders": row["order_count"],
                "previous_day": earlier["start"].date() if earlier else None,
                "previous_revenue": earlier["revenue"] if earlier else None,
                "previous_orders": earlier["order_count"] if earlier else None,
            }
        )
    return rows


def statuses(period: Period) -> list[dict]:
    """Orders placed in each period, by status (the statuses either period has)."""
    now = {row["status"]: row["count"] for row in services.orders_by_status(period.window)}
    before = {row["status"]: row["count"] for row in services.orders_by_status(period.previous)}
    return [
        {
            "status": status.value,
            "label": status.label,
            "count": now.get(status, 0),
            "previous": before.get(status, 0),
            **compared(now.get(status, 0), before.get(status, 0)),
        }
        for status in OrderStatus
        if status in now or status in before
    ]


def best_sellers(period: Period, *, limit: int = TOP_LIMIT) -> dict[str, list[dict]]:
    """The best-selling goods and services, each beside its own sales of the previous period."""
    tops = services.best_sellers(period.window, limit=limit, previous=period.previous)
    tables = {}
    for kind, rows in tops.items():
        tables[kind] = [
            {
                **row,
                **compared(row["revenue"], row["previous_revenue"]),
                "admin_url": _admin_url("catalog_product", row["product_id"]),
            }
            for row in rows
        ]
    return {"goods": tables[ProductKind.GOODS], "services": tables[ProductKind.SERVICE]}


def bookings(period: Period) -> dict:
    """The bookings' figures and each resource's utilisation, beside the previous period's."""
    now, before = services.booking_figures(period.window), services.booking_figures(period.previous)
    usage, earlier = services.utilisation(period.window), services.utilisation(period.previous)
    total, total_before = services.utilisation_total(usage), services.utilisation_total(earlier)
    by_resource = {row["resource_id"]: row for row in earlier}
    rows = []
    for row in usage:
        previous = by_resource.get(row["resource_id"], {}).get("utilisation_percent")
        rows.append(
            {
                **row,
                "previous_utilisation_percent": previous,
                **compared(row["utilisation_percent"], previous),
                "admin_url": _admin_url("bookings_resource", row["resource_id"]),
            }
        )
    return {
        "figures": [
            Figure("bookings", "Bookings", now["booked"], before["booked"]),
            Figure(
                "utilisation",
                "Utilisation",
                total["utilisation_percent"],
                total_before["utilisation_percent"],
                "percent",
                note=f"{hours(total['booked_hours'])} booked of {hours(total['open_hours'])} open",
            ),
            Figure("no_shows", "No-shows", now["no_shows"], before["no_shows"], "count", True),
            Figure(
                "cancellations",
                "Cancellations",
                now["cancellations"],
                before["cancellations"],
                "count",
                True,
            ),
        ],
        "total": total,
        "resources": rows,
    }


def deliveries(period: Period) -> dict:
    """The deliveries' figures, and the cash each courier holds."""
    now, before = (
        services.delivery_figures(period.window),
        services.delivery_figures(period.previous),
    )
    cash, cash_before = services.cash_held(period.window), services.cash_held(period.previous)
    held = sum((row["amount"] for row in cash), services.ZERO)
    held_before = sum((row["amount"] for row in cash_before), services.ZERO)
    return {
        "figures": [
            Figure("delivered", "Delivered", now["delivered"], before["delivered"]),
            Figure(
                "first_attempt",
                "Delivered on the first attempt",
                services.share(now["first_attempt"], now["delivered"]),
                services.share(before["first_attempt"], before["delivered"]),
                "percent",
                note=f"{count(now['first_attempt'])} of {count(now['delivered'])}",
            ),
            Figure(
                "failed_attempts",
                "Failed attempts",
                now["failed_attempts"],
                before["failed_attempts"],
                "count",
                True,
            ),
            Figure(
                "pickup_to_delivery",
                "Pick-up to delivery (average)",
                now["average_pickup_to_delivery"],
                before["average_pickup_to_delivery"],
                "duration",
                True,
            ),
            Figure(
                "cash_held",
                "Cash held by couriers",
                held,
                held_before,
                "money",
                True,
                note="Collected in the period, not handed in yet",
            ),
        ],
        "counts": now,
        "cash": cash,
    }


def low_stock(*, limit: int = LOW_STOCK_LIMIT) -> list[dict]:
    return [
        {
            **row,
            "admin_url": _admin_url("catalog_productvariant", row["variant_id"]),
            "product_admin_url": _admin_url("catalog_product", row["product_id"]),
        }
        for row in services.low_stock(limit=limit)
    ]


def _admin_url(model: str, pk: int | None) -> str | None:
    return reverse(f"admin:{model}_change", args=[pk]) if pk else None


# --- The whole page -----------------------------------------------------------------------------


@dataclass
class Dashboard:
    period: Period
    sales: dict
    statuses: list[dict]
    best_sellers: dict
    bookings: dict
    deliveries: dict
    low_stock: list[dict]

    def charts(self) -> dict[str, SafeString]:
        granularity = self.period.window.granularity
        series, previous = self.sales["series"], self.sales["previous_series"]
        return {
            "revenue": charts.line_chart(
                chart_id="chart-revenue",
                title=f"Revenue per {'week' if self.period.weekly else 'day'}",
                labels=[_period_label(row["start"], granularity) for row in series],
                series=[
                    charts.Series("This period", [row["revenue"] for row in series], "current"),
                    charts.Series(
                        "Previous period", [row["revenue"] for row in previous], "previous"
                    ),
                ],
                value_format=lambda value: f"{value:,.0f}",
            ),
            "statuses": charts.bar_chart(
                chart_id="chart-statuses",
                title="Orders by status",
                bars=[
                    charts.Bar(row["label"], row["count"], row["previous"]) for row in self.statuses
                ],
                value_format=lambda value: f"{value:,.0f}",
            ),
            "utilisation": charts.bar_chart(
                chart_id="chart-utilisation",
                title="Utilisation per resource",
                bars=[
                    charts.Bar(
                        row["resource_name"],
                        row["utilisation_percent"] or 0,
                        row["previous_utilisation_percent"],
                    )
                    for row in self.bookings["resources"]
                ],
                value_format=lambda value: f"{value:,.1f} %",
                maximum=100,
            ),
        }


def build(period: Period) -> Dashboard:
    """Every figure of the page: a fixed number of queries, whatever the data."""
    return Dashboard(
        period=period,
        sales=sales(period),
        statuses=statuses(period),
        best_sellers=best_sellers(period),
        bookings=bookings(period),
        deliveries=deliveries(period),
        low_stock=low_stock(),
    )
