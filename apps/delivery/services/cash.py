"""Cash on delivery, once collected: what each agent has in hand, day by day, until they hand
it in to the shop."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from ..errors import DeliveryErrorCode
from ..models import CashHandIn, Delivery, DeliveryAgent


@dataclass(frozen=True)
class AgentCash:
    agent: DeliveryAgent
    day: date
    collected: Decimal
    handed_in: Decimal
    deliveries: int  # cash deliveries made that day

    @property
    def outstanding(self) -> Decimal:
        return self.collected - self.handed_in


def day_span(day: date) -> tuple[datetime, datetime]:
    """``day`` in the shop's time zone (``SHOP_TIME_ZONE``), as UTC bounds."""
    zone = timezone.get_default_timezone()
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def _collected_on(day: date):
    start, end = day_span(day)
    return Delivery.objects.filter(
        delivered_at__gte=start, delivered_at__lt=end, cash_collected__gt=0
    )


def cash_report(*, day: date, agent: DeliveryAgent | None = None) -> list[AgentCash]:
    """For every active agent (and any other who collected that day), by name: the cash
    collected on ``day`` and what of it was handed in. Two queries."""
    rows = _collected_on(day)
    agents = DeliveryAgent.objects.select_related("user")
    if agent is not None:
        rows, agents = rows.filter(agent=agent), agents.filter(pk=agent.pk)
    totals = {
        row["agent_id"]: row
        for row in rows.values("agent_id").annotate(
            collected=Sum("cash_collected"),
            handed_in=Sum("cash_collected", filter=Q(hand_in__isnull=False)),
            count=Count("id"),
        )
    }
    report = []
    for each in agents.filter(Q(is_active=True) | Q(pk__in=list(totals))):
        row = totals.get(each.pk, {})
        report.append(
            AgentCash(
                agent=each,
                day=day,
                collected=row.get("collected") or Decimal(0),
                handed_in=row.get("handed_in") or Decimal(0),
                deliveries=row.get("count", 0),
            )
        )
    return report


@transaction.atomic
def cash_hand_in(*, agent: DeliveryAgent, day: date, amount: Decimal, actor=None) -> AgentCash:
    """The agent hands in the cash they collected on ``day`` and still hold: exactly that
    amount, or ``cash_mismatch`` and nothing changes."""
    outstanding = list(
        _collected_on(day).select_for_update().filter(agent=agent, hand_in__isnull=True)
    )
    total = sum((delivery.cash_collected for delivery in outstanding), Decimal(0))
    if not outstanding:
        raise ValidationError(
            {
                "amount": ValidationError(
                    f"{agent.name} has no cash to hand in for {day:%Y-%m-%d}.",
                    code=DeliveryErrorCode.CASH_MISMATCH,
                )
            }
        )
    if amount != total:
        raise ValidationError(
            {
                "amount": ValidationError(
                    f"{agent.name} collected {total} on {day:%Y-%m-%d} and has not handed it in: "
                    "count it again.",
                    code=DeliveryErrorCode.CASH_MISMATCH,
                )
            }
        )
    hand_in = CashHandIn.objects.create(agent=agent, day=day, amount=total, received_by=actor)
    Delivery.objects.filter(pk__in=[d.pk for d in outstanding]).update(hand_in=hand_in)
    return cash_report(day=day, agent=agent)[0]
