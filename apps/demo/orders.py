"""Realistic demo orders in bulk, for development and for measuring the back office."""

import random
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from apps.accounts.models import User, email_key
from apps.catalog.models import ProductVariant
from apps.orders.models import Order, OrderLine, OrderStatus
from apps.payments.models import Payment, PaymentMethod, PaymentStatus

NUMBER_PREFIX = "DEMO-"
BATCH = 2000
STATUS_WEIGHTS = {
    OrderStatus.DELIVERED: 45,
    OrderStatus.SHIPPED: 8,
    OrderStatus.PROCESSING: 5,
    OrderStatus.PAID: 10,
    OrderStatus.PENDING: 12,
    OrderStatus.CANCELLED: 12,
    OrderStatus.REFUNDED: 8,
}
PAID_STATUSES = {
    OrderStatus.PAID,
    OrderStatus.PROCESSING,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.REFUNDED,
}
CITIES = [
    ("Lyon", "69001", "FR"),
    ("Berlin", "10115", "DE"),
    ("Austin", "73301", "US"),
    ("Toronto", "M5H 2N2", "CA"),
    ("Madrid", "28001", "ES"),
    ("Leeds", "LS1 1UR", "GB"),
]


@contextmanager
def _keep_given_timestamps(*models):
    """Let bulk inserts keep the dates we give instead of "now" (demo history only)."""
    fields = [
        f
        for m in models
        for f in m._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    for field in fields:
        field.auto_now = field.auto_now_add = False
    try:
        yield
    finally:
        for field, auto_now, auto_now_add in saved:
            field.auto_now, field.auto_now_add = auto_now, auto_now_add


def _customers(rng: random.Random, count: int, now) -> list[int]:
    existing = list(
        User.objects.filter(email__endswith="@demo.silkcart.test").values_list("pk", flat=True)
    )
    password = make_password(None)
    missing = [
        User(
            email=f"buyer{n}@demo.silkcart.test",
            email_key=email_key(f"buyer{n}@demo.silkcart.test"),
            first_name=rng.choice(["Ana", "Ben", "Chloe", "Dev", "Eli", "Fatima", "Gus", "Hana"]),
            last_name=f"Buyer{n}",
            password=password,
            date_joined=now - timedelta(days=rng.uniform(0, 365)),
        )
        for n in range(len(existing), count)
    ]
    User.objects.bulk_create(missing, batch_size=BATCH)
    return list(
        User.objects.filter(email__endswith="@demo.silkcart.test").values_list("pk", flat=True)
    )


def seed_orders(*, count: int, seed: int = 2026) -> int:
    """Make sure ``count`` demo orders exist (spread over the last year); return how many
    were created."""
    rng = random.Random(seed + Order.objects.filter(number__startswith=NUMBER_PREFIX).count())  # noqa: S311
    existing = Order.objects.filter(number__startswith=NUMBER_PREFIX).count()
    wanted = count - existing
    if wanted <= 0:
        return 0
    variants = list(
        ProductVariant.objects.active()
        .select_related("product")
        .values_list("pk", "price", "sku", "name", "product__name")
    )
    if not variants:
        raise ValueError("Seed the catalog first.")
    now = timezone.now()
    customers = _customers(rng, max(50, count // 20), now)
    statuses, weights = zip(*STATUS_WEIGHTS.items(), strict=True)
    currency = settings.SHOP_CURRENCY
    created = 0
    with _keep_given_timestamps(Order, Payment), transaction.atomic():
        for start in range(existing, count, BATCH):
            orders, baskets = [], []
            for n in range(start, min(start + BATCH, count)):
                placed = now - timedelta(seconds=rng.uniform(0, 365 * 86400))
                status = rng.choices(statuses, weights)[0]
                basket = [
                    (rng.choice(variants), rng.randint(1, 3)) for _ in range(rng.randint(1, 4))
                ]
                subtotal = sum((v[1] * q for v, q in basket), Decimal("0.00"))
                shipping = (
                    Decimal("0.00")
                    if subtotal >= settings.FREE_SHIPPING_THRESHOLD
                    else settings.SHIPPING_FLAT_FEE
                )
                city, postal_code, country = rng.choice(CITIES)
                address = {
                    "full_name": "Demo Buyer",
                    "line1": f"{n % 300 + 1} Demo Street",
                    "line2": "",
                    "city": city,
                    "region": "",
                    "postal_code": postal_code,
                    "country": country,
                    "phone": "",
                }
                guest = rng.random() < 0.2
                paid = status in PAID_STATUSES or (
                    status == OrderStatus.CANCELLED and rng.random() < 0.5
                )
                orders.append(
                    Order(
                        number=f"{NUMBER_PREFIX}{n:08d}",
                        status=status,
                        user_id=None if guest else rng.choice(customers),
                        email=f"demo{n}@demo.silkcart.test",
                        currency=currency,
                        subtotal=subtotal,
                        shipping_total=shipping,
                        total=subtotal + shipping,
                        shipping_address=address,
                        billing_address=address,
                        buyer_key=f"demo:{n}",
                        idempotency_key="demo",
                        paid_at=min(placed + timedelta(minutes=5), now) if paid else None,
                        created_at=placed,
                        updated_at=placed,
                    )
                )
                baskets.append(basket)
            Order.objects.bulk_create(orders, batch_size=BATCH)
            lines, payments = [], []
            for order, basket in zip(orders, baskets, strict=True):
                for (pk, price, sku, name, product_name), quantity in basket:
                    lines.append(
                        OrderLine(
                            order=order,
                            variant_id=pk,
                            product_name=product_name,
                            variant_name=name,
                            sku=sku,
                            quantity=quantity,
                            unit_price=price,
                            line_total=price * quantity,
                        )
                    )
                payments.append(
                    Payment(
                        order=order,
                        method=PaymentMethod.CARD_PLACEHOLDER,
                        amount=order.total,
                        currency=currency,
                        reference=f"demo-{order.number}",
                        status=_payment_status(order),
                        created_at=order.created_at,
                        updated_at=order.created_at,
                    )
                )
            OrderLine.objects.bulk_create(lines, batch_size=BATCH)
            Payment.objects.bulk_create(payments, batch_size=BATCH)
            created += len(orders)
    if connection.vendor == "postgresql":  # fresh statistics, as autovacuum would give later
        with connection.cursor() as cursor:
            for model in (Order, OrderLine, Payment, User):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return created


def _payment_status(order: Order) -> str:
    if order.status == OrderStatus.REFUNDED or (
        order.status == OrderStatus.CANCELLED and order.paid_at
    ):
        return PaymentStatus.REFUNDED
    if order.status == OrderStatus.CANCELLED:
        return PaymentStatus.VOIDED
    return PaymentStatus.CAPTURED if order.paid_at else PaymentStatus.PENDING
