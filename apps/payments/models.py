from django.db import models

from apps.core.models import TimeStampedModel


class PaymentMethod(models.TextChoices):
    CASH_ON_DELIVERY = "CASH_ON_DELIVERY", "Cash on delivery"
    CARD_PLACEHOLDER = "CARD_PLACEHOLDER", "Card (placeholder)"


class PaymentStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    CAPTURED = "CAPTURED", "Captured"
    REFUNDED = "REFUNDED", "Refunded"
    VOIDED = "VOIDED", "Voided"


class Payment(TimeStampedModel):
    """The payment of an order, kept by a provider (see ``providers``)."""

    order = models.OneToOneField("orders.Order", on_delete=models.CASCADE, related_name="payment")
    method = models.CharField(max_length=32, choices=PaymentMethod.choices)
    status = models.CharField(
        max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    reference = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.method} {self.amount} {self.status}"
