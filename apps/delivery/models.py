"""The shop's couriers and the deliveries they make.

Every order with goods gets one ``Delivery`` when it is placed (``UNASSIGNED``); staff assign
it to a ``DeliveryAgent``, who picks it up, sets out (the buyer is sent a one-time code),
reports where they are, and hands it over against the code (and the cash, for an order paid on
delivery), or reports a failed attempt. Each step is a ``DeliveryEvent``.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from apps.accounts.models import phone_validator
from apps.core.models import TimeStampedModel


class DeliveryStatus(models.TextChoices):
    UNASSIGNED = "UNASSIGNED", "Unassigned"
    ASSIGNED = "ASSIGNED", "Assigned"
    PICKED_UP = "PICKED_UP", "Picked up"
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY", "Out for delivery"
    DELIVERED = "DELIVERED", "Delivered"
    FAILED = "FAILED", "Attempt failed"
    RETURNED = "RETURNED", "Returned to the shop"
    CANCELLED = "CANCELLED", "Cancelled"


# The state machine, in one place. A delivery is assigned (and may be reassigned until it is
# over), picked up, taken out; at the door it is delivered, or the attempt fails, after which
# it goes out again (a new attempt, a new code) or back to the shop (staff). It is cancelled
# with its order, as long as the goods have not reached the buyer.
_MOVES: dict[str, set[str]] = {
    DeliveryStatus.UNASSIGNED: {DeliveryStatus.ASSIGNED, DeliveryStatus.CANCELLED},
    DeliveryStatus.ASSIGNED: {DeliveryStatus.PICKED_UP, DeliveryStatus.CANCELLED},
    DeliveryStatus.PICKED_UP: {DeliveryStatus.OUT_FOR_DELIVERY, DeliveryStatus.CANCELLED},
    DeliveryStatus.OUT_FOR_DELIVERY: {
        DeliveryStatus.DELIVERED,
        DeliveryStatus.FAILED,
        DeliveryStatus.CANCELLED,
    },
    DeliveryStatus.FAILED: {
        DeliveryStatus.OUT_FOR_DELIVERY,
        DeliveryStatus.RETURNED,
        DeliveryStatus.CANCELLED,
    },
    DeliveryStatus.DELIVERED: set(),
    DeliveryStatus.RETURNED: set(),
    DeliveryStatus.CANCELLED: set(),
}
FINISHED = frozenset({DeliveryStatus.DELIVERED, DeliveryStatus.RETURNED, DeliveryStatus.CANCELLED})
# Where the goods are with the courier: they may be handed to another one (reassigned).
REASSIGNABLE = frozenset(
    {
        DeliveryStatus.ASSIGNED,
        DeliveryStatus.PICKED_UP,
        DeliveryStatus.OUT_FOR_DELIVERY,
        DeliveryStatus.FAILED,
    }
)
# On the way to the buyer: the courier's position is taken, and shown to the buyer.
UNDER_WAY = frozenset({DeliveryStatus.PICKED_UP, DeliveryStatus.OUT_FOR_DELIVERY})


def next_statuses(status: str) -> set[str]:
    """The statuses a delivery in ``status`` may move to."""
    return _MOVES[status]


class FailureReason(models.TextChoices):
    NOBODY_HOME = "NOBODY_HOME", "Nobody home"
    WRONG_ADDRESS = "WRONG_ADDRESS", "Wrong address"
    REFUSED = "REFUSED", "Refused by the recipient"
    DAMAGED = "DAMAGED", "Goods damaged"
    OTHER = "OTHER", "Other"


class DeliveryAgent(TimeStampedModel):
    """A courier: a user in the ``Delivery agent`` group, with how to reach them."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="delivery_agent"
    )
    phone = models.CharField(max_length=32, validators=[phone_validator])
    vehicle = models.CharField(max_length=64, help_text="Bicycle, scooter, van...")
    is_active = models.BooleanField(
        default=True, help_text="Inactive agents keep their history but take no deliveries."
    )

    class Meta:
        ordering = ["user__first_name", "user__last_name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.user.get_full_name() or self.user.email.split("@")[0]

    @property
    def first_name(self) -> str:
        return self.user.first_name or self.name.split()[0]


class CashHandIn(models.Model):
    """Cash an agent handed in to the shop: what they had collected on one day."""

    agent = models.ForeignKey(DeliveryAgent, on_delete=models.PROTECT, related_name="hand_ins")
    day = models.DateField(help_text="The day (shop time) the cash was collected.")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="cash_hand_in_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.agent} {self.day} {self.amount}"


class Delivery(TimeStampedModel):
    order = models.OneToOneField("orders.Order", on_delete=models.CASCADE, related_name="delivery")
    status = models.CharField(
        max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.UNASSIGNED
    )
    agent = models.ForeignKey(
        DeliveryAgent,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deliveries",
    )
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times it went out.")
    cash_to_collect = models.DecimalField(
        max_digits=12, decimal_places=2, default=0, help_text="The total of a cash order."
    )
    cash_collected = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    hand_in = models.ForeignKey(
        CashHandIn, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    # The proof-of-delivery code of the current attempt: a keyed hash, never the code.
    code_hash = models.CharField(max_length=128, blank=True, editable=False)
    code_failures = models.PositiveSmallIntegerField(default=0, editable=False)
    failure_reason = models.CharField(max_length=16, choices=FailureReason.choices, blank=True)
    recipient_name = models.CharField(max_length=128, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    located_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "deliveries"
        permissions = [("deliver", "Can carry out the deliveries assigned to them")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=DeliveryStatus.values), name="delivery_status_known"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[DeliveryStatus.UNASSIGNED, DeliveryStatus.CANCELLED])
                | Q(agent__isnull=False),
                name="delivery_assigned_has_agent",
            ),
            models.CheckConstraint(
                condition=~Q(status=DeliveryStatus.DELIVERED) | Q(delivered_at__isnull=False),
                name="delivery_delivered_at",
            ),
            models.CheckConstraint(
                condition=Q(cash_to_collect__gte=0), name="delivery_cash_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(cash_collected__isnull=True) | Q(cash_collected=F("cash_to_collect")),
                name="delivery_cash_collected_exact",
            ),
            models.CheckConstraint(
                # NULL > 0 is unknown, which a CHECK lets through: say "not null" too.
                condition=Q(hand_in__isnull=True)
                | Q(cash_collected__isnull=False, cash_collected__gt=0),
                name="delivery_hand_in_of_cash",
            ),
            models.CheckConstraint(
                condition=(
                    Q(latitude__isnull=True, longitude__isnull=True, located_at__isnull=True)
                    | Q(
                        latitude__gte=-90,
                        latitude__lte=90,
                        longitude__gte=-180,
                        longitude__lte=180,
                        located_at__isnull=False,
                    )
                ),
                name="delivery_location_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["agent", "status"], name="delivery_agent_status"),
            models.Index(fields=["status", "created_at"], name="delivery_status_created"),
            # The reports: deliveries made in a range.
            models.Index(fields=["status", "delivered_at"], name="delivery_status_delivered"),
            models.Index(
                fields=["agent", "delivered_at"],
                name="delivery_cash_to_hand_in",
                condition=Q(cash_collected__gt=0, hand_in__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"Delivery of {self.order_id} ({self.status})"

    @property
    def next_statuses(self) -> set[str]:
        return next_statuses(self.status)

    @property
    def is_locked(self) -> bool:
        """Too many wrong codes: only staff (reassigning it) unlock it."""
        return self.code_failures >= settings.DELIVERY_CODE_MAX_FAILURES


class DeliveryEvent(models.Model):
    """One step of a delivery: what it became, who did it, where, and why."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=20, choices=DeliveryStatus.choices)
    note = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # The reports: failed attempts in a range; each delivery's first pick-up.
            models.Index(fields=["status", "created_at"], name="delivery_event_status_created"),
            models.Index(fields=["delivery", "status", "created_at"], name="delivery_event_step"),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.status}"
