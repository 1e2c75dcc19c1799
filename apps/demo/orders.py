"""Realistic demo orders in bulk, for development and for measuring the back office.

Every demo order ships (goods only), so each gets its ``Delivery``, in a state its order's
status allows, given to the demo couriers (``apps/demo/delivery.py``), with the events of each
step at plausible times: assigned within hours, picked up, out, delivered (mostly at the first
attempt, some at the second, after a failed one). Some orders are paid in cash on delivery: they
ship unpaid and are paid as they are delivered, and most of the cash each courier collected in a
day was handed in that evening (``CashHandIn``), not all of it.
"""

import random
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from apps.accounts.models import User, email_key
from apps.catalog.models import ProductKind, ProductVariant
from apps.delivery import codes
from apps.delivery.models import (
    CashHandIn,
    Delivery,
    DeliveryAgent,
    DeliveryEvent,
    DeliveryStatus,
    FailureReason,
)
from apps.demo.accounts import demo_admin
from apps.demo.delivery import demo_couriers
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
# Cash on delivery: an order that ships unpaid (never PAID on its own) and is paid as it is
# delivered; refunded only after that.
CASH_STATUSES = {
    OrderStatus.PENDING,
    OrderStatus.PROCESSING,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.CANCELLED,
    OrderStatus.REFUNDED,
}
CASH_SHARE = 0.25
# An order older than this is no longer under way: delivered by now, or, unpaid, cancelled or
# paid late and delivered (every other one), so that today's dispatch list is today's.
OPEN_DAYS = 10
CLOSED = {
    OrderStatus.PAID: OrderStatus.DELIVERED,
    OrderStatus.PROCESSING: OrderStatus.DELIVERED,
    OrderStatus.SHIPPED: OrderStatus.DELIVERED,
}
CITIES = [
    ("Lyon", "69001", "FR"),
    ("Berlin", "10115", "DE"),
    ("Austin", "73301", "US"),
    ("Toronto", "M5H 2N2", "CA"),
    ("Madrid", "28001", "ES"),
    ("Leeds", "LS1 1UR", "GB"),
]
CENTRES = {
    "Lyon": (45.7640, 4.8357),
    "Berlin": (52.5200, 13.4050),
    "Austin": (30.2672, -97.7431),
    "Toronto": (43.6532, -79.3832),
    "Madrid": (40.4168, -3.7038),
    "Leeds": (53.8008, -1.5491),
}
COURIER_WEIGHTS = (55, 45)  # the demo couriers, in the order of apps.demo.delivery.COURIERS
FAILURE_WEIGHTS = {
    FailureReason.NOBODY_HOME: 70,
    FailureReason.WRONG_ADDRESS: 12,
    FailureReason.REFUSED: 8,
    FailureReason.DAMAGED: 4,
    FailureReason.OTHER: 6,
}
S = DeliveryStatus  # short, for the plans below


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
    for field_ in fields:
        field_.auto_now = field_.auto_now_add = False
    try:
        yield
    finally:
        for field_, auto_now, auto_now_add in saved:
            field_.auto_now, field_.auto_now_add = auto_now, auto_now_add


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


# --- A delivery's life, planned -------------------------------------------------------------


@dataclass
class _Step:
    """One DeliveryEvent: what the delivery became, when, said how, by whom."""

    status: str
    at: datetime
    note: str = ""
    by_staff: bool = False  # else by the courier (or nobody, for a cancellation)


@dataclass
class _Plan:
    status: str
    courier: int  # index in the couriers (unused while UNASSIGNED, or cancelled unassigned)
    steps: list[_Step] = field(default_factory=list)
    failure_reason: str = ""

    def at(self, status: str) -> datetime | None:
        return next((s.at for s in reversed(self.steps) if s.status == status), None)

    @property
    def attempts(self) -> int:
        return sum(1 for s in self.steps if s.status == S.OUT_FOR_DELIVERY)

    @property
    def assigned(self) -> bool:
        return any(s.status == S.ASSIGNED for s in self.steps)

    @property
    def went_out(self) -> bool:
        return self.attempts > 0


