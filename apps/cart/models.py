import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.catalog.models import ProductKind
from apps.core.models import TimeStampedModel

MAX_LINE_QUANTITY = 1000


class CartQuerySet(models.QuerySet["Cart"]):
    def active(self) -> "CartQuerySet":
        return self.filter(status=Cart.Status.ACTIVE)


class Cart(TimeStampedModel):
    """A basket. Guests reach theirs by its token only; a customer has one active cart."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CONVERTED = "converted", "Converted to an order"
        MERGED = "merged", "Merged into a customer's cart"

    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="carts",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)

    objects = CartQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(status="active"), name="cart_one_active_per_user"
            ),
        ]
        indexes = [models.Index(fields=["status", "updated_at"], name="cart_status_updated")]

    def __str__(self) -> str:
        return f"cart {self.token}"


class CartLine(TimeStampedModel):
    """One line of a cart: always a product variant (goods or a service), in a quantity.

    ``kind`` is the product's kind, copied when the line is made (a product never changes
    kind): it tells checkout what the line needs (stock for goods; for a service, the time
    slot its booking holds, which points at the line). Goods have one line per variant; a
    service may have several, one per booked slot.
    """

    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(
        "catalog.ProductVariant", null=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=ProductKind.choices, default=ProductKind.GOODS)
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["cart", "variant"],
                condition=Q(kind=ProductKind.GOODS),
                name="cart_line_unique_goods_variant",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=ProductKind.values), name="cart_line_kind_known"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=1) & Q(quantity__lte=MAX_LINE_QUANTITY),
                name="cart_line_quantity_range",
            ),
            # Every line holds something to buy; a booking will be a second alternative.
            models.CheckConstraint(condition=Q(variant__isnull=False), name="cart_line_has_item"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.variant_id}"

    @property
    def available(self) -> bool:
        variant = self.variant
        return variant is not None and variant.is_active and variant.product.is_active
