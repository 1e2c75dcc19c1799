import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.catalog.models import ProductKind
from apps.core.models import TimeStampedModel


class OrderStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    PAID = "PAID", "Paid"
    PROCESSING = "PROCESSING", "Processing"
    SHIPPED = "SHIPPED", "Shipped"
    DELIVERED = "DELIVERED", "Delivered"
    CANCELLED = "CANCELLED", "Cancelled"
    REFUNDED = "REFUNDED", "Refunded"


# The state machine, in one place: every allowed move, and nothing else.
#
# An order with something to ship goes PENDING -> PAID -> PROCESSING -> SHIPPED -> DELIVERED.
# An order with nothing to ship (services only) never ships: it goes from PAID or PROCESSING to
# DELIVERED, its "completed" state, once what was sold has been provided. Either can be
# cancelled until it ships (what it took is released) and refunded once paid.
_SHIPPING: dict[str, set[str]] = {
    OrderStatus.PENDING: {OrderStatus.PAID, OrderStatus.CANCELLED},
    OrderStatus.PAID: {OrderStatus.PROCESSING, OrderStatus.CANCELLED, OrderStatus.REFUNDED},
    OrderStatus.PROCESSING: {OrderStatus.SHIPPED, OrderStatus.CANCELLED, OrderStatus.REFUNDED},
    OrderStatus.SHIPPED: {OrderStatus.DELIVERED, OrderStatus.REFUNDED},
    OrderStatus.DELIVERED: {OrderStatus.REFUNDED},
    OrderStatus.CANCELLED: set(),
    OrderStatus.REFUNDED: set(),
}
_NOT_SHIPPING: dict[str, set[str]] = {
    **_SHIPPING,
    OrderStatus.PAID: {
        OrderStatus.PROCESSING,
        OrderStatus.DELIVERED,
        OrderStatus.CANCELLED,
        OrderStatus.REFUNDED,
    },
    OrderStatus.PROCESSING: {OrderStatus.DELIVERED, OrderStatus.CANCELLED, OrderStatus.REFUNDED},
    OrderStatus.SHIPPED: set(),  # never reached
}
# An order paid in cash on delivery ships unpaid: PENDING -> PROCESSING -> SHIPPED -> DELIVERED,
# paid when the courier collects the cash. Returned to the shop unpaid, it is CANCELLED.
_PAY_ON_DELIVERY: dict[str, set[str]] = {
    **_SHIPPING,
    OrderStatus.PENDING: {OrderStatus.PAID, OrderStatus.PROCESSING, OrderStatus.CANCELLED},
    OrderStatus.SHIPPED: {OrderStatus.DELIVERED, OrderStatus.REFUNDED, OrderStatus.CANCELLED},
}
CUSTOMER_CANCELLABLE = {OrderStatus.PENDING, OrderStatus.PAID}


def next_statuses(
    status: str, *, requires_shipping: bool, pays_on_delivery: bool = False
) -> set[str]:
    """The statuses an order in ``status`` may move to."""
    if not requires_shipping:
        return _NOT_SHIPPING[status]
    return (_PAY_ON_DELIVERY if pays_on_delivery else _SHIPPING)[status]


class OrderQuerySet(models.QuerySet["Order"]):
    def paid(self) -> "OrderQuerySet":
        """Orders that count as revenue: paid at some point, not cancelled or refunded."""
        return self.filter(paid_at__isnull=False).exclude(
            status__in=[OrderStatus.CANCELLED, OrderStatus.REFUNDED]
        )


class Order(TimeStampedModel):
    number = models.CharField(max_length=20, unique=True)
    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(
        max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING, db_index=True
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )
    email = models.EmailField()
    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(max_digits=12, decimal_places=2)
    shipping_total = models.DecimalField(max_digits=12, decimal_places=2)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    requires_shipping = models.BooleanField(
        default=True, help_text="Some line ships (goods): the order has a shipping address."
    )
    pays_on_delivery = models.BooleanField(
        default=False, help_text="Cash on delivery: it ships unpaid, paid to the courier."
    )
    shipping_address = models.JSONField(
        null=True, blank=True, help_text="Snapshot at checkout; none when nothing ships."
    )
    billing_address = models.JSONField(
        null=True, blank=True, help_text="Snapshot at checkout; the shipping address by default."
    )
    note = models.TextField(blank=True)
    cart = models.ForeignKey(
        "cart.Cart", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who placed it ("user:<id>" or "cart:<token>") and the client's key: one order per pair.
    buyer_key = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=128)
    paid_at = models.DateTimeField(null=True, blank=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["buyer_key", "idempotency_key"], name="order_idempotency_per_buyer"
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
            models.CheckConstraint(
                condition=Q(requires_shipping=False) | Q(shipping_address__isnull=False),
                name="order_ships_to_an_address",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="order_user_created"),
            models.Index(fields=["status", "created_at"], name="order_status_created"),
            # The reports' aggregates over a range of days (revenue, orders by status, the lines
            # of the range's orders) read this index alone, not the table.
            models.Index(
                fields=["created_at", "paid_at", "status", "total", "id"],
                name="order_created_report",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def next_statuses(self) -> set[str]:
        return next_statuses(
            self.status,
            requires_shipping=self.requires_shipping,
            pays_on_delivery=self.pays_on_delivery,
        )


class OrderLine(models.Model):
    """What was bought, as it was: kind, names, SKU and price are copied at checkout."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(max_length=16, choices=ProductKind.choices, default=ProductKind.GOODS)
    variant = models.ForeignKey(
        "catalog.ProductVariant",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="order_lines",
    )
    product_name = models.CharField(max_length=255)
    variant_name = models.CharField(max_length=255, blank=True)
    sku = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    line_total = models.DecimalField(max_digits=12, decimal_places=2)
    # A service line: the slot it bought, as it was (the booking may move or its resource go).
    booking_start = models.DateTimeField(null=True, blank=True)
    booking_end = models.DateTimeField(null=True, blank=True)
    resource_name = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_line_quantity_pos"),
            models.CheckConstraint(
                condition=Q(kind__in=ProductKind.values), name="order_line_kind_known"
            ),
        ]
        indexes = [
            # The reports' best sellers read the lines of a range's orders from this index alone.
            models.Index(
                fields=["order", "kind", "variant", "quantity", "line_total", "product_name"],
                name="order_line_report",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class OrderEvent(models.Model):
    """The audit trail of an order: every status change, with who and why."""

    class Type(models.TextChoices):
        PLACED = "PLACED", "Placed"
        STATUS_CHANGED = "STATUS_CHANGED", "Status changed"
        CANCELLED = "CANCELLED", "Cancelled"
        NOTE = "NOTE", "Note"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=20, choices=Type.choices)
    from_status = models.CharField(max_length=16, choices=OrderStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=OrderStatus.choices, blank=True)
    note = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.type} {self.from_status}→{self.to_status}"
