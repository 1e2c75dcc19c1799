"""Orders made directly with the ORM, placed when we say, and a known data set for the report."""

import itertools
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from apps.orders.models import Order, OrderLine, OrderStatus
from tests.accounts.factories import UserFactory
from tests.catalog.factories import ProductFactory, ProductVariantFactory

PARIS = ZoneInfo("Europe/Paris")
# Statuses an order only reaches after it was paid.
PAID_STATUSES = {
    OrderStatus.PAID,
    OrderStatus.PROCESSING,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.REFUNDED,
}
ADDRESS = {
    "full_name": "Sam Buyer",
    "line1": "1 Market Street",
    "line2": "",
    "city": "Lyon",
    "region": "",
    "postal_code": "69001",
    "country": "FR",
    "phone": "",
}
_numbers = itertools.count(1)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def make_order(
    *,
    status: str,
    lines: list[tuple],
    created_at: datetime,
    paid: bool | None = None,
    user=None,
) -> Order:
    """An order of ``lines`` (``(variant, quantity)``) placed at ``created_at``.

    ``paid`` defaults to what the status implies; shipping is 5.00 below 100.00, free above.
    """
    if paid is None:
        paid = status in PAID_STATUSES
    subtotal = sum((variant.price * quantity for variant, quantity in lines), Decimal("0.00"))
    shipping = Decimal("0.00") if subtotal >= Decimal("100.00") else Decimal("5.00")
    number = next(_numbers)
    order = Order.objects.create(
        number=f"T-{number:06d}",
        status=status,
        user=user,
        email=user.email if user else f"guest{number}@example.com",
        currency="USD",
        subtotal=subtotal,
        shipping_total=shipping,
        total=subtotal + shipping,
        shipping_address=ADDRESS,
        billing_address=ADDRESS,
        buyer_key=f"test:{number}",
        idempotency_key="key",
        paid_at=created_at if paid else None,
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            kind=variant.product.kind,
            variant=variant,
            product_name=variant.product.name,
            variant_name=variant.name,
            sku=variant.sku,
            quantity=quantity,
            unit_price=variant.price,
            line_total=variant.price * quantity,
        )
        for variant, quantity in lines
    )
    # created_at is auto_now_add: move it afterwards.
    Order.objects.filter(pk=order.pk).update(created_at=created_at)
    order.refresh_from_db()
    return order


def known_sales() -> dict:
    """March 2025 in Paris (1 March 00:00+01:00 to 1 April 00:00+02:00, summer time from
    30 March) and orders in every state, some just outside the month.

    In the month, paid and kept: 100.00 (3 March), 50.00 (4 March, Paris time) and 20.01
    (31 March, Paris time): revenue 170.01, 3 orders, average 56.67, 7 items. Top products:
    Alpha Lamp 80.00 (2), Beta Mug 60.00 (4), Gamma Pen 15.01 (1).
    """
    lamp = ProductVariantFactory(
        product=ProductFactory(name="Alpha Lamp"), sku="LAMP", price=Decimal("40.00")
    )
    mug = ProductVariantFactory(
        product=ProductFactory(name="Beta Mug"), sku="MUG", price=Decimal("15.00")
    )
    pen = ProductVariantFactory(
        product=ProductFactory(name="Gamma Pen"), sku="PEN", price=Decimal("15.01")
    )
    buyer = UserFactory(email="buyer@example.com", date_joined=utc(2025, 3, 2, 9, 0))
    late_buyer = UserFactory(email="late@example.com", date_joined=utc(2025, 3, 31, 21, 59))
    # Not new customers of March: joined before it, after it, or staff.
    UserFactory(email="early@example.com", date_joined=utc(2025, 2, 28, 22, 59, 59))
    UserFactory(email="april@example.com", date_joined=utc(2025, 3, 31, 22, 0))
    UserFactory(email="clerk@example.com", date_joined=utc(2025, 3, 5), is_staff=True)
    orders = {
        # Revenue.
        "paid": make_order(
            status=OrderStatus.PAID,
            lines=[(lamp, 2), (mug, 1)],  # 95.00 + 5.00 shipping
            created_at=utc(2025, 3, 3, 10, 0),
            user=buyer,
        ),
        "shipped": make_order(
            status=OrderStatus.SHIPPED,
            lines=[(mug, 3)],  # 45.00 + 5.00; 4 March 00:30 in Paris
            created_at=utc(2025, 3, 3, 23, 30),
        ),
        "delivered": make_order(
            status=OrderStatus.DELIVERED,
            lines=[(pen, 1)],  # 15.01 + 5.00; 31 March 23:30 in Paris
            created_at=utc(2025, 3, 31, 21, 30),
            user=late_buyer,
        ),
        # Placed in March, not revenue.
        "pending": make_order(
            status=OrderStatus.PENDING, lines=[(pen, 10)], created_at=utc(2025, 3, 10, 12, 0)
        ),
        "pending_too": make_order(
            status=OrderStatus.PENDING, lines=[(lamp, 1)], created_at=utc(2025, 3, 20, 9, 0)
        ),
        "cancelled": make_order(
            status=OrderStatus.CANCELLED,
            lines=[(lamp, 5)],
            created_at=utc(2025, 3, 12, 8, 0),
            paid=True,
        ),
        "refunded": make_order(
            status=OrderStatus.REFUNDED, lines=[(mug, 4)], created_at=utc(2025, 3, 15, 16, 0)
        ),
        # Paid, but outside March in Paris: 28 February 23:30 and 1 April 00:00.
        "february": make_order(
            status=OrderStatus.PAID, lines=[(lamp, 9)], created_at=utc(2025, 2, 28, 22, 30)
        ),
        "april": make_order(
            status=OrderStatus.DELIVERED, lines=[(pen, 7)], created_at=utc(2025, 3, 31, 22, 0)
        ),
    }
    return {"lamp": lamp, "mug": mug, "pen": pen, "orders": orders}


MARCH_START = paris(2025, 3, 1)
MARCH_END = paris(2025, 4, 1)
