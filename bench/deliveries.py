"""The delivery scenarios of `make bench` (bench/run.py): a courier's round, and handing over.

``seed()`` writes, with bulk inserts, guest orders of bench goods (1-3 lines, half of them cash
on delivery, the other half paid by card), each with its payment and its delivery, as if the
steps had been taken: assigned to a courier (a ``DeliveryAgent`` made by
``apps.delivery.services.agent_create``), picked up, set out; the events of each step are
written too. A delivery out for delivery stores the keyed hash of a code the seed chose
(``apps.delivery.codes.code_hash``, as ``delivery_start`` does with the code it sends the
buyer), so that the bench can hand it over honestly. Three couriers, each signed in with a
bearer token (``apps.accounts.services.token_create``):

- ``five`` and ``fifty``: 5 and 50 open deliveries (assigned, picked up, out for delivery,
  failed, in turn) and some delivered ones; ``myDeliveries`` of both must run the same number
  of SQL queries.
- ``rounds``: the deliveries out for delivery that ``deliveryComplete`` hands over, each once.

Every run deletes the orders of earlier runs first (their numbers start with ORDER_PREFIX).
"""

import json
from datetime import timedelta
from decimal import Decimal

from bench import common

ORDER_PREFIX = "BENCH-DLV-"
COURIER_DOMAIN = "bench-couriers.example.com"
COURIERS = {  # key: (first name, last name, open deliveries, delivered ones)
    "five": ("Bench", "Courier Five", 5, 2),
    "fifty": ("Bench", "Courier Fifty", 50, 20),
    "rounds": ("Bench", "Courier Rounds", 0, 0),
}
OPEN_CYCLE = ("ASSIGNED", "PICKED_UP", "OUT_FOR_DELIVERY", "OUT_FOR_DELIVERY", "FAILED")
COUNT_DELIVERIES = 2  # per kind (cash, card): the first warms up, the last is counted
BATCH = 2000

MY_DELIVERIES = """query MyDeliveries { myDeliveries(first: 50, filters: {isOpen: true}) {
totalCount edges { node { id status orderNumber address { city line1 } lines { sku quantity }
cashToCollect { amount } agent { name } events { status createdAt }
lastLocation { latitude longitude } } } } }"""

DELIVERY_COMPLETE = """mutation DeliveryComplete($id: ID!, $code: String!, $cash: Decimal) {
deliveryComplete(id: $id, code: $code, cashCollected: $cash) { __typename
... on Delivery { id status cashToCollect { amount } cashCollected { amount } }
... on OperationInfo { messages { code field message } } } }"""

OPEN = {"ASSIGNED", "PICKED_UP", "OUT_FOR_DELIVERY", "FAILED"}


def code_of(number: int) -> str:
    """The six-digit code of the seed's delivery number ``number`` (any digits would do)."""
    return f"{(number * 7919 + 104729) % 1_000_000:06d}"


def _courier(key: str):
    """The courier ``key`` (idempotent): an account, made a DeliveryAgent by the service."""
    from apps.accounts.models import User
    from apps.delivery.models import DeliveryAgent
    from apps.delivery.services import agent_create

    first, last, _, _ = COURIERS[key]
    email = f"{key}@{COURIER_DOMAIN}"
    user = User.objects.filter(email=email).first() or User.objects.create_user(
        email, password=None, first_name=first, last_name=last
    )
    agent = DeliveryAgent.objects.filter(user=user).first()
    if agent is None:
        agent = agent_create(user=user, phone="+33 6 12 34 56 78", vehicle="Bicycle")
    elif not agent.is_active:
        DeliveryAgent.objects.filter(pk=agent.pk).update(is_active=True)
    return agent


def _delete_earlier() -> None:
    from apps.accounts.models import AuthToken
    from apps.orders.models import Order

    # Deliveries, events, lines and payments go with their orders (ON DELETE CASCADE in
    # Django's collector; the notifications of guest orders are none).
    Order.objects.filter(number__startswith=ORDER_PREFIX).delete()
    AuthToken.objects.filter(user__email__endswith=f"@{COURIER_DOMAIN}").delete()


def _specs(count_complete: int) -> list[dict]:
    """What each order is: its courier, its delivery's status, cash or card, its role."""
    specs = []
    for key, (_, _, open_count, delivered) in COURIERS.items():
        for index in range(open_count):
            specs.append({"courier": key, "status": OPEN_CYCLE[index % len(OPEN_CYCLE)]})
        specs += [{"courier": key, "status": "DELIVERED"} for _ in range(delivered)]
    for kind in ("cash", "card"):
        specs += [
            {"courier": "rounds", "status": "OUT_FOR_DELIVERY", "count": kind}
            for _ in range(COUNT_DELIVERIES)
        ]
    specs += [
        {"courier": "rounds", "status": "OUT_FOR_DELIVERY", "complete": True}
        for _ in range(count_complete)
    ]
    for number, spec in enumerate(specs):
        spec["number"] = number
        # Cash, cash, card, card...: whichever way the load generator's threads split the
        # bodies (thread t of 2 takes t, t + 2, ...), each sends both kinds.
        spec["cash"] = spec["count"] == "cash" if "count" in spec else number % 4 < 2
    return specs


