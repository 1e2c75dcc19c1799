"""``resourceCalendarChanged`` over a live server: staff follow a resource's calendar while
buyers hold and let go of its slots through HTTP (see ``tests.realtime``)."""

from apps.bookings.models import Booking, BookingStatus
from tests.accounts.factories import UserFactory
from tests.bookings.factories import (
    ServiceVariantFactory,
    book_confirmed,
    free_slot,
    resource_of,
)
from tests.realtime import (
    WSClient,
    bearer,
    gid,
    missing,
    realtime_db,
    realtime_server,
    staff_member,
)

server = realtime_server()
pytestmark = realtime_db

CALENDAR_CHANGED = """
subscription ($resourceId: ID!) {
  resourceCalendarChanged(resourceId: $resourceId) {
    status start seats productName resource { name }
  }
}
"""
# Refused (not_found) after the same reads as CALENDAR_CHANGED: the permission, the resource.
PROBE = (CALENDAR_CHANGED, {"resourceId": missing("Resource")})
LINES_ADD = """
mutation ($lines: [CartLineInput!]!, $token: UUID) {
  cartLinesAdd(lines: $lines, cartToken: $token) {
    __typename
    ... on Cart { token lines { id } }
    ... on OperationInfo { messages { code field } }
  }
}
"""
LINES_REMOVE = """
mutation ($ids: [ID!]!, $token: UUID) {
  cartLinesRemove(lineIds: $ids, cartToken: $token) {
    __typename
    ... on Cart { lines { id } }
  }
}
"""
LINES_UPDATE = """
mutation ($lines: [CartLineUpdateInput!]!, $token: UUID) {
  cartLinesUpdate(lines: $lines, cartToken: $token) {
    __typename
    ... on OperationInfo { messages { code field } }
  }
}
"""
BOOKING_CANCEL = """
mutation ($id: ID!) {
  bookingCancel(id: $id, reason: "The stylist is ill") {
    __typename
    ... on Booking { status }
    ... on OperationInfo { messages { code } }
  }
}
"""


def slot_line(variant, start, resource) -> dict:
    return {
        "variantId": gid("ProductVariant", variant),
        "quantity": 1,
        "slot": {"start": start.isoformat(), "resourceId": gid("Resource", resource)},
    }


def seen(variant, start, status: str) -> dict:
    """What the calendar's subscribers are sent of the booking of ``variant`` at ``start``."""
    return {
        "resourceCalendarChanged": {
            "status": status,
            "start": start.isoformat(),
            "seats": 1,
            "productName": variant.product.name,
            "resource": {"name": resource_of(variant).name},
        }
    }


def follow_calendar(ws: WSClient, resource) -> str:
    return ws.follow(CALENDAR_CHANGED, {"resourceId": gid("Resource", resource)}, probe=PROBE)


def test_staff_hear_a_slot_held_then_let_go(server):
    variant = ServiceVariantFactory()
    resource, start = resource_of(variant), free_slot(variant)

    with WSClient.open(server, bearer(staff_member())) as ws:
        sub = follow_calendar(ws, resource)

        added = server.http(LINES_ADD, {"lines": [slot_line(variant, start, resource)]})
        cart = added.data["cartLinesAdd"]
        assert cart["__typename"] == "Cart"
        assert ws.data(sub) == seen(variant, start, "HELD")

        removed = server.http(
            LINES_REMOVE, {"ids": [cart["lines"][0]["id"]], "token": cart["token"]}
        )
        assert removed.data == {"cartLinesRemove": {"__typename": "Cart", "lines": []}}
        assert ws.data(sub) == seen(variant, start, "CANCELLED")
        ws.quiet()


def test_staff_hear_a_confirmed_booking_cancelled(server):
    variant = ServiceVariantFactory()
    booking = book_confirmed(variant, user=UserFactory())
    staff_key = bearer(staff_member())

    with WSClient.open(server, staff_key) as ws:
        sub = follow_calendar(ws, booking.resource)

        response = server.http(BOOKING_CANCEL, {"id": gid("Booking", booking)}, token=staff_key)

        assert response.data == {"bookingCancel": {"__typename": "Booking", "status": "CANCELLED"}}
        assert ws.data(sub) == seen(variant, booking.start, "CANCELLED")
        ws.quiet()


