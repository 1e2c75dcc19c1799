import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.utils import timezone
from strawberry.relay import to_base64

from apps.accounts.models import User
from apps.delivery import services
from apps.delivery.models import UNDER_WAY, CashHandIn, Delivery, DeliveryAgent, DeliveryStatus
from tests.accounts.factories import UserFactory
from tests.catalog.factories import service_variant
from tests.conftest import GraphQLClient
from tests.delivery.documents import (
    AGENT_CREATE,
    AGENT_FIELDS,
    AGENT_UPDATE,
    AGENTS,
    ASSIGN,
    CASH_REPORT,
    COMPLETE,
    DELIVERIES,
    DELIVERY_FIELDS,
    FAIL,
    HAND_IN,
    LOCATE,
    MY_DELIVERIES,
    NODE,
    NOT_FOUND,
    PERMISSION_DENIED,
    PICK_UP,
    RETURN,
    START,
    bearer,
    messages,
    nodes,
    result,
)
from tests.delivery.factories import agent, cash_order, delivery_of, fresh, gid, walk, world
from tests.orders.factories import variant

S = DeliveryStatus
CALLERS = ["anonymous", "customer", "other_agent", "courier", "staff"]
AGENTS_ONLY = [caller for caller in CALLERS if caller != "courier"]


@dataclass
class Scene:
    """A customer's cash order (22.50 with shipping), its delivery walked to a status by its
    courier; another courier; staff (not a courier); someone to make a courier of."""

    customer: User
    staff: User
    courier: DeliveryAgent
    other: DeliveryAgent
    recruit: User
    delivery: Delivery
    code: str | None
    clients: dict[str, GraphQLClient] = field(default_factory=dict)


def scene_at(status: str, *, customer, store_admin) -> Scene:
    order = cash_order(user=customer, note="Ring twice", lines=[(variant(price="17.50"), 1)])
    courier = agent(first_name="Dana", last_name="Rider")
    delivery = delivery_of(order)
    _, code = walk(delivery, status, courier=courier)
    other = agent(first_name="Robin", last_name="Vale")
    scene = Scene(
        customer=customer,
        staff=store_admin,
        courier=courier,
        other=other,
        recruit=UserFactory(first_name="Nina"),
        delivery=fresh(delivery),
        code=code,
    )
    scene.clients = {
        "anonymous": GraphQLClient(),
        "customer": GraphQLClient().login(customer),
        "other_agent": bearer(other.user),
        "courier": bearer(courier.user),
        "staff": GraphQLClient().login(store_admin),
    }
    return scene


@dataclass
class Operation:
    document: str
    status: str  # what the delivery is when it is asked for
    variables: Callable[[Scene], dict]
    done: Callable[[Scene], bool]  # whether it took effect
    answer: str = "Delivery"  # the type of its payload when it is done


