from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from django.core.exceptions import ValidationError

from api.types import Money, PublicError
from apps.core.errors import CoreErrorCode

from . import services

if TYPE_CHECKING:
    from apps.catalog.types import ProductType
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

    @strawberry.field(description="Products by revenue, best first (limit 1 to 50).")
    def top_products(self, limit: int = 10) -> list[ProductSales]:
        from apps.catalog.models import Product

        try:
            rows = services.top_products(self.window, limit=limit)
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

    @property
    def _totals(self) -> dict:
        cached = self.__dict__.get("_cached_totals")
        if cached is None:
            cached = self.__dict__["_cached_totals"] = services.totals(self.window)
        return cached
