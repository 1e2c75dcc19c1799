"""``orderUpdated`` over a live server: mutations through HTTP, their events over WebSocket.

One uvicorn server (``backend.asgi``) serves the module: subscriptions on its WebSocket route,
mutations on its HTTP route (Django), against the test database (``tests.realtime``).
"""

import uuid

from apps.delivery.models import DeliveryStatus
from tests.accounts.factories import UserFactory
from tests.delivery.factories import agent, card_order, delivery_at, delivery_of
from tests.orders.factories import place_order, variant
from tests.realtime import (
    WSClient,
    bearer,
    courier_agent,
    gid,
    missing,
    realtime_db,
    realtime_server,
    staff_member,
)

# Agents report positions as often as they like here (no interval to wait between two).
server = realtime_server(DELIVERY_LOCATION_INTERVAL_SECONDS="0")
pytestmark = realtime_db

ORDER_UPDATED = """
subscription ($id: ID!, $token: UUID) {
  orderUpdated(id: $id, token: $token) {
    number
    status
    payment { status }
    delivery { status lastLocation { latitude longitude } }
  }
}
"""
STATUS_UPDATE = """
mutation ($id: ID!, $status: OrderStatus!) {
  orderStatusUpdate(id: $id, status: $status) {
    __typename
    ... on Order { status }
    ... on OperationInfo { messages { code } }
  }
}
"""
DELIVERY_ASSIGN = """
mutation ($id: ID!, $agentId: ID!) {
  deliveryAssign(id: $id, agentId: $agentId) {
    __typename
    ... on Delivery { status }
    ... on OperationInfo { messages { code } }
  }
}
"""
LOCATION_UPDATE = """
mutation ($id: ID!, $latitude: Float!, $longitude: Float!) {
  deliveryLocationUpdate(id: $id, latitude: $latitude, longitude: $longitude) {
    __typename
    ... on OperationInfo { messages { code } }
  }
}
"""


def set_status(server, staff_key: str, order, status: str) -> dict:
    response = server.http(
        STATUS_UPDATE, {"id": gid("Order", order), "status": status}, token=staff_key
    )
    return response.data["orderStatusUpdate"]


def state(order, status: str, payment: str, delivery: str | None = "UNASSIGNED", location=None):
    """What ``orderUpdated`` answers for ``order``."""
    return {
        "orderUpdated": {
            "number": order.number,
            "status": status,
            "payment": {"status": payment},
            "delivery": None
            if delivery is None
            else {"status": delivery, "lastLocation": location},
        }
    }


def test_the_buyer_hears_each_status_change_made_by_staff(server):
    buyer = UserFactory()
    order = card_order(user=buyer, paid=False, lines=[(variant(), 1)])
    staff_key = bearer(staff_member())

    with WSClient.open(server, bearer(buyer)) as ws:
        sub = ws.follow(ORDER_UPDATED, {"id": gid("Order", order)})

        assert set_status(server, staff_key, order, "PAID") == {
            "__typename": "Order",
            "status": "PAID",
        }
        assert ws.data(sub) == state(order, "PAID", "CAPTURED")

        assert set_status(server, staff_key, order, "PROCESSING")["status"] == "PROCESSING"
        assert ws.data(sub) == state(order, "PROCESSING", "CAPTURED")
        ws.quiet()


def test_staff_hear_the_delivery_assigned_and_the_couriers_positions(server):
    order = card_order(user=UserFactory(), lines=[(variant(), 1)])
    courier = agent()
    staff_key = bearer(staff_member())

    with WSClient.open(server, staff_key) as ws:
        sub = ws.follow(ORDER_UPDATED, {"id": gid("Order", order)})

        response = server.http(
            DELIVERY_ASSIGN,
            {"id": gid("Delivery", delivery_of(order)), "agentId": gid("DeliveryAgent", courier)},
            token=staff_key,
        )

        assert response.data == {"deliveryAssign": {"__typename": "Delivery", "status": "ASSIGNED"}}
        assert ws.data(sub) == state(order, "PAID", "CAPTURED", "ASSIGNED")
        ws.quiet()


def test_the_buyer_follows_the_couriers_position(server):
    buyer = UserFactory()
    order = card_order(user=buyer, lines=[(variant(), 1)])
    courier = courier_agent()
    delivery = delivery_at(DeliveryStatus.PICKED_UP, order=order, courier=courier)
    courier_key = bearer(courier.user)

    with WSClient.open(server, bearer(buyer)) as ws:
        sub = ws.follow(ORDER_UPDATED, {"id": gid("Order", order)})

        for latitude, longitude in [(48.85, 2.35), (48.86, 2.36)]:
            response = server.http(
                LOCATION_UPDATE,
                {"id": gid("Delivery", delivery), "latitude": latitude, "longitude": longitude},
                token=courier_key,
            )
            assert response.data == {"deliveryLocationUpdate": {"__typename": "Delivery"}}
            assert ws.data(sub) == state(
                order,
                "SHIPPED",
                "CAPTURED",
                "PICKED_UP",
                {"latitude": latitude, "longitude": longitude},
            )
        ws.quiet()


