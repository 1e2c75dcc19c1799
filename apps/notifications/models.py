from django.conf import settings
from django.db import models

# Title and body of the message for each order status (body formatted with the number).
STATUS_MESSAGES = {
    "PAID": ("Payment received", "We received the payment for order {number}."),
    "PROCESSING": ("Order in preparation", "We are preparing order {number}."),
    "SHIPPED": ("Order shipped", "Order {number} is on its way."),
    "DELIVERED": ("Order delivered", "Order {number} was delivered. Enjoy!"),
    "CANCELLED": ("Order cancelled", "Order {number} was cancelled."),
    "REFUNDED": ("Order refunded", "Order {number} was refunded."),
}
# Statuses whose change is also emailed to the buyer.
EMAILED_STATUSES = {"PAID", "SHIPPED", "DELIVERED", "CANCELLED", "REFUNDED"}


class Notification(models.Model):
    """An in-app message for a customer (beside the email)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=32)
    title = models.CharField(max_length=255)
    body = models.TextField(blank=True)
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="notification_user_created")]

    def __str__(self) -> str:
        return self.title