STAFF_OPERATIONS = {
    "deliveryAgentCreate": Operation(
        AGENT_CREATE,
        S.ASSIGNED,
        lambda s: {
            "input": {
                "userId": to_base64("User", s.recruit.pk),
                "phone": "+33 6 99 99 99 99",
                "vehicle": "Van",
            }
        },
        lambda s: DeliveryAgent.objects.filter(user=s.recruit).exists(),
        "DeliveryAgent",
    ),
    "deliveryAgentUpdate": Operation(
        AGENT_UPDATE,
        S.ASSIGNED,
        lambda s: {"id": gid(s.courier), "input": {"vehicle": "Cargo bike"}},
        lambda s: DeliveryAgent.objects.get(pk=s.courier.pk).vehicle == "Cargo bike",
        "DeliveryAgent",
    ),
    "deliveryAssign": Operation(
        ASSIGN,
        S.ASSIGNED,
        lambda s: {"id": gid(s.delivery), "agentId": gid(s.other)},
        lambda s: fresh(s.delivery).agent == s.other,
    ),
    "deliveryReturn": Operation(
        RETURN,
        S.FAILED,
        lambda s: {"id": gid(s.delivery)},
        lambda s: fresh(s.delivery).status == S.RETURNED,
    ),
    "agentCashHandIn": Operation(
        HAND_IN,
        S.DELIVERED,
        lambda s: {
            "agentId": gid(s.courier),
            "date": timezone.localdate().isoformat(),
            "amount": "22.50",
        },
        lambda s: fresh(s.delivery).hand_in is not None,
        "AgentCash",
    ),
}
AGENT_OPERATIONS = {
    "deliveryPickUp": Operation(
        PICK_UP,
        S.ASSIGNED,
        lambda s: {"id": gid(s.delivery)},
        lambda s: fresh(s.delivery).status == S.PICKED_UP,
    ),
    "deliveryStart": Operation(
        START,
        S.PICKED_UP,
        lambda s: {"id": gid(s.delivery)},
        lambda s: fresh(s.delivery).status == S.OUT_FOR_DELIVERY,
    ),
    "deliveryLocationUpdate": Operation(
        LOCATE,
        S.PICKED_UP,
        lambda s: {"id": gid(s.delivery), "latitude": 48.86, "longitude": 2.34},
        lambda s: fresh(s.delivery).latitude == 48.86,
    ),
    "deliveryComplete": Operation(
        COMPLETE,
        S.OUT_FOR_DELIVERY,
        lambda s: {"id": gid(s.delivery), "code": s.code, "cash": "22.50"},
        lambda s: fresh(s.delivery).status == S.DELIVERED,
    ),
    "deliveryFail": Operation(
        FAIL,
        S.OUT_FOR_DELIVERY,
        lambda s: {"id": gid(s.delivery), "reason": "NOBODY_HOME"},
        lambda s: fresh(s.delivery).status == S.FAILED,
    ),
}
# What each caller gets of each operation: None when it is done.
EXPECTED = {
    **{
        (name, caller): None if caller == "staff" else PERMISSION_DENIED
        for name in STAFF_OPERATIONS
        for caller in CALLERS
    },
    **{
        (name, caller): {
            "anonymous": PERMISSION_DENIED,
            "customer": PERMISSION_DENIED,
            "other_agent": NOT_FOUND,
            "courier": None,
            "staff": PERMISSION_DENIED,  # staff are no couriers
        }[caller]
        for name in AGENT_OPERATIONS
        for caller in CALLERS
    },
}
OPERATIONS = {**STAFF_OPERATIONS, **AGENT_OPERATIONS}


@pytest.mark.parametrize(("name", "caller"), sorted(EXPECTED))
def test_every_operation_for_every_caller(db, customer, store_admin, name, caller):
    operation = OPERATIONS[name]
    scene = scene_at(operation.status, customer=customer, store_admin=store_admin)
    snapshot = world()

    response = scene.clients[caller](operation.document, operation.variables(scene))

    expected = EXPECTED[name, caller]
    if expected is None:
        assert result(response)["__typename"] == operation.answer, result(response)
        assert operation.done(scene)
    else:
        assert messages(response) == expected
        assert world() == snapshot
        assert not operation.done(scene)


def test_staff_who_are_no_couriers_are_told_so(db, customer, store_admin):
    scene = scene_at(S.ASSIGNED, customer=customer, store_admin=store_admin)

    response = scene.clients["staff"](PICK_UP, {"id": gid(scene.delivery)})

    assert result(response)["messages"][0]["message"] == "You are not an active delivery agent."


@pytest.mark.parametrize("name", sorted(AGENT_OPERATIONS))
def test_an_inactive_courier_acts_on_nothing(db, customer, store_admin, name):
    operation = AGENT_OPERATIONS[name]
    scene = scene_at(operation.status, customer=customer, store_admin=store_admin)
    services.agent_update(agent=scene.courier, is_active=False)
    snapshot = world()

    response = scene.clients["courier"](operation.document, operation.variables(scene))

    assert messages(response) == PERMISSION_DENIED
    assert world() == snapshot


@pytest.mark.parametrize("status", [S.UNASSIGNED, S.ASSIGNED])
def test_an_unassigned_or_reassigned_delivery_is_not_found_by_a_courier(
    db, customer, store_admin, status
):
    scene = scene_at(status, customer=customer, store_admin=store_admin)
    if status == S.ASSIGNED:
        services.delivery_assign(delivery=scene.delivery, agent=scene.other)
    snapshot = world()

    response = scene.clients["courier"](PICK_UP, {"id": gid(scene.delivery)})

    assert messages(response) == NOT_FOUND
    assert world() == snapshot


# --- queries ----------------------------------------------------------------------------------


def totals(response) -> int:
    return result(response)["totalCount"]