def test_a_refused_change_sends_nothing_and_the_next_real_one_arrives(server):
    buyer = UserFactory()
    order = card_order(user=buyer, paid=False, lines=[(variant(), 1)])
    staff_key = bearer(staff_member())

    with WSClient.open(server, bearer(buyer)) as ws:
        sub = ws.follow(ORDER_UPDATED, {"id": gid("Order", order)})

        # An unpaid card order does not ship: the transition is refused, nothing committed.
        assert set_status(server, staff_key, order, "SHIPPED") == {
            "__typename": "OperationInfo",
            "messages": [{"code": "invalid_transition"}],
        }
        ws.quiet()

        set_status(server, staff_key, order, "PAID")
        assert ws.data(sub) == state(order, "PAID", "CAPTURED")
        ws.quiet()


def test_a_stranger_gets_not_found_and_never_the_orders_events(server):
    buyer, stranger = UserFactory(), UserFactory()
    order = card_order(user=buyer, paid=False, lines=[(variant(), 1)])
    staff_key = bearer(staff_member())

    with (
        WSClient.open(server, bearer(buyer)) as buyer_ws,
        WSClient.open(server, bearer(stranger)) as stranger_ws,
    ):
        refused = stranger_ws.subscribe(ORDER_UPDATED, {"id": gid("Order", order)})
        assert stranger_ws.refused(refused) == ["not_found"]
        # The same answer as for an order that does not exist.
        nothing = stranger_ws.subscribe(ORDER_UPDATED, {"id": missing("Order")})
        assert stranger_ws.refused(nothing) == ["not_found"]
        followed = buyer_ws.follow(ORDER_UPDATED, {"id": gid("Order", order)})

        set_status(server, staff_key, order, "PAID")

        assert buyer_ws.data(followed) == state(order, "PAID", "CAPTURED")
        stranger_ws.quiet()


def test_a_guest_follows_their_order_by_its_token(server):
    order = place_order(user=None, method="CARD_PLACEHOLDER", lines=[(variant(), 1)])
    staff_key = bearer(staff_member())

    with WSClient.open(server) as ws:
        without = ws.subscribe(ORDER_UPDATED, {"id": gid("Order", order)})
        assert ws.refused(without) == ["not_found"]
        wrong = ws.subscribe(ORDER_UPDATED, {"id": gid("Order", order), "token": str(uuid.uuid4())})
        assert ws.refused(wrong) == ["not_found"]
        sub = ws.follow(ORDER_UPDATED, {"id": gid("Order", order), "token": str(order.token)})

        set_status(server, staff_key, order, "PAID")

        assert ws.data(sub) == state(order, "PAID", "CAPTURED")
        ws.quiet()


def test_each_subscription_of_a_connection_hears_only_its_order(server):
    buyer = UserFactory()
    first = card_order(user=buyer, paid=False, lines=[(variant(), 1)], key="first")
    second = card_order(user=buyer, paid=False, lines=[(variant(), 1)], key="second")
    staff_key = bearer(staff_member())

    with WSClient.open(server, bearer(buyer)) as ws:
        first_sub = ws.subscribe(ORDER_UPDATED, {"id": gid("Order", first)})
        second_sub = ws.follow(ORDER_UPDATED, {"id": gid("Order", second)})

        set_status(server, staff_key, second, "PAID")
        assert ws.data(second_sub) == state(second, "PAID", "CAPTURED")
        ws.quiet()

        # Two events: the order's and its delivery's (cancelled with it), each answered with
        # the state then committed.
        set_status(server, staff_key, first, "CANCELLED")
        cancelled = state(first, "CANCELLED", "VOIDED", "CANCELLED")
        assert [ws.data(first_sub), ws.data(first_sub)] == [cancelled, cancelled]
        ws.quiet()


WITH_BUYER = """
subscription ($id: ID!, $token: UUID) {
  orderUpdated(id: $id, token: $token) { status user { email } }
}
"""


def test_connections_of_each_reader_hear_the_answer_meant_for_that_reader(server):
    """The buyer's connections, guests holding the order's link and staff ask the same; the
    process answers each reader once per event (``api.subscriptions``), and each gets its own
    answer: a guest does not see the buyer's account, even when the buyer asks with the link."""
    buyer = UserFactory()
    order = card_order(user=buyer, paid=False, lines=[(variant(), 1)])
    staff = staff_member()
    staff_key = bearer(staff)
    by_id = {"id": gid("Order", order)}
    by_token = {**by_id, "token": str(order.token)}

    with (
        WSClient.open(server, bearer(buyer)) as buyer_1,
        WSClient.open(server, bearer(buyer)) as buyer_2,
        WSClient.open(server) as guest_1,
        WSClient.open(server) as guest_2,
        WSClient.open(server, staff_key) as staff_ws,
    ):
        followers = [
            (buyer_1, buyer_1.follow(WITH_BUYER, by_id), {"email": buyer.email}),
            # the buyer with the link: the guests' question, another reader
            (buyer_2, buyer_2.follow(WITH_BUYER, by_token), {"email": buyer.email}),
            (guest_1, guest_1.follow(WITH_BUYER, by_token), None),
            (guest_2, guest_2.follow(WITH_BUYER, by_token), None),
            (staff_ws, staff_ws.follow(WITH_BUYER, by_id), {"email": buyer.email}),
        ]

        for status in ("PAID", "PROCESSING"):
            set_status(server, staff_key, order, status)
            for ws, sub, user in followers:
                assert ws.data(sub) == {"orderUpdated": {"status": status, "user": user}}
        for ws, _sub, _user in followers:
            ws.quiet()
