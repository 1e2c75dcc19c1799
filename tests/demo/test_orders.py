from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Sum
from django.utils import timezone

from apps.accounts.models import User
from apps.catalog.models import Product
from apps.delivery.models import DeliveryStatus
from apps.demo.orders import seed_orders
from apps.orders.models import Order, OrderLine, OrderStatus
from apps.payments.models import Payment, PaymentMethod, PaymentStatus
from apps.reports import services as reports

DEMO = {"number__startswith": "DEMO-"}
# seed_demo also places the salon's demo bookings (apps/demo/bookings.py), each an order of its own.
DEMO_PAYMENTS = {"order__number__startswith": "DEMO-"}
PAID_STATUSES = {
    OrderStatus.PAID,
    OrderStatus.PROCESSING,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.REFUNDED,
}


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def counts() -> tuple[int, int, int, int]:
    return (
        Order.objects.count(),
        OrderLine.objects.count(),
        Payment.objects.count(),
        User.objects.filter(email__endswith="@demo.silkcart.test").count(),
    )


def test_seed_demo_orders_creates_that_many_orders_with_lines_and_payments(db):
    started = timezone.now()

    output = seed("--orders", "30")

    finished = timezone.now()
    orders = Order.objects.filter(**DEMO)
    assert orders.count() == 30
    assert "Demo orders: 30 created, 30 in all." in output
    assert sorted(orders.values_list("number", flat=True)) == [f"DEMO-{n:08d}" for n in range(30)]
    # Every order has 1 to 4 lines and one payment of its total.
    per_order = orders.annotate(n=Count("lines")).values_list("n", flat=True)
    assert set(per_order) <= {1, 2, 3, 4}
    assert Payment.objects.filter(**DEMO_PAYMENTS).count() == 30
    for order in orders.select_related("payment", "delivery").prefetch_related("lines"):
        lines = list(order.lines.all())
        assert all(1 <= line.quantity <= 3 for line in lines)
        assert all(line.line_total == line.unit_price * line.quantity for line in lines)
        assert order.subtotal == sum((line.line_total for line in lines), Decimal("0.00"))
        assert order.total == order.subtotal + order.shipping_total
        assert order.payment.amount == order.total
        assert order.payment.created_at == order.created_at
        # Placed over the last year, with the dates given (not "now").
        assert started - timedelta(days=365) <= order.created_at <= finished
        assert order.updated_at == order.created_at
        if order.pays_on_delivery:  # paid to the courier as it was delivered, never before
            assert order.payment.method == PaymentMethod.CASH_ON_DELIVERY
            assert order.status != OrderStatus.PAID
            assert order.paid_at == (
                order.delivery.delivered_at
                if order.delivery.status == DeliveryStatus.DELIVERED
                else None
            )
        elif order.status in PAID_STATUSES:
            assert order.payment.method == PaymentMethod.CARD_PLACEHOLDER
            assert order.paid_at == order.created_at + timedelta(minutes=5)
        elif order.status == OrderStatus.PENDING:
            assert order.paid_at is None
        expected_payment = {
            OrderStatus.PENDING: PaymentStatus.PENDING,
            OrderStatus.REFUNDED: PaymentStatus.REFUNDED,
            OrderStatus.CANCELLED: (
                PaymentStatus.REFUNDED if order.paid_at else PaymentStatus.VOIDED
            ),
        }.get(order.status, PaymentStatus.CAPTURED)
        assert order.payment.status == expected_payment
    # The lines point at demo variants and copy their names.
    demo_lines = OrderLine.objects.filter(order__in=orders)
    assert not demo_lines.filter(variant__isnull=True).exists()
    assert not demo_lines.exclude(product_name__in=Product.objects.values("name")).exists()
    # Goods only: a service's line is booked in time, which bulk history cannot do.
    assert set(demo_lines.values_list("variant__product__kind", flat=True)) == {"GOODS"}
    # max(50, N // 20) demo buyers; a guest order has none.
    assert User.objects.filter(email__endswith="@demo.silkcart.test").count() == 50


def test_seed_demo_orders_is_idempotent_and_tops_up(db):
    seed("--orders", "30")
    before = counts()
    numbers = set(Order.objects.values_list("number", flat=True))

    again = seed("--orders", "30")

    assert "Demo orders: 0 created, 30 in all." in again
    assert counts() == before

    more = seed("--orders", "40")

    assert "Demo orders: 10 created, 40 in all." in more
    assert Order.objects.filter(**DEMO).count() == 40
    assert numbers < set(Order.objects.values_list("number", flat=True))
    assert sorted(set(Order.objects.values_list("number", flat=True)) - numbers) == [
        f"DEMO-{n:08d}" for n in range(30, 40)
    ]
    assert Payment.objects.filter(**DEMO_PAYMENTS).count() == 40
    assert counts()[3] == before[3]  # the same 50 buyers

    fewer = seed("--orders", "5")

    assert "Demo orders: 0 created, 5 in all." in fewer
    assert Order.objects.filter(**DEMO).count() == 40


def test_seed_demo_without_orders_makes_none(db):
    output = seed()

    assert Order.objects.filter(**DEMO).count() == 0
    assert "Demo orders" not in output


def test_seed_demo_refuses_a_negative_number_of_orders(db):
    with pytest.raises(CommandError) as error:
        seed("--orders", "-1")

    assert str(error.value) == "--orders cannot be negative."

    assert counts() == (0, 0, 0, 0)
    assert Product.objects.count() == 0


def test_seed_orders_needs_a_catalog(db):
    with pytest.raises(ValueError) as error:
        seed_orders(count=3)

    assert str(error.value) == "Seed the catalog first."

    assert counts() == (0, 0, 0, 0)


def test_the_sales_report_of_the_demo_year_matches_the_demo_orders(db):
    seed("--orders", "30")
    now = timezone.now()
    window = reports.report_range(
        start=now - timedelta(days=366), end=now + timedelta(minutes=1), granularity="MONTH"
    )
    paid = Order.objects.filter(paid_at__isnull=False).exclude(
        status__in=[OrderStatus.CANCELLED, OrderStatus.REFUNDED]
    )

    totals = reports.totals(window)

    assert totals["order_count"] == paid.count()
    assert totals["revenue"] == paid.aggregate(total=Sum("total"))["total"]
    assert (
        reports.items_sold(window)
        == OrderLine.objects.filter(order__in=paid).aggregate(n=Sum("quantity"))["n"]
    )
    # Every order counts by status: the 30 demo orders, the salon's unpaid booking orders and
    # the orders of the demo deliveries (apps/demo/delivery.py), some of them paid.
    assert sum(row["count"] for row in reports.orders_by_status(window)) == Order.objects.count()
    assert not Order.objects.filter(
        email__endswith="@salon.silkcart.test", paid_at__isnull=False
    ).exists()
    assert sum(row["order_count"] for row in reports.by_period(window)) == paid.count()