@pytest.mark.parametrize("caller", CALLERS)
def test_only_staff_list_every_delivery_and_courier(db, customer, store_admin, caller):
    scene = scene_at(S.ASSIGNED, customer=customer, store_admin=store_admin)
    api = scene.clients[caller]

    deliveries, couriers = api(DELIVERIES), api(AGENTS)

    if caller == "staff":
        assert [node["id"] for node in nodes(deliveries)] == [gid(scene.delivery)]
        assert [node["name"] for node in nodes(couriers)] == ["Dana Rider", "Robin Vale"]
    else:  # as every staff list (orders): nothing, and no error
        assert (totals(deliveries), nodes(deliveries)) == (0, [])
        assert (totals(couriers), nodes(couriers)) == (0, [])


@pytest.mark.parametrize("caller", CALLERS)
def test_only_a_courier_has_deliveries_of_their_own(db, customer, store_admin, caller):
    scene = scene_at(S.ASSIGNED, customer=customer, store_admin=store_admin)

    response = scene.clients[caller](MY_DELIVERIES)

    expected = [gid(scene.delivery)] if caller == "courier" else []
    assert [node["id"] for node in nodes(response)] == expected
    assert totals(response) == len(expected)


@pytest.mark.parametrize("caller", CALLERS)
def test_only_staff_read_the_cash_report(db, customer, store_admin, caller):
    scene = scene_at(S.DELIVERED, customer=customer, store_admin=store_admin)

    response = scene.clients[caller](CASH_REPORT, {"date": timezone.localdate().isoformat()})

    rows = [(row["agent"]["name"], row["collected"]["amount"]) for row in result(response)]
    if caller == "staff":
        assert rows == [("Dana Rider", "22.50"), ("Robin Vale", "0.00")]
    else:
        assert rows == []


NODE_SEEN_BY = {
    # caller: (sees the delivery, sees its order, sees the courier's profile)
    "anonymous": (False, False, False),
    "customer": (True, True, False),
    "other_agent": (False, False, False),
    "courier": (True, False, True),
    "staff": (True, True, True),
}


@pytest.mark.parametrize("caller", CALLERS)
def test_who_reaches_a_delivery_and_a_courier_by_id(db, customer, store_admin, caller):
    scene = scene_at(S.OUT_FOR_DELIVERY, customer=customer, store_admin=store_admin)
    api = scene.clients[caller]
    sees_delivery, sees_order, sees_courier = NODE_SEEN_BY[caller]

    delivery = result(api(NODE, {"id": gid(scene.delivery)}))
    courier = result(api(NODE, {"id": gid(scene.courier)}))

    if sees_delivery:
        assert (delivery["id"], delivery["status"]) == (gid(scene.delivery), "OUT_FOR_DELIVERY")
        order = scene.delivery.order
        assert delivery["order"] == (
            {
                "number": order.number,
                "token": str(order.token),
                "email": "casey@example.com",
                "user": {"email": "casey@example.com"},
            }
            if sees_order
            else None
        )
    else:
        assert delivery is None
    if sees_courier:
        assert (courier["id"], courier["email"]) == (gid(scene.courier), scene.courier.user.email)
    else:
        assert courier is None


# --- what the buyer sees ----------------------------------------------------------------------

BUYER_DELIVERY = f"""
query($id: ID!) {{
  result: order(id: $id) {{ number delivery {{ status agent {{ {AGENT_FIELDS} }}
    lastLocation {{ latitude longitude }} attempts cashToCollect {{ amount }} }} }}
}}
"""


@pytest.mark.parametrize("status", list(S))
def test_the_buyer_follows_the_delivery_of_their_order(db, customer, store_admin, status):
    scene = scene_at(status, customer=customer, store_admin=store_admin)
    Delivery.objects.filter(pk=scene.delivery.pk).update(
        latitude=48.86, longitude=2.34, located_at=timezone.now() - timedelta(minutes=1)
    )

    response = scene.clients["customer"](BUYER_DELIVERY, {"id": gid(scene.delivery.order)})

    delivery = result(response)["delivery"]
    assert delivery["status"] == status
    if status == S.UNASSIGNED:
        assert delivery["agent"] is None
    else:
        assert delivery["agent"] == {
            "id": gid(scene.courier),
            "name": "Dana",  # the first name only
            "phone": "+33 6 12 34 56 78" if status == S.OUT_FOR_DELIVERY else None,
            "email": None,
            "vehicle": "Bicycle",
            "isActive": True,
        }
    assert delivery["lastLocation"] == (
        {"latitude": 48.86, "longitude": 2.34} if status in UNDER_WAY else None
    )
    assert delivery["cashToCollect"] == {"amount": "22.50"}