def _target(rng: random.Random, status: str, cash: bool) -> str:
    """What the delivery of an order in ``status`` became."""
    if status in (OrderStatus.PENDING, OrderStatus.PAID, OrderStatus.PROCESSING):
        dispatched = 0.7 if status == OrderStatus.PROCESSING else 0.3
        return S.ASSIGNED if rng.random() < dispatched else S.UNASSIGNED
    if status == OrderStatus.SHIPPED:
        return S.OUT_FOR_DELIVERY if rng.random() < 0.6 else S.PICKED_UP
    if status == OrderStatus.DELIVERED or (status == OrderStatus.REFUNDED and cash):
        return S.DELIVERED
    if status == OrderStatus.REFUNDED:  # after delivery, mostly; else came back, or before
        return rng.choices([S.DELIVERED, S.RETURNED, S.CANCELLED], [70, 15, 15])[0]
    return S.CANCELLED


def _plan(rng: random.Random, *, status: str, start: datetime, now: datetime, cash: bool) -> _Plan:
    """The delivery of an order that could be dispatched from ``start`` (paid, or placed when
    it pays on delivery or is not paid yet): its state and its steps, all before ``now``."""
    target = _target(rng, status, cash)
    plan = _Plan(status=target, courier=rng.choices(range(2), COURIER_WEIGHTS)[0])
    moment = start

    def step(status_: str, low: float, high: float, note: str = "", by_staff=False) -> None:
        nonlocal moment
        moment += timedelta(minutes=rng.uniform(low, high))
        plan.steps.append(_Step(status_, moment, note, by_staff))

    def attempt() -> None:
        step(S.OUT_FOR_DELIVERY, 5, 90, f"Attempt {plan.attempts + 1}.")

    def fail() -> None:
        plan.failure_reason = rng.choices(*zip(*FAILURE_WEIGHTS.items(), strict=True))[0]
        step(S.FAILED, 10, 80, FailureReason(plan.failure_reason).label)

    if target == S.CANCELLED:
        if rng.random() < 0.5:
            step(S.ASSIGNED, 30, 600, by_staff=True)
        step(S.CANCELLED, 10, 1500)
    elif target != S.UNASSIGNED:
        step(S.ASSIGNED, 30, 1200, by_staff=True)
        if target != S.ASSIGNED:
            step(S.PICKED_UP, 30, 360)
        if target in (S.OUT_FOR_DELIVERY, S.DELIVERED, S.RETURNED):
            attempt()
            second = rng.random() < (0.15 if target == S.DELIVERED else 0.4)
            if target == S.RETURNED or second:
                fail()
                if second:
                    moment += timedelta(hours=rng.uniform(16, 30))  # the next day
                    attempt()
            if target == S.DELIVERED:
                plan.failure_reason = ""  # a new attempt clears it
                step(S.DELIVERED, 10, 80)
            elif target == S.RETURNED:
                if second:
                    fail()
                step(S.RETURNED, 24 * 60, 72 * 60, "Returned to the shop.", by_staff=True)
            else:
                plan.failure_reason = ""
    _fit_before(plan, start, now)
    return plan


def _fit_before(plan: _Plan, start: datetime, now: datetime) -> None:
    """Squeeze the steps of a recent order in time so that the last one is already over."""
    if not plan.steps:
        return
    limit = now - min(timedelta(minutes=1), max(now - start, timedelta(0)) / 2)
    last = plan.steps[-1].at
    if last <= limit:
        return
    factor = max((limit - start) / (last - start), 0.0)
    for each in plan.steps:
        each.at = start + (each.at - start) * factor


def _delivery(order: Order, plan: _Plan, agents: list[DeliveryAgent], rng: random.Random):
    """The delivery row of ``order`` as ``plan`` left it (its id comes with the insert)."""
    agent = agents[plan.courier] if plan.assigned else None
    delivery = Delivery(
        order=order,
        status=plan.status,
        agent=agent,
        attempts=plan.attempts,
        cash_to_collect=order.total if order.pays_on_delivery else Decimal(0),
        failure_reason=plan.failure_reason,
        created_at=order.created_at,
        updated_at=plan.steps[-1].at if plan.steps else order.created_at,
    )
    if plan.status == S.DELIVERED:
        delivery.delivered_at = plan.at(S.DELIVERED)
        delivery.recipient_name = order.shipping_address["full_name"]
        if order.pays_on_delivery:
            delivery.cash_collected = order.total
    if plan.went_out:  # the position the courier last gave, at the door or on the way
        latitude, longitude = CENTRES.get(order.shipping_address["city"], (48.8566, 2.3522))
        delivery.latitude = round(latitude + rng.uniform(-0.03, 0.03), 5)
        delivery.longitude = round(longitude + rng.uniform(-0.03, 0.03), 5)
        door = [s.at for s in plan.steps if s.status in (S.OUT_FOR_DELIVERY, S.FAILED, S.DELIVERED)]
        delivery.located_at = door[-1]
    return delivery


