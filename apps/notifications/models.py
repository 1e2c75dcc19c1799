from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q


class NotificationKind(models.TextChoices):
    """What a notification is about; each app that sends some has its kinds here."""

    GENERAL = "GENERAL", "A message from the shop"
    ORDER_PLACED = "ORDER_PLACED", "Order placed"
    ORDER_PAID = "ORDER_PAID", "Order paid"
    ORDER_PROCESSING = "ORDER_PROCESSING", "Order in preparation"
    ORDER_SHIPPED = "ORDER_SHIPPED", "Order shipped"
    ORDER_DELIVERED = "ORDER_DELIVERED", "Order delivered"
    ORDER_CANCELLED = "ORDER_CANCELLED", "Order cancelled"
    ORDER_REFUNDED = "ORDER_REFUNDED", "Order refunded"
    BOOKING_CONFIRMED = "BOOKING_CONFIRMED", "Booking confirmed"
    BOOKING_RESCHEDULED = "BOOKING_RESCHEDULED", "Booking moved"
    BOOKING_CANCELLED = "BOOKING_CANCELLED", "Booking cancelled"
    BOOKING_REMINDER = "BOOKING_REMINDER", "Booking reminder"
    BOOKING_COMPLETED = "BOOKING_COMPLETED", "Booking completed"
    BOOKING_NO_SHOW = "BOOKING_NO_SHOW", "Booking missed"
    DELIVERY_ASSIGNED = "DELIVERY_ASSIGNED", "Delivery assigned to you"
    DELIVERY_ON_THE_WAY = "DELIVERY_ON_THE_WAY", "Delivery on its way"
    DELIVERY_FAILED = "DELIVERY_FAILED", "Delivery attempt failed"
    DELIVERY_CANCELLED = "DELIVERY_CANCELLED", "Delivery cancelled"


class Notification(models.Model):
    """An in-app message for a user (beside the email), about any object of any app.

    ``target`` is what it is about (an order, a booking, a delivery), if anything; ``path`` is
    where a frontend shows it, when the sender knows (``/orders/SC-7K3M9Q2P``).
    """

    Kind = NotificationKind

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    title = models.CharField(max_length=255)
    body = models.TextField(blank=True)
    target_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    target_id = models.PositiveBigIntegerField(null=True, blank=True)
    target = GenericForeignKey("target_type", "target_id")
    path = models.CharField(max_length=255, blank=True, help_text="Where a frontend shows it.")
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_user_created"),
            models.Index(
                fields=["user"], condition=Q(read_at__isnull=True), name="notification_unread"
            ),
            models.Index(fields=["target_type", "target_id"], name="notification_target"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=NotificationKind.values), name="notification_kind_known"
            ),
            models.CheckConstraint(
                condition=Q(target_type__isnull=True, target_id__isnull=True)
                | Q(target_type__isnull=False, target_id__isnull=False),
                name="notification_target_whole",
            ),
        ]

    def __str__(self) -> str:
        return self.title