def test_a_guest_with_the_order_link_follows_its_delivery(db):
    order = cash_order(email="guest.buyer@example.com")
    delivery = delivery_of(order)
    walk(delivery, S.OUT_FOR_DELIVERY)
    guest = GraphQLClient()

    response = guest(
        """query($token: UUID!) { result: orderByToken(token: $token) {
          number delivery { status agent { name phone email } } } }""",
        {"token": str(order.token)},
    )

    assert result(response) == {
        "number": order.number,
        "delivery": {
            "status": "OUT_FOR_DELIVERY",
            "agent": {"name": "Dana", "phone": "+33 6 12 34 56 78", "email": None},
        },
    }
    assert result(guest(NODE, {"id": gid(delivery)})) is None  # the link opens its order only


def test_a_guest_who_looks_the_order_up_follows_its_delivery(db):
    order = cash_order(email="guest.buyer@example.com")
    walk(delivery_of(order), S.PICKED_UP)

    response = GraphQLClient()(
        """query($number: String!, $email: String!) { result: orderLookup(number: $number,
          email: $email) { delivery { status } } }""",
        {"number": order.number, "email": "Guest.Buyer@example.com"},
    )

    assert result(response) == {"delivery": {"status": "PICKED_UP"}}


# --- what the courier sees --------------------------------------------------------------------

COURIER_VIEW = f"""
query($id: ID!, $order: ID!) {{
  result: node(id: $id) {{ ... on Delivery {{ {DELIVERY_FIELDS} order {{ number }} }} }}
  mine: myDeliveries {{ edges {{ node {{ {DELIVERY_FIELDS} order {{ token }} }} }} }}
  order: node(id: $order) {{ id }}
}}
"""


def test_the_courier_sees_what_the_delivery_needs_and_nothing_of_the_buyer(db, customer):
    mug = variant(price="17.50", sku="MUG-BLUE", product__name="Mug")
    order = cash_order(user=customer, note="Ring twice", lines=[(mug, 2), (service_variant(), 1)])
    delivery = delivery_of(order)
    courier, _ = walk(delivery, S.PICKED_UP)

    response = bearer(courier.user)(COURIER_VIEW, {"id": gid(delivery), "order": gid(order)})

    data = response.data
    seen = data["result"]
    assert seen["order"] is None
    assert seen["orderNumber"] == order.number
    assert seen["instructions"] == "Ring twice"
    assert seen["address"] == {
        "fullName": "Casey Buyer",
        "line1": "12 Rue de Rivoli",
        "line2": "Apt 4",
        "city": "Paris",
        "postalCode": "75001",
        "country": "FR",
        "phone": "",
    }
    assert seen["lines"] == [
        {"kind": "GOODS", "sku": "MUG-BLUE", "productName": "Mug", "quantity": 2}
    ]
    assert seen["cashToCollect"] == {"amount": str(order.total), "currency": "USD"}
    assert [edge["node"]["order"] for edge in data["mine"]["edges"]] == [None]
    assert data["order"] is None
    text = json.dumps(data)
    assert str(order.token) not in text
    assert "casey@example.com" not in text


# --- the hand-in row ------------------------------------------------------------------------


def test_a_hand_in_is_recorded_with_who_received_it(db, customer, store_admin):
    scene = scene_at(S.DELIVERED, customer=customer, store_admin=store_admin)
    operation = STAFF_OPERATIONS["agentCashHandIn"]

    scene.clients["staff"](operation.document, operation.variables(scene))

    hand_in = CashHandIn.objects.get()
    assert (hand_in.agent, hand_in.amount, hand_in.received_by) == (
        scene.courier,
        fresh(scene.delivery).cash_collected,
        store_admin,
    )


def test_a_delivery_event_has_nothing_of_the_order():
    from schema.schema import schema

    fields = schema._schema.get_type("DeliveryEvent").fields

    assert set(fields) == {"status", "note", "createdAt", "location"}
