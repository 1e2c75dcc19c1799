"""The dashboard's tables as CSV files: the same rows as the page, from the same functions
(the low stock up to ``LOW_STOCK_LIMIT`` variants, where the page shows the first 20).

A text cell that a spreadsheet would read as a formula (it starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return: a product named ``=HYPERLINK(...)``) is written with a
leading apostrophe, so that it stays text. Numbers are written as they are.
"""

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.http import HttpResponse

from . import dashboard
from .dashboard import Period

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
LOW_STOCK_LIMIT = 500


def safe_cell(value) -> object:
    """``value`` as a CSV cell: text that could start a formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return dashboard.raw(value)


def _summary(period: Period) -> Iterable[list]:
    built = {
        "sales": dashboard.sales(period)["figures"],
        "bookings": dashboard.bookings(period)["figures"],
        "deliveries": dashboard.deliveries(period)["figures"],
    }
    for section, figures in built.items():
        for figure in figures:
            yield [
                section,
                figure.key,
                figure.label,
                figure.current,
                figure.previous,
                figure.change,
            ]


def _revenue(period: Period) -> Iterable[list]:
    for row in dashboard.daily_revenue(period):
        yield [
            row["day"],
            row["revenue"],
            row["orders"],
            row["previous_day"],
            row["previous_revenue"],
            row["previous_orders"],
        ]


def _statuses(period: Period) -> Iterable[list]:
    for row in dashboard.statuses(period):
        yield [row["status"], row["count"], row["previous"], row["change"]]


def _best_sellers(kind: str) -> Callable[[Period], Iterable[list]]:
    def rows(period: Period) -> Iterable[list]:
        for row in dashboard.best_sellers(period)[kind]:
            yield [
                row["product_id"],
                row["product_name"],
                row["quantity"],
                row["revenue"],
                row["previous_revenue"],
                row["change"],
            ]

    return rows


def _utilisation(period: Period) -> Iterable[list]:
    for row in dashboard.bookings(period)["resources"]:
        yield [
            row["resource_id"],
            row["resource_name"],
            row["time_zone"],
            row["open_hours"],
            row["booked_hours"],
            row["utilisation_percent"],
            row["previous_utilisation_percent"],
            row["change"],
        ]


def _cash(period: Period) -> Iterable[list]:
    for row in dashboard.deliveries(period)["cash"]:
        yield [row["agent_id"], row["agent_name"], row["deliveries"], row["amount"]]


def _low_stock(period: Period) -> Iterable[list]:
    for row in dashboard.low_stock(limit=LOW_STOCK_LIMIT):
        yield [row[key] for key in ("variant_id", "sku", "product_name", "variant_name", "stock")]


@dataclass(frozen=True)
class Table:
    title: str
    header: list[str]
    rows: Callable[[Period], Iterable[list]]


TABLES: dict[str, Table] = {
    "summary": Table(
        "Key figures",
        ["section", "figure", "label", "value", "previous_value", "change_percent"],
        _summary,
    ),
    "revenue": Table(
        "Revenue per day",
        ["day", "revenue", "orders", "previous_day", "previous_revenue", "previous_orders"],
        _revenue,
    ),
    "statuses": Table(
        "Orders by status", ["status", "orders", "previous_orders", "change_percent"], _statuses
    ),
    "products": Table(
        "Top products",
        ["product_id", "product", "quantity", "revenue", "previous_revenue", "change_percent"],
        _best_sellers("goods"),
    ),
    "services": Table(
        "Top services",
        ["product_id", "service", "quantity", "revenue", "previous_revenue", "change_percent"],
        _best_sellers("services"),
    ),
    "utilisation": Table(
        "Utilisation per resource",
        [
            "resource_id",
            "resource",
            "time_zone",
            "open_hours",
            "booked_hours",
            "utilisation_percent",
            "previous_utilisation_percent",
            "change_percent",
        ],
        _utilisation,
    ),
    "cash": Table("Cash held by couriers", ["agent_id", "courier", "deliveries", "amount"], _cash),
    "low-stock": Table(
        "Low stock", ["variant_id", "sku", "product", "variant", "stock"], _low_stock
    ),
}


def csv_response(period: Period, name: str) -> HttpResponse:
    """The table ``name`` of the period as a CSV attachment."""
    table = TABLES[name]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.header)
    for row in table.rows(period):
        writer.writerow([safe_cell(value) for value in row])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{period.file_name(name)}"'
    return response
