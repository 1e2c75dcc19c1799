"""The demo couriers, and deliveries in every state, made as the shop makes them.

Two couriers, ``courier@example.com`` and ``rider@example.com``, are made through
``agent_create``. A few buyers (``@delivery.silkcart.test``, without a password) order goods
through the cart and checkout services, and each order's delivery is then taken through the
delivery services to one state of its state machine: unassigned, assigned, picked up, out for
delivery (with a position), delivered (paid by card; paid in cash, the cash collected), failed
(with a reason), returned, cancelled. Their events, order events, notifications and emails are
the real ones. The cash collected today is left for the tour to hand in (``cashHandIn``); the
bulk history (``apps/demo/orders.py``) has the hand-ins of earlier days.

Idempotent: couriers are matched by email, each demo order by its buyer and idempotency key; a
second run restores the couriers and adds nothing. The stock the demo orders took is put back
(a recorded stock movement), so that the catalog keeps the stock the tour describes.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.db import transaction

from apps.accounts.models import User, email_key
from apps.cart.services import cart_lines_add
from apps.catalog import services as catalog_services
from apps.catalog.models import ProductKind, ProductVariant
from apps.delivery import codes
from apps.delivery import services as delivery_services
from apps.delivery.models import Delivery, DeliveryAgent, DeliveryStatus, FailureReason
from apps.delivery.services.agents import GROUP_NAME
from apps.demo.accounts import demo_admin
from apps.orders import services as order_services
from apps.orders.models import Order, OrderStatus
from apps.orders.services.checkout import buyer_key
from apps.payments.models import PaymentMethod

BUYER_DOMAIN = "@delivery.silkcart.test"
CARD = PaymentMethod.CARD_PLACEHOLDER
CASH = PaymentMethod.CASH_ON_DELIVERY


@dataclass(frozen=True)
class DemoCourier:
    email: str
    password: str
    first_name: str
    last_name: str
    phone: str
    vehicle: str


COURIERS = (
    DemoCourier(
        "courier@example.com", "Courier!2026", "Kofi", "Mensah", "+33 6 12 34 56 78", "Cargo bike"
    ),
    DemoCourier("rider@example.com", "Rider!2026", "Lena", "Vogel", "+33 6 98 76 54 32", "Scooter"),
)

# Buyers: demo accounts without a password (nobody signs in as them), in Paris.
BUYERS = {
    "amara": ("Amara", "Diallo", "14 Rue Oberkampf", "75011"),
    "jules": ("Jules", "Martin", "3 Rue des Martyrs", "75009"),
    "yuki": ("Yuki", "Tanaka", "27 Rue de Bretagne", "75003"),
    "oscar": ("Oscar", "Lindqvist", "8 Rue Cler", "75007"),
    "priya": ("Priya", "Nair", "51 Rue de la Roquette", "75011"),
}


@dataclass(frozen=True)
class DemoDelivery:
    """An order of ``lines`` goods by ``buyer``, its delivery taken to ``status``."""

    key: str  # the idempotency key of its order
    buyer: str
    status: str
    method: str
    courier: int = 0  # index in COURIERS
    lines: int = 1
    reason: str = ""  # a failed attempt's
    note: str = ""
    position: tuple[float, float] | None = None  # where the courier last said they were


DELIVERIES = (
    DemoDelivery("demo-delivery-unassigned", "amara", DeliveryStatus.UNASSIGNED, CARD, lines=2),
    DemoDelivery("demo-delivery-assigned", "jules", DeliveryStatus.ASSIGNED, CASH, courier=0),
    DemoDelivery(
        "demo-delivery-picked-up",
        "yuki",
        DeliveryStatus.PICKED_UP,
        CARD,
        courier=1,
        position=(48.8606, 2.3376),
    ),
    DemoDelivery(
        "demo-delivery-out",
        "oscar",
        DeliveryStatus.OUT_FOR_DELIVERY,
        CASH,
        courier=0,
        lines=2,
        position=(48.8584, 2.3030),
    ),
    DemoDelivery(
        "demo-delivery-delivered-card",
        "priya",
        DeliveryStatus.DELIVERED,
        CARD,
        courier=1,
        position=(48.8556, 2.3744),
    ),
    DemoDelivery(
        "demo-delivery-delivered-cash",
        "amara",
        DeliveryStatus.DELIVERED,
        CASH,
        courier=0,
        position=(48.8650, 2.3780),
    ),
    DemoDelivery(
        "demo-delivery-failed",
        "jules",
        DeliveryStatus.FAILED,
        CASH,
        courier=1,
        reason=FailureReason.NOBODY_HOME,
        note="Rang twice and called: nobody answered.",
        position=(48.8790, 2.3400),
    ),
    DemoDelivery(
        "demo-delivery-returned",
        "yuki",
        DeliveryStatus.RETURNED,
        CARD,
        courier=0,
        reason=FailureReason.WRONG_ADDRESS,
        note="No such number in the street.",
    ),
    DemoDelivery("demo-delivery-cancelled", "priya", DeliveryStatus.CANCELLED, CARD, courier=1),
)

# The services each status is reached through, in order (as tests/delivery/factories does).
STEPS = {
    DeliveryStatus.UNASSIGNED: [],
    DeliveryStatus.ASSIGNED: ["assign"],
    DeliveryStatus.PICKED_UP: ["assign", "pick_up", "locate"],
    DeliveryStatus.OUT_FOR_DELIVERY: ["assign", "pick_up", "start", "locate"],
    DeliveryStatus.DELIVERED: ["assign", "pick_up", "start", "locate", "complete"],
    DeliveryStatus.FAILED: ["assign", "pick_up", "start", "locate", "fail"],
    DeliveryStatus.RETURNED: ["assign", "pick_up", "start", "fail", "return"],
    DeliveryStatus.CANCELLED: ["assign", "cancel"],
}


@dataclass(frozen=True)
class DeliveriesSeeded:
    couriers: int
    orders: int  # demo delivery orders that exist
    created: int  # of which this run placed


def seed_couriers() -> list[DeliveryAgent]:
    """The demo couriers, made (or restored: names, password, phone, vehicle, active) as staff
    make a courier, in the order of ``COURIERS``."""
    agents = []
    with transaction.atomic():
        for demo in COURIERS:
            user = User.objects.filter(email_key=email_key(demo.email)).first()
            if user is None:
                user = User.objects.create_user(
                    demo.email,
                    password=demo.password,
                    first_name=demo.first_name,
                    last_name=demo.last_name,
                )
            else:
                user.first_name, user.last_name, user.is_active = (
                    demo.first_name,
                    demo.last_name,
                    True,
                )
                user.set_password(demo.password)
                user.save()
            agent = DeliveryAgent.objects.filter(user=user).first()
            if agent is None:
                agent = delivery_services.agent_create(
                    user=user, phone=demo.phone, vehicle=demo.vehicle
                )
            else:
                if (agent.phone, agent.vehicle, agent.is_active) != (
                    demo.phone,
                    demo.vehicle,
                    True,
                ):
                    agent = delivery_services.agent_update(
                        agent=agent, phone=demo.phone, vehicle=demo.vehicle, is_active=True
                    )
                user.groups.add(Group.objects.get_or_create(name=GROUP_NAME)[0])
            agents.append(agent)
    return agents


def demo_couriers() -> list[DeliveryAgent]:
    """The demo couriers as they are (made if one is missing), in the order of ``COURIERS``."""
    emails = [demo.email for demo in COURIERS]
    found = {
        agent.user.email: agent
        for agent in DeliveryAgent.objects.select_related("user").filter(user__email__in=emails)
    }
    if len(found) < len(emails):
        return seed_couriers()
    return [found[email] for email in emails]


def seed_deliveries() -> DeliveriesSeeded:
    """Make sure the demo couriers and the demo orders with a delivery in each state exist."""
    couriers = seed_couriers()
    buyers = {name: _buyer(name, *details) for name, details in BUYERS.items()}
    placed = [
        demo
        for demo in DELIVERIES
        if not Order.objects.filter(
            buyer_key=buyer_key(user=buyers[demo.buyer]), idempotency_key=demo.key
        ).exists()
    ]
    if placed:
        goods = _goods()
        stock = {variant.pk: variant.stock_quantity for variant in goods}
        admin = demo_admin()
        for index, demo in enumerate(DELIVERIES):
            if demo in placed:
                lines = [(goods[(2 * index + n) % len(goods)], 1) for n in range(demo.lines)]
                _place_and_walk(demo, buyers[demo.buyer], lines, couriers, admin)
        _restock(goods, stock, admin)
    existing = Order.objects.filter(
        buyer_key__in=[buyer_key(user=user) for user in buyers.values()],
        idempotency_key__in=[demo.key for demo in DELIVERIES],
    ).count()
    return DeliveriesSeeded(couriers=len(couriers), orders=existing, created=len(placed))


def _buyer(name: str, first_name: str, last_name: str, line1: str, postal_code: str) -> User:
    email = f"{name}.{last_name.lower()}{BUYER_DOMAIN}"
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User(email=email, first_name=first_name, last_name=last_name)
        user.set_unusable_password()
        user.save()
    return user


def _address(name: str) -> dict:
    first_name, last_name, line1, postal_code = BUYERS[name]
    return {
        "full_name": f"{first_name} {last_name}",
        "line1": line1,
        "city": "Paris",
        "postal_code": postal_code,
        "country": "FR",
        "phone": "+33 1 40 00 00 00",
    }


def _goods() -> list[ProductVariant]:
    """Goods of the catalog with stock to spare (never the salon's), in a fixed order."""
    goods = list(
        ProductVariant.objects.active()
        .filter(product__kind=ProductKind.GOODS, stock_quantity__gte=8)
        .exclude(product__category__slug__startswith="wellness")
        .select_related("product")
        .order_by("sku")
    )
    if not goods:
        raise ValueError("Seed the catalog first.")
    return goods


@contextmanager
def codes_made() -> Iterator[list[str]]:
    """The proof-of-delivery codes made meanwhile, in order.

    ``delivery_start`` makes each attempt's code and sends it to the buyer only (email, in-app
    notification): the delivery keeps a keyed hash of it. To hand a demo delivery over against
    its real code, this wraps the real generator, ``apps.delivery.codes.new_code`` (which the
    step calls through its module), and records what it returns; nothing else changes.
    """
    made: list[str] = []
    real = codes.new_code

    def recording() -> str:
        code = real()
        made.append(code)
        return code

    codes.new_code = recording
    try:
        yield made
    finally:
        codes.new_code = real


def _place_and_walk(
    demo: DemoDelivery, user: User, lines: list, couriers: list[DeliveryAgent], admin
) -> None:
    """Order as the buyer would (cart, then checkout), then take the delivery to its state
    through the delivery services; all or nothing."""
    courier = couriers[demo.courier]
    with transaction.atomic():
        cart = cart_lines_add(cart=None, user=user, lines=lines)
        order = order_services.checkout_complete(
            user=user,
            cart=cart,
            payment_method=demo.method,
            idempotency_key=demo.key,
            shipping_address=_address(demo.buyer),
            note="Demo delivery.",
        )
        if demo.method == CARD:  # the card payment went through: it may ship
            order = order_services.order_transition(
                order=order, status=OrderStatus.PAID, actor=admin, note="Card payment captured."
            )
        delivery = Delivery.objects.get(order=order)
        code = None
        for step in STEPS[demo.status]:
            if step == "assign":
                delivery_services.delivery_assign(delivery=delivery, agent=courier, actor=admin)
            elif step == "pick_up":
                delivery_services.delivery_pick_up(delivery=delivery, agent=courier)
            elif step == "start":
                with codes_made() as made:
                    delivery_services.delivery_start(delivery=delivery, agent=courier)
                code = made[-1]
            elif step == "locate" and demo.position:
                latitude, longitude = demo.position
                delivery_services.delivery_location_update(
                    delivery=delivery, agent=courier, latitude=latitude, longitude=longitude
                )
            elif step == "complete":
                delivery = Delivery.objects.get(pk=delivery.pk)
                delivery_services.delivery_complete(
                    delivery=delivery,
                    agent=courier,
                    code=code,
                    cash_collected=delivery.cash_to_collect or None,
                    recipient_name=f"{user.first_name} {user.last_name}",
                )
            elif step == "fail":
                delivery_services.delivery_fail(
                    delivery=delivery, agent=courier, reason=demo.reason, note=demo.note
                )
            elif step == "return":
                delivery_services.delivery_return(
                    delivery=delivery, actor=admin, note="Back at the shop: address unknown."
                )
            elif step == "cancel":  # the buyer cancels their paid order before it ships
                order_services.order_cancel(
                    order=order, actor=user, reason="Ordered the wrong size."
                )


def _restock(goods: list[ProductVariant], stock: dict[int, int], admin) -> None:
    """Put back what the demo orders took, as a stock movement, so the catalog's stock is the
    one the demo gives it."""
    for variant in ProductVariant.objects.filter(pk__in=list(stock)).select_related("product"):
        if variant.stock_quantity != stock[variant.pk]:
            catalog_services.stock_update(
                variant=variant,
                quantity=stock[variant.pk],
                reason="Demo deliveries: restocked",
                actor=admin,
            )
