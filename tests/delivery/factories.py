"""Couriers and deliveries, made through their services, and what a delivery write touches."""

from contextlib import contextmanager
from unittest.mock import patch

from django.core import mail
from strawberry.relay import to_base64

from apps.delivery import codes, services
from apps.delivery.models import CashHandIn, Delivery, DeliveryAgent, DeliveryEvent, DeliveryStatus
from apps.orders import services as order_services
from apps.orders.models import Order, OrderStatus
from tests.accounts.factories import UserFactory
from tests.orders.factories import place_order, variant
from tests.orders.factories import world as order_world

# The steps that take a new delivery to each status, through the services. A cancelled one
# was assigned first, so that it has a courier (who may not act on it any more).
PATH_TO = {
    DeliveryStatus.UNASSIGNED: [],
    DeliveryStatus.ASSIGNED: ["assign"],
    DeliveryStatus.PICKED_UP: ["assign", "pick_up"],
    DeliveryStatus.OUT_FOR_DELIVERY: ["assign", "pick_up", "start"],
    DeliveryStatus.DELIVERED: ["assign", "pick_up", "start", "complete"],
    DeliveryStatus.FAILED: ["assign", "pick_up", "start", "fail"],
    DeliveryStatus.RETURNED: ["assign", "pick_up", "start", "fail", "return"],
    DeliveryStatus.CANCELLED: ["assign", "cancel"],
}


def agent(
    *,
    email: str | None = None,
    first_name: str = "Dana",
    last_name: str = "Rider",
    phone: str = "+33 6 12 34 56 78",
    vehicle: str = "Bicycle",
) -> DeliveryAgent:
    """A courier, made as staff make one (``agent_create``): in the ``Delivery agent`` group."""
    names = {"first_name": first_name, "last_name": last_name}
    user = UserFactory(**names, **({"email": email} if email else {}))
    return services.agent_create(user=user, phone=phone, vehicle=vehicle)


def cash_order(**kwargs) -> Order:
    """A goods order paid in cash on delivery: it ships unpaid."""
    return place_order(method="CASH_ON_DELIVERY", **kwargs)


def card_order(*, paid: bool = True, **kwargs) -> Order:
    """A goods order paid by card; ``paid``: PAID, so that it may ship."""
    order = place_order(method="CARD_PLACEHOLDER", **kwargs)
    if paid:
        order = order_services.order_transition(order=order, status=OrderStatus.PAID)
    return order


def delivery_of(order: Order) -> Delivery:
    return Delivery.objects.get(order_id=order.pk)


def fresh(delivery: Delivery) -> Delivery:
    return Delivery.objects.select_related("order", "agent__user").get(pk=delivery.pk)


@contextmanager
def codes_sent():
    """The proof-of-delivery codes made meanwhile, as they are made (the real generator)."""
    sent: list[str] = []
    real = codes.new_code

    def spy() -> str:
        code = real()
        sent.append(code)
        return code

    with patch.object(codes, "new_code", spy):
        yield sent


def start(delivery: Delivery, courier: DeliveryAgent) -> str:
    """Set the delivery out; the code the buyer was sent."""
    with codes_sent() as sent:
        services.delivery_start(delivery=delivery, agent=courier)
    return sent[-1]


def walk(delivery: Delivery, status: str, *, courier: DeliveryAgent | None = None, actor=None):
    """Take a new delivery to ``status`` through its services; the courier it went with and
    the code of its last attempt (None if it never went out)."""
    courier = courier or (agent() if PATH_TO[status] and PATH_TO[status][0] == "assign" else None)
    code = None
    for step in PATH_TO[status]:
        if step == "assign":
            services.delivery_assign(delivery=delivery, agent=courier, actor=actor)
        elif step == "pick_up":
            services.delivery_pick_up(delivery=delivery, agent=courier)
        elif step == "start":
            code = start(delivery, courier)
        elif step == "complete":
            current = fresh(delivery)
            services.delivery_complete(
                delivery=current,
                agent=courier,
                code=code,
                cash_collected=current.cash_to_collect or None,
            )
        elif step == "fail":
            services.delivery_fail(delivery=delivery, agent=courier, reason="NOBODY_HOME")
        elif step == "return":
            services.delivery_return(delivery=delivery, actor=actor)
        elif step == "cancel":
            order_services.order_cancel(order=delivery.order, actor=actor, as_staff=True)
    return courier, code


def delivery_at(status: str, *, order: Order | None = None, courier=None) -> Delivery:
    """A delivery (of a paid card order unless ``order``) walked to ``status``."""
    order = order or card_order(lines=[(variant(), 1)])
    delivery = delivery_of(order)
    walk(delivery, status, courier=courier)
    return fresh(delivery)


def gid(obj) -> str:
    name = {Delivery: "Delivery", DeliveryAgent: "DeliveryAgent", Order: "Order"}[type(obj)]
    return to_base64(name, obj.pk)


def world() -> dict[str, list]:
    """Every row a delivery write can touch (with the orders' own), and the mail sent."""
    return {
        **order_world(),
        "deliveries": list(Delivery.objects.order_by("pk").values()),
        "delivery_events": list(DeliveryEvent.objects.order_by("pk").values()),
        "agents": list(DeliveryAgent.objects.order_by("pk").values()),
        "hand_ins": list(CashHandIn.objects.order_by("pk").values()),
        "mail": [(m.subject, m.to, m.body) for m in mail.outbox],
    }
