from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from django.core.exceptions import ValidationError

from api.types import Money, PublicError
from apps.core.errors import CoreErrorCode

from . import services

if TYPE_CHECKING:
    from apps.catalog.types import ProductKindEnum, ProductType
    from apps.orders.types import OrderStatusEnum


@strawberry.enum(name="Granularity")
class Granularity(Enum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"


@strawberry.type(name="SalesPeriod")
class SalesPeriod:
    start: datetime = strawberry.field(description="Start of the period, in the shop's zone.")
    revenue: Money
    order_count: int


@strawberry.type(name="StatusCount")
class StatusCount:
    status: Annotated["OrderStatusEnum", strawberry.lazy("apps.orders.types")]
    count: int


@strawberry.type(name="ProductSales")
class ProductSales:
    product_name: str
    quantity: int
    revenue: Money
    product: Annotated["ProductType", strawberry.lazy("apps.catalog.types")] | None = (
        strawberry.field(description="The product, while it still exists.")
    )


@strawberry.type(name="ResourceUtilisation")
class ResourceUtilisation:
    resource_name: str
    time_zone: str = strawberry.field(description="IANA time zone: its weekly hours are in it.")
    open_hours: float = strawberry.field(
        description="Its weekly hours in the range, less its time off."
    )
    booked_hours: float = strawberry.field(
        description="The time of the range its bookings kept (confirmed, completed or no-show); "
        "the bookings of one class slot count it once."
    )
    utilisation_percent: float | None = strawberry.field(
        description="Booked hours over open hours, in percent; null without open hours."
    )


@strawberry.type(
    name="BookingFigures",
    description="Bookings starting in the range, and the time of the range each resource was "
    "open and booked. Holds (in carts, or expired) are not bookings.",
)
class BookingFigures:
    window: strawberry.Private[services.ReportRange]

    @strawberry.field(description="Bookings that kept their time: confirmed, completed, no-show.")
    def booked(self) -> int:
        return self._counts["booked"]

    @strawberry.field
    def no_shows(self) -> int:
        return self._counts["no_shows"]

    @strawberry.field(description="Sold bookings that were cancelled (not holds let go).")
    def cancellations(self) -> int:
        return self._counts["cancellations"]

    @strawberry.field(description="Every resource's open hours in the range.")
    def open_hours(self) -> float:
        return float(services.utilisation_total(self._utilisation)["open_hours"])

    @strawberry.field(description="Every resource's booked hours in the range.")
    def booked_hours(self) -> float:
        return float(services.utilisation_total(self._utilisation)["booked_hours"])

    @strawberry.field(description="Booked hours over open hours, every resource together.")
    def utilisation_percent(self) -> float | None:
        return _float(services.utilisation_total(self._utilisation)["utilisation_percent"])

    @strawberry.field(
        description="Each active resource (and any other with bookings in the range), by name."
    )
    def by_resource(self) -> list[ResourceUtilisation]:
        return [
            ResourceUtilisation(
                resource_name=row["resource_name"],
                time_zone=row["time_zone"],
                open_hours=float(row["open_hours"]),
                booked_hours=float(row["booked_hours"]),
                utilisation_percent=_float(row["utilisation_percent"]),
            )
            for row in self._utilisation
        ]

    @property
    def _counts(self) -> dict:
        return _cached(self, "counts", lambda: services.booking_figures(self.window))

    @property
    def _utilisation(self) -> list[dict]:
        return _cached(self, "utilisation", lambda: services.utilisation(self.window))


@strawberry.type(name="CashHeldByAgent")
class CashHeldByAgent:
    agent_name: str
    amount: Money
    deliveries: int


@strawberry.type(
    name="DeliveryFigures",
    description="Deliveries made in the range (delivered then), and the attempts that failed "
    "in it.",
)
class DeliveryFigures:
    window: strawberry.Private[services.ReportRange]

    @strawberry.field
    def delivered(self) -> int:
        return self._figures["delivered"]

    @strawberry.field(description="Delivered the first time they went out.")
    def delivered_first_attempt(self) -> int:
        return self._figures["first_attempt"]

    @strawberry.field(description="Attempts that failed in the range (of any delivery).")
    def failed_attempts(self) -> int:
        return self._figures["failed_attempts"]

    @strawberry.field(
        description="From the pick-up to the delivery, on average, in seconds; null without "
        "deliveries."
    )
    def average_pickup_to_delivery_seconds(self) -> int | None:
        average = self._figures["average_pickup_to_delivery"]
        return None if average is None else round(average.total_seconds())

    @strawberry.field(description="Cash of the range's deliveries collected and not handed in yet.")
    def cash_held(self) -> Money:
        return Money.of(sum((row["amount"] for row in self._cash), services.ZERO))

    @strawberry.field(description="The same, per courier, most first.")
    def cash_held_by_agent(self) -> list[CashHeldByAgent]:
        return [
            CashHeldByAgent(
                agent_name=row["agent_name"],
                amount=Money.of(row["amount"]),
                deliveries=row["deliveries"],
            )
            for row in self._cash
        ]

    @property
    def _figures(self) -> dict:
        return _cached(self, "figures", lambda: services.delivery_figures(self.window))

    @property
    def _cash(self) -> list[dict]:
        return _cached(self, "cash", lambda: services.cash_held(self.window))


def _float(value) -> float | None:
    return None if value is None else float(value)


def _cached(report, name: str, compute):
    """``compute()`` once per object: several fields read the same query."""
    key = f"_cached_{name}"
    if key not in report.__dict__:
        report.__dict__[key] = compute()
    return report.__dict__[key]


@strawberry.type(
    name="SalesReport",
    description="Revenue counts orders placed in the range that were paid and are not "
    "cancelled or refunded. Each part is computed only when asked for.",
)
class SalesReport:
    window: strawberry.Private[services.ReportRange]

    @strawberry.field
    def revenue(self) -> Money:
        return Money.of(self._totals["revenue"])

    @strawberry.field(description="Paid orders (not cancelled or refunded).")
    def order_count(self) -> int:
        return self._totals["order_count"]

    @strawberry.field
    def average_order_value(self) -> Money:
        return Money.of(self._totals["average_order_value"])

    @strawberry.field
    def items_sold(self) -> int:
        return services.items_sold(self.window)

    @strawberry.field(description="Customer accounts created in the range.")
    def new_customers(self) -> int:
        return services.new_customers(self.window)

    @strawberry.field
    def by_period(self) -> list[SalesPeriod]:
        return [
            SalesPeriod(
                # Local midnight, told in UTC like every date of the API.
                start=row["start"].astimezone(UTC),
                revenue=Money.of(row["revenue"]),
                order_count=row["order_count"],
            )
            for row in services.by_period(self.window)
        ]

    @strawberry.field(description="Every order placed in the range, by status.")
    def orders_by_status(self) -> list[StatusCount]:
        from apps.orders.models import OrderStatus

        return [
            StatusCount(status=OrderStatus(row["status"]), count=row["count"])
            for row in services.orders_by_status(self.window)
        ]

    @strawberry.field(
        description="Products by revenue, best first (limit 1 to 50); only goods or only "
        "services when `kind` is given (the kind each line was sold as)."
    )
    def top_products(
        self,
        limit: int = 10,
        kind: Annotated["ProductKindEnum", strawberry.lazy("apps.catalog.types")] | None = None,
    ) -> list[ProductSales]:
        from apps.catalog.models import Product

        try:
            rows = services.top_products(
                self.window, limit=limit, kind=None if kind is None else kind.value
            )
        except ValidationError as error:
            raise PublicError(error.messages[0], code=CoreErrorCode.INVALID) from None
        products = Product.objects.in_bulk([row["product_id"] for row in rows if row["product_id"]])
        return [
            ProductSales(
                product_name=row["product_name"],
                quantity=row["quantity"],
                revenue=Money.of(row["revenue"]),
                product=products.get(row["product_id"]),
            )
            for row in rows
        ]

    @strawberry.field(
        description="Bookings starting in the range: utilisation of each resource, no-shows, "
        "cancellations."
    )
    def bookings(self) -> BookingFigures:
        return BookingFigures(window=self.window)

    @strawberry.field(
        description="Deliveries made in the range: first attempts, failed attempts, time on "
        "the road, cash held by the couriers."
    )
    def deliveries(self) -> DeliveryFigures:
        return DeliveryFigures(window=self.window)

    @strawberry.field(
        description="The same report for the period of the same length just before, which "
        "ends where this one starts (the length as the shop's clock tells it)."
    )
    def previous(self) -> "SalesReport":
        return SalesReport(window=services.previous_range(self.window))

    @property
    def _totals(self) -> dict:
        return _cached(self, "totals", lambda: services.totals(self.window))