def _events(delivery: Delivery, plan: _Plan, admin_id: int | None) -> list[DeliveryEvent]:
    """Each step as the delivery services write it: the same notes, actors and positions."""
    order = delivery.order
    events = []
    for each in plan.steps:
        note, located = each.note, False
        if each.status == S.ASSIGNED:
            note = f"Assigned to {delivery.agent.name}."
        elif each.status == S.DELIVERED:
            note = f"Received by {delivery.recipient_name}."
            if delivery.cash_collected:
                note += f" Cash collected: {delivery.cash_collected} {order.currency}."
            located = True
        elif each.status == S.FAILED:
            located = True
        elif each.status == S.CANCELLED:
            note = f"Order {order.get_status_display().lower()}."
        if each.by_staff:
            actor = admin_id
        elif each.status == S.CANCELLED:
            actor = None
        else:
            actor = delivery.agent.user_id
        events.append(
            DeliveryEvent(
                delivery=delivery,
                status=each.status,
                note=note,
                actor_id=actor,
                latitude=delivery.latitude if located else None,
                longitude=delivery.longitude if located else None,
                created_at=each.at,
            )
        )
    return events


def _insert_deliveries(
    pairs: list[tuple[Order, _Plan]], agents: list[DeliveryAgent], rng, admin_id
) -> list[Delivery]:
    """Bulk insert the deliveries of these orders and their events; the deliveries."""
    deliveries = [_delivery(order, plan, agents, rng) for order, plan in pairs]
    Delivery.objects.bulk_create(deliveries, batch_size=BATCH)
    out = []
    for delivery in deliveries:  # the code of the attempt under way: only the buyer had it
        if delivery.status == S.OUT_FOR_DELIVERY:
            delivery.code_hash = codes.code_hash(
                delivery_id=delivery.pk, attempt=delivery.attempts, code=codes.new_code()
            )
            out.append(delivery)
    Delivery.objects.bulk_update(out, ["code_hash"], batch_size=500)
    events = [
        event
        for delivery, (_, plan) in zip(deliveries, pairs, strict=True)
        for event in _events(delivery, plan, admin_id)
    ]
    DeliveryEvent.objects.bulk_create(events, batch_size=BATCH)
    return deliveries


def _hand_ins(deliveries: list[Delivery], rng: random.Random, now: datetime, admin_id) -> None:
    """The cash each courier collected in a day, handed in that evening: every day but the last
    two (still in their hands) and a few others, forgotten."""
    zone = timezone.get_default_timezone()
    today = timezone.localdate(now, zone)
    days: dict[tuple[int, object], list[Delivery]] = defaultdict(list)
    for delivery in deliveries:
        if delivery.cash_collected:
            day = timezone.localdate(delivery.delivered_at, zone)
            days[(delivery.agent_id, day)].append(delivery)
    handed, rows = [], []
    for (agent_id, day), collected in sorted(days.items()):
        if day >= today - timedelta(days=1) or rng.random() < 0.05:
            continue
        last = max(d.delivered_at for d in collected)
        evening = datetime.combine(day, time(19, 0), tzinfo=zone)
        at = min(max(evening, last) + timedelta(minutes=rng.uniform(15, 120)), now)
        hand_in = CashHandIn(
            agent_id=agent_id,
            day=day,
            amount=sum((d.cash_collected for d in collected), Decimal(0)),
            received_by_id=admin_id,
            created_at=at,
        )
        rows.append(hand_in)
        handed.append((hand_in, collected))
    CashHandIn.objects.bulk_create(rows, batch_size=BATCH)
    changed = []
    for hand_in, collected in handed:
        for delivery in collected:
            delivery.hand_in = hand_in
            changed.append(delivery)
    Delivery.objects.bulk_update(changed, ["hand_in"], batch_size=500)