def test_a_hold_rolled_back_with_its_cart_sends_nothing(server):
    variant = ServiceVariantFactory()  # one seat a slot
    resource, start = resource_of(variant), free_slot(variant)

    with WSClient.open(server, bearer(staff_member())) as ws:
        sub = follow_calendar(ws, resource)

        # The first line holds the slot (its event waits for the commit); the second asks for
        # the same slot and fails: the whole mutation rolls back, the hold and its event too.
        twice = [slot_line(variant, start, resource)] * 2
        response = server.http(LINES_ADD, {"lines": twice})
        assert response.data == {
            "cartLinesAdd": {
                "__typename": "OperationInfo",
                "messages": [{"code": "slot_unavailable", "field": "lines.1.slot"}],
            }
        }
        ws.quiet()

        once = server.http(LINES_ADD, {"lines": twice[:1]})
        assert once.data["cartLinesAdd"]["__typename"] == "Cart"
        assert ws.data(sub) == seen(variant, start, "HELD")
        ws.quiet()


def test_a_move_rolled_back_sends_nothing_of_the_hold_it_let_go(server):
    variant = ServiceVariantFactory()  # one seat a slot
    resource, first = resource_of(variant), free_slot(variant)
    added = server.http(LINES_ADD, {"lines": [slot_line(variant, first, resource)]})
    cart = added.data["cartLinesAdd"]
    taken = free_slot(variant)  # held next, by another cart
    assert server.http(LINES_ADD, {"lines": [slot_line(variant, taken, resource)]}).data
    hold = Booking.objects.get(start=first)

    def move_to(start) -> dict:
        change = {**slot_line(variant, start, resource), "lineId": cart["lines"][0]["id"]}
        del change["variantId"]
        response = server.http(LINES_UPDATE, {"lines": [change], "token": cart["token"]})
        return response.data["cartLinesUpdate"]

    with WSClient.open(server, bearer(staff_member())) as ws:
        sub = follow_calendar(ws, resource)

        # The old slot is let go first (its event waits for the commit), then the new one is
        # refused: the whole mutation rolls back. Sent before the commit, the event would
        # announce the hold, still HELD.
        assert move_to(taken) == {
            "__typename": "OperationInfo",
            "messages": [{"code": "slot_unavailable", "field": "lines.0.slot"}],
        }
        ws.quiet()
        assert Booking.objects.get(pk=hold.pk).status == BookingStatus.HELD

        later = free_slot(variant)
        assert move_to(later) == {"__typename": "Cart"}
        assert [ws.data(sub), ws.data(sub)] == [
            seen(variant, first, "CANCELLED"),
            seen(variant, later, "HELD"),
        ]
        ws.quiet()


def test_each_subscription_of_a_connection_hears_only_its_resource(server):
    first, second = ServiceVariantFactory(), ServiceVariantFactory()

    with WSClient.open(server, bearer(staff_member())) as ws:
        first_sub = follow_calendar(ws, resource_of(first))
        second_sub = follow_calendar(ws, resource_of(second))

        start = free_slot(second)
        server.http(LINES_ADD, {"lines": [slot_line(second, start, resource_of(second))]})

        assert ws.data(second_sub) == seen(second, start, "HELD")
        ws.quiet()

        start = free_slot(first)
        server.http(LINES_ADD, {"lines": [slot_line(first, start, resource_of(first))]})

        assert ws.data(first_sub) == seen(first, start, "HELD")
        ws.quiet()


def test_a_customer_may_not_follow_a_calendar(server):
    resource = resource_of(ServiceVariantFactory())

    with WSClient.open(server, bearer(UserFactory())) as ws:
        sub = ws.subscribe(CALENDAR_CHANGED, {"resourceId": gid("Resource", resource)})

        assert ws.refused(sub) == ["permission_denied"]


def test_staff_get_not_found_for_a_resource_that_does_not_exist(server):
    with WSClient.open(server, bearer(staff_member())) as ws:
        sub = ws.subscribe(*PROBE)

        assert ws.refused(sub) == ["not_found"]