def _order_status(delivery_status: str) -> str:
    return {
        "ASSIGNED": "PROCESSING",
        "PICKED_UP": "SHIPPED",
        "OUT_FOR_DELIVERY": "SHIPPED",
        "FAILED": "SHIPPED",
        "DELIVERED": "DELIVERED",
    }[delivery_status]


def _steps(delivery_status: str) -> list[str]:
    """The events a delivery in this status has: one per step taken."""
    path = ["ASSIGNED", "PICKED_UP", "OUT_FOR_DELIVERY"]
    return {
        "ASSIGNED": path[:1],
        "PICKED_UP": path[:2],
        "OUT_FOR_DELIVERY": path,
        "FAILED": [*path, "FAILED"],
        "DELIVERED": [*path, "DELIVERED"],
    }[delivery_status]


def seed(count_complete: int) -> dict:
    """The couriers, their tokens and deliveries (see the module); what the operations need:
    ``tokens`` by courier, ``complete`` and ``count`` (the deliveries deliveryComplete hands
    over, in the bench and in the query count), each ``(delivery pk, code, cash or None)``,
    and ``open`` (the couriers' open deliveries, by courier)."""
    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone

    from apps.accounts.services import token_create
    from apps.catalog.models import ProductVariant
    from apps.delivery.codes import code_hash
    from apps.delivery.models import Delivery, DeliveryEvent
    from apps.orders.models import Order, OrderEvent, OrderLine
    from apps.payments.models import Payment, PaymentMethod, PaymentStatus

    variants = list(
        ProductVariant.objects.filter(pk__in=common.bench_variant_ids(limit=200))
        .select_related("product")
        .order_by("pk")
    )
    now = timezone.now()
    specs = _specs(count_complete)
    with transaction.atomic():
        _delete_earlier()
        agents = {key: _courier(key) for key in COURIERS}
        tokens = {key: token_create(user=agent.user)[1] for key, agent in agents.items()}
        orders, lines = [], []
        for spec in specs:
            number = spec["number"]
            basket = [
                (variants[(number * 7 + offset * 13) % len(variants)], 1 + (number + offset) % 3)
                for offset in range(1 + number % 3)
            ]
            subtotal = sum((v.price * quantity for v, quantity in basket), Decimal("0.00"))
            shipping = (
                Decimal("0.00")
                if subtotal >= settings.FREE_SHIPPING_THRESHOLD
                else settings.SHIPPING_FLAT_FEE
            )
            status = _order_status(spec["status"])
            paid = not spec["cash"] or status == "DELIVERED"
            address = {
                "full_name": f"Bench Recipient {number}",
                "line1": f"{number % 400 + 1} Courier Lane",
                "line2": "",
                "city": ("Lyon", "Leeds", "Austin", "Madrid")[number % 4],
                "region": "",
                "postal_code": "12345",
                "country": "FR",
                "phone": "",
            }
            order = Order(
                number=f"{ORDER_PREFIX}{number:07d}",
                status=status,
                email=f"recipient-{number}@bench.example.com",
                currency=settings.SHOP_CURRENCY,
                subtotal=subtotal,
                shipping_total=shipping,
                total=subtotal + shipping,
                requires_shipping=True,
                pays_on_delivery=spec["cash"],
                shipping_address=address,
                billing_address=address,
                note="Leave it with the concierge." if number % 5 == 0 else "",
                buyer_key=f"bench-delivery:{number}",
                idempotency_key="bench",
                paid_at=now - timedelta(hours=1) if paid else None,
            )
            orders.append(order)
            lines.append(
                [
                    OrderLine(
                        variant=variant,
                        product_name=variant.product.name,
                        variant_name=variant.name,
                        sku=variant.sku,
                        quantity=quantity,
                        unit_price=variant.price,
                        line_total=variant.price * quantity,
                    )
                    for variant, quantity in basket
                ]
            )
        Order.objects.bulk_create(orders, batch_size=BATCH)
        for order, order_lines in zip(orders, lines, strict=True):
            for line in order_lines:
                line.order = order
        OrderLine.objects.bulk_create([x for group in lines for x in group], batch_size=BATCH)
        Payment.objects.bulk_create(
            [
                Payment(
                    order=order,
                    method=(
                        PaymentMethod.CASH_ON_DELIVERY
                        if order.pays_on_delivery
                        else PaymentMethod.CARD_PLACEHOLDER
                    ),
                    status=PaymentStatus.CAPTURED if order.paid_at else PaymentStatus.PENDING,
                    amount=order.total,
                    currency=order.currency,
                    reference=f"bench-{order.number}",
                )
                for order in orders
            ],
            batch_size=BATCH,
        )
        OrderEvent.objects.bulk_create(
            [
                event
                for order in orders
                for event in (
                    OrderEvent(order=order, type=OrderEvent.Type.PLACED, to_status="PENDING"),
                    OrderEvent(
                        order=order,
                        type=OrderEvent.Type.STATUS_CHANGED,
                        from_status="PENDING",
                        to_status=order.status,
                    ),
                )
            ],
            batch_size=BATCH,
        )
        deliveries = []
        for spec, order in zip(specs, orders, strict=True):
            status = spec["status"]
            went_out = status in ("OUT_FOR_DELIVERY", "FAILED", "DELIVERED")
            located = status in ("PICKED_UP", "OUT_FOR_DELIVERY")
            cash = order.total if order.pays_on_delivery else Decimal(0)
            deliveries.append(
                Delivery(
                    order=order,
                    status=status,
                    agent=agents[spec["courier"]],
                    attempts=1 if went_out else 0,
                    cash_to_collect=cash,
                    cash_collected=(cash or None) if status == "DELIVERED" else None,
                    failure_reason="NOBODY_HOME" if status == "FAILED" else "",
                    delivered_at=now - timedelta(minutes=30) if status == "DELIVERED" else None,
                    latitude=45.76 + spec["number"] % 100 / 1000 if located else None,
                    longitude=4.83 + spec["number"] % 100 / 1000 if located else None,
                    located_at=now - timedelta(minutes=5) if located else None,
                )
            )
        Delivery.objects.bulk_create(deliveries, batch_size=BATCH)
        for spec, delivery in zip(specs, deliveries, strict=True):
            if delivery.status == "OUT_FOR_DELIVERY":
                delivery.code_hash = code_hash(
                    delivery_id=delivery.pk, attempt=1, code=code_of(spec["number"])
                )
        Delivery.objects.bulk_update(
            [d for d in deliveries if d.code_hash], ["code_hash"], batch_size=BATCH
        )
        DeliveryEvent.objects.bulk_create(
            [
                DeliveryEvent(delivery=delivery, status=step, actor=agents[spec["courier"]].user)
                for spec, delivery in zip(specs, deliveries, strict=True)
                for step in _steps(delivery.status)
            ],
            batch_size=BATCH,
        )

    def handover(spec: dict, delivery) -> tuple[int, str, str | None]:
        cash = f"{delivery.cash_to_collect:.2f}" if delivery.cash_to_collect else None
        return delivery.pk, code_of(spec["number"]), cash

    pairs = list(zip(specs, deliveries, strict=True))
    common.analyze()
    return {
        "tokens": tokens,
        "open": {
            key: sum(1 for s, d in pairs if s["courier"] == key and d.status in OPEN)
            for key in COURIERS
        },
        "count": {
            kind: [handover(s, d) for s, d in pairs if s.get("count") == kind]
            for kind in ("cash", "card")
        },
        "complete": [handover(s, d) for s, d in pairs if s.get("complete")],
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def my_deliveries_body() -> str:
    return common.graphql_body(MY_DELIVERIES)


def complete_body(handover: tuple[int, str, str | None]) -> str:
    pk, code, cash = handover
    variables = {"id": common.global_id("Delivery", pk), "code": code}
    if cash is not None:
        variables["cash"] = cash
    return common.graphql_body(DELIVERY_COMPLETE, variables)


def body_delivery_pk(body: str) -> int:
    from strawberry.relay import from_base64

    return int(from_base64(json.loads(body)["variables"]["id"])[1])


def my_deliveries_problem(data: dict, expected_total: int, courier_name: str) -> str | None:
    """What is wrong with one myDeliveries answer, or None."""
    page = data.get("myDeliveries") or {}
    edges = page.get("edges") or []
    if page.get("totalCount") != expected_total or len(edges) != min(50, expected_total):
        return f"totalCount {page.get('totalCount')}, {len(edges)} edges; {expected_total} expected"
    ids = set()
    for edge in edges:
        node = edge["node"]
        ids.add(node["id"])
        problem = (
            node["status"] not in OPEN
            or not str(node["orderNumber"]).startswith(ORDER_PREFIX)
            or not node["address"]["city"]
            or not node["address"]["line1"]
            or not node["lines"]
            or any(line["quantity"] < 1 or not line["sku"] for line in node["lines"])
            or node["agent"]["name"] != courier_name
            or [event["status"] for event in node["events"]] != _steps(node["status"])
            or (node["status"] in ("PICKED_UP", "OUT_FOR_DELIVERY")) != bool(node["lastLocation"])
        )
        if problem:
            return f"a wrong delivery: {str(node)[:400]}"
    return None if len(ids) == len(edges) else "the same delivery twice"


def complete_problem(data: dict) -> str | None:
    """What is wrong with one deliveryComplete answer, or None."""
    result = data.get("deliveryComplete") or {}
    if result.get("__typename") != "Delivery" or result.get("status") != "DELIVERED":
        return f"not a delivered Delivery: {result}"
    to_collect = Decimal(result["cashToCollect"]["amount"])
    collected = result["cashCollected"]
    if to_collect and (collected is None or Decimal(collected["amount"]) != to_collect):
        return f"cash {collected} collected, {to_collect} expected"
    if not to_collect and collected is not None:
        return f"cash {collected} collected on a paid order"
    return None


def courier_name(key: str) -> str:
    first, last, _, _ = COURIERS[key]
    return f"{first} {last}"


def verify_complete(pks: list[int], sent: int, answered: int, in_flight: int) -> dict[str, bool]:
    """The database after deliveryComplete: the checks, by name.

    ``pks`` are the bench's deliveries in the order of their bodies; the first ``sent`` of
    them may have been sent (wrk's threads take them in turn); ``answered`` requests were
    answered with a delivered Delivery, and at most ``in_flight`` more were cut when the load
    generator stopped (they may have been completed without their answer being counted).
    """
    from django.db.models import Count, Q

    from apps.delivery.models import Delivery
    from apps.orders.models import OrderEvent
    from apps.payments.models import PaymentStatus

    rows = (
        Delivery.objects.filter(pk__in=pks)
        .annotate(
            delivered_events=Count("events", filter=Q(events__status="DELIVERED"), distinct=True),
            delivered_moves=Count(
                "order__events",
                filter=Q(order__events__to_status="DELIVERED")
                & Q(order__events__type=OrderEvent.Type.STATUS_CHANGED),
                distinct=True,
            ),
        )
        .values(
            "pk",
            "status",
            "cash_to_collect",
            "cash_collected",
            "code_failures",
            "delivered_events",
            "delivered_moves",
            "order__status",
            "order__paid_at",
            "order__pays_on_delivery",
            "order__payment__status",
        )
    )
    by_pk = {row["pk"]: row for row in rows}
    sent_pks = set(pks[:sent])
    delivered = [row for row in by_pk.values() if row["status"] == "DELIVERED"]
    cash = [row for row in delivered if row["order__pays_on_delivery"]]
    untouched = [by_pk[pk] for pk in pks if pk not in sent_pks]
    return {
        "every bench delivery is there": len(by_pk) == len(pks),
        "only deliveries that were sent are delivered": all(
            row["pk"] in sent_pks for row in delivered
        ),
        "the deliveries not sent are untouched (out for delivery, no wrong code)": all(
            row["status"] == "OUT_FOR_DELIVERY"
            and row["delivered_events"] == 0
            and row["code_failures"] == 0
            for row in untouched
        ),
        f"delivered = answered ({answered}) + at most {in_flight} cut at the end": answered
        <= len(delivered)
        <= answered + in_flight,
        "every delivery sent is delivered or still out for delivery": all(
            by_pk[pk]["status"] in ("DELIVERED", "OUT_FOR_DELIVERY") for pk in sent_pks
        ),
        "each delivered once: one DELIVERED event, one order move to DELIVERED": all(
            row["delivered_events"] == 1 and row["delivered_moves"] == 1 for row in delivered
        ),
        "their orders are DELIVERED": all(row["order__status"] == "DELIVERED" for row in delivered),
        "cash orders: the exact cash collected, paid_at set, payment CAPTURED": bool(cash)
        and all(
            row["cash_collected"] == row["cash_to_collect"] > 0
            and row["order__paid_at"] is not None
            and row["order__payment__status"] == PaymentStatus.CAPTURED
            for row in cash
        ),
        "card orders: no cash collected, payment CAPTURED": all(
            row["cash_collected"] is None
            and row["order__paid_at"] is not None
            and row["order__payment__status"] == PaymentStatus.CAPTURED
            for row in delivered
            if not row["order__pays_on_delivery"]
        ),
        f"both kinds delivered ({len(cash)} cash, {len(delivered) - len(cash)} card)": 0
        < len(cash)
        < len(delivered),
        "no wrong code on any sent delivery": all(
            by_pk[pk]["code_failures"] == 0 for pk in sent_pks
        ),
    }