def _backfill(rng: random.Random, now: datetime, admin_id) -> list[Delivery]:
    """Deliveries for demo orders made before the demo had any (an older database)."""
    orders = list(Order.objects.filter(number__startswith=NUMBER_PREFIX, delivery__isnull=True))
    if not orders:
        return []
    agents = demo_couriers()
    pairs = [
        (
            order,
            _plan(
                rng,
                status=order.status,
                start=order.paid_at or order.created_at,
                now=now,
                cash=order.pays_on_delivery,
            ),
        )
        for order in orders
    ]
    return _insert_deliveries(pairs, agents, rng, admin_id)


def seed_orders(*, count: int, seed: int = 2026) -> int:
    """Make sure ``count`` demo orders exist (spread over the last year), each with its
    delivery; return how many were created."""
    rng = random.Random(seed + Order.objects.filter(number__startswith=NUMBER_PREFIX).count())  # noqa: S311
    existing = Order.objects.filter(number__startswith=NUMBER_PREFIX).count()
    # Apart, so that the orders are drawn as they were before deliveries came.
    cash_rng = random.Random(seed * 3 + existing)  # noqa: S311
    plan_rng = random.Random(seed * 5 + existing)  # noqa: S311
    wanted = count - existing
    now = timezone.now()
    admin = demo_admin()
    admin_id = admin.pk if admin else None
    if wanted <= 0:
        with _keep_given_timestamps(Delivery, DeliveryEvent, CashHandIn), transaction.atomic():
            _hand_ins(_backfill(plan_rng, now, admin_id), plan_rng, now, admin_id)
        return 0
    variants = list(  # goods: a service's line is booked in time, through checkout
        ProductVariant.objects.active()
        .filter(product__kind=ProductKind.GOODS)
        .select_related("product")
        .values_list("pk", "price", "sku", "name", "product__name")
    )
    if not variants:
        raise ValueError("Seed the catalog first.")
    agents = demo_couriers()
    customers = _customers(rng, max(50, count // 20), now)
    statuses, weights = zip(*STATUS_WEIGHTS.items(), strict=True)
    currency = settings.SHOP_CURRENCY
    created = 0
    collected: list[Delivery] = []
    timestamps = _keep_given_timestamps(Order, Payment, Delivery, DeliveryEvent, CashHandIn)
    with timestamps, transaction.atomic():
        collected += _backfill(plan_rng, now, admin_id)
        for start in range(existing, count, BATCH):
            orders, baskets, plans = [], [], []
            for n in range(start, min(start + BATCH, count)):
                placed = now - timedelta(seconds=rng.uniform(0, 365 * 86400))
                status = rng.choices(statuses, weights)[0]
                if now - placed > timedelta(days=OPEN_DAYS):
                    late = OrderStatus.CANCELLED if n % 2 else OrderStatus.DELIVERED
                    status = CLOSED.get(status, late if status == OrderStatus.PENDING else status)
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
                paid_at = min(placed + timedelta(minutes=5), now) if paid else None
                cash = status in CASH_STATUSES and cash_rng.random() < CASH_SHARE
                plan = _plan(
                    plan_rng,
                    status=status,
                    start=placed if cash or not paid_at else paid_at,
                    now=now,
                    cash=cash,
                )
                if cash:  # paid to the courier, as it was delivered
                    paid_at = plan.at(S.DELIVERED)
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
                        pays_on_delivery=cash,
                        shipping_address=address,
                        billing_address=address,
                        buyer_key=f"demo:{n}",
                        idempotency_key="demo",
                        paid_at=paid_at,
                        created_at=placed,
                        updated_at=placed,
                    )
                )
                baskets.append(basket)
                plans.append(plan)
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
                        method=(
                            PaymentMethod.CASH_ON_DELIVERY
                            if order.pays_on_delivery
                            else PaymentMethod.CARD_PLACEHOLDER
                        ),
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
            pairs = list(zip(orders, plans, strict=True))
            collected += _insert_deliveries(pairs, agents, plan_rng, admin_id)
            created += len(orders)
        _hand_ins(collected, plan_rng, now, admin_id)
    if connection.vendor == "postgresql":  # fresh statistics, as autovacuum would give later
        with connection.cursor() as cursor:
            for model in (Order, OrderLine, Payment, User, Delivery, DeliveryEvent, CashHandIn):
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
