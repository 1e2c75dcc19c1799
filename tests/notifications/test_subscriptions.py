"""``notificationReceived`` over a live server: the notifications the user's actions and the
shop's write, as they are committed (see ``tests.realtime``)."""

from tests.accounts.factories import UserFactory
from tests.delivery.factories import agent, card_order, delivery_of
from tests.orders.factories import variant
from tests.realtime import WSClient, bearer, gid, realtime_db, realtime_server, staff_member

server = realtime_server()
pytestmark = realtime_db

NOTIFICATION_RECEIVED = """
subscription {
  notificationReceived { title body kind readAt path target { type id } }
}
"""
STATUS_UPDATE = """
mutation ($id: ID!, $status: OrderStatus!) {
  orderStatusUpdate(id: $id, status: $status) {
    __typename
    ... on OperationInfo { messages { code } }
  }
}
"""
DELIVERY_ASSIGN = """
mutation ($id: ID!, $agentId: ID!) {
  deliveryAssign(id: $id, agentId: $agentId) {
    __typename
    ... on OperationInfo { messages { code } }
  }
}
"""
UNREAD = "{ me { unreadNotificationCount } }"


def set_status(server, staff_key: str, order, status: str) -> dict:
    variables = {"id": gid("Order", order), "status": status}
    return server.http(STATUS_UPDATE, variables, token=staff_key).data["orderStatusUpdate"]


def test_the_buyer_hears_the_notification_of_their_order_being_paid(server):
    buyer = UserFactory()
    order = card_order(user=buyer, paid=False, lines=[(variant(), 1)])
    buyer_key, staff_key = bearer(buyer), bearer(staff_member())

    with WSClient.open(server, buyer_key) as ws:
        sub = ws.follow(NOTIFICATION_RECEIVED)

        assert set_status(server, staff_key, order, "PAID") == {"__typename": "Order"}

        assert ws.data(sub) == {
            "notificationReceived": {
                "title": "Payment received",
                "body": f"We received the payment for order {order.number}.",
                "kind": "ORDER_PAID",
                "readAt": None,
                "path": None,
                "target": {"type": "Order", "id": gid("Order", order)},
            }
        }
        ws.quiet()
    # Both of the order's notifications are unread: it was placed, then paid.
    assert server.http(UNREAD, token=buyer_key).data == {"me": {"unreadNotificationCount": 2}}


def test_a_courier_hears_the_delivery_given_to_them_and_nobody_else_does(server):
    order = card_order(user=UserFactory(), lines=[(variant(), 1)])
    courier, other_courier = agent(), agent(first_name="Eli")
    staff_key = bearer(staff_member())

    with (
        WSClient.open(server, bearer(courier.user)) as ws,
        WSClient.open(server, bearer(other_courier.user)) as other_ws,
    ):
        sub = ws.follow(NOTIFICATION_RECEIVED)
        other_ws.follow(NOTIFICATION_RECEIVED)

        response = server.http(
            DELIVERY_ASSIGN,
            {"id": gid("Delivery", delivery_of(order)), "agentId": gid("DeliveryAgent", courier)},
            token=staff_key,
        )

        assert response.data == {"deliveryAssign": {"__typename": "Delivery"}}
        # The delivery's own event also reaches the courier's group: it is no notification.
        assert ws.data(sub) == {
            "notificationReceived": {
                "title": "A delivery for you",
                "body": f"Order {order.number}, to Paris.",
                "kind": "DELIVERY_ASSIGNED",
                "readAt": None,
                "path": None,
                "target": {"type": "Delivery", "id": gid("Delivery", delivery_of(order))},
            }
        }
        ws.quiet()
        other_ws.quiet(0)


def test_a_refused_change_notifies_nobody_and_the_next_real_one_does(server):
    buyer = UserFactory()
    order = card_order(user=buyer, paid=False, lines=[(variant(), 1)])
    staff_key = bearer(staff_member())

    with WSClient.open(server, bearer(buyer)) as ws:
        sub = ws.follow(NOTIFICATION_RECEIVED)

        refused = set_status(server, staff_key, order, "DELIVERED")
        assert refused == {
            "__typename": "OperationInfo",
            "messages": [{"code": "invalid_transition"}],
        }
        ws.quiet()

        set_status(server, staff_key, order, "CANCELLED")
        assert ws.data(sub)["notificationReceived"]["kind"] == "ORDER_CANCELLED"
        ws.quiet()


def test_a_guest_may_not_subscribe(server):
    with WSClient.open(server) as ws:
        sub = ws.subscribe(NOTIFICATION_RECEIVED)

        assert ws.refused(sub) == ["permission_denied"]
