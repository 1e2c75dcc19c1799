"""The `Booking manager` role (apps/bookings/migrations/0002_booking_manager_group.py): the
calendar and the resources, orders and products read-only; `Store admin` holds the bookings
permissions too. Other roles and customers are refused and change nothing."""

from datetime import time, timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from strawberry.relay import to_base64

from apps.bookings.models import Booking, BookingEvent, BookingStatus, Resource, WeeklyHours
from apps.orders.models import Order
from tests.accounts.factories import UserFactory
from tests.conftest import GraphQLClient

STATUS_UPDATE = """
mutation($id: ID!, $status: BookingStatus!) {
  bookingStatusUpdate(id: $id, status: $status, note: "Done") {
    __typename
    ... on Booking { status }
    ... on OperationInfo { messages { kind code field } }
  }
}"""
RESOURCE_CREATE = """
mutation($input: ResourceInput!) {
  resourceCreate(input: $input) {
    __typename
    ... on Resource { name kind timeZone }
    ... on OperationInfo { messages { kind code field } }
  }
}"""
HOURS_SET = """
mutation($id: ID!, $hours: [WeeklyHoursInput!]!) {
  resourceWeeklyHoursSet(id: $id, hours: $hours) {
    __typename
    ... on Resource { weeklyHours { weekday start end } }
    ... on OperationInfo { messages { kind code field } }
  }
}"""
CALENDAR = """
{
  bookings(first: 10) {
    totalCount
    edges { node { status productName resource { name } order { number } } }
  }
}"""
REFUSED = {"kind": "PERMISSION", "code": "permission_denied", "field": None}


def member_of(group: str | None, email: str) -> GraphQLClient:
    user = UserFactory(email=email)
    if group is not None:
        user.groups.add(Group.objects.get(name=group))
    return GraphQLClient().login(user)


@pytest.fixture
def calendar(db):
    """A stylist open every day, with a confirmed booking that started an hour ago (sold to
    a guest), as the calendar shows it."""
    stylist = Resource.objects.create(name="Camille", time_zone="Europe/Paris")
    WeeklyHours.objects.create(resource=stylist, weekday=2, start=time(9), end=time(18))
    order = Order.objects.create(
        number="SC-ROLES001",
        email="guest@example.com",
        subtotal="35.00",
        shipping_total="0.00",
        total="35.00",
        buyer_key="cart:roles",
        idempotency_key="roles",
        requires_shipping=False,
    )
    start = timezone.now() - timedelta(hours=1)
    booking = Booking.objects.create(
        resource=stylist,
        resource_name=stylist.name,
        product_name="Haircut",
        variant_name="Cut",
        start=start,
        end=start + timedelta(minutes=45),
        blocked_start=start,
        blocked_end=start + timedelta(minutes=55),
        status=BookingStatus.CONFIRMED,
        order=order,
    )
    return stylist, booking


def state() -> dict:
    return {
        "resources": list(Resource.objects.order_by("pk").values()),
        "hours": list(WeeklyHours.objects.order_by("pk").values()),
        "bookings": list(Booking.objects.order_by("pk").values()),
        "events": BookingEvent.objects.count(),
    }


def calls(stylist: Resource, booking: Booking) -> list[tuple[str, str, dict]]:
    return [
        (
            "bookingStatusUpdate",
            STATUS_UPDATE,
            {"id": to_base64("Booking", booking.pk), "status": "COMPLETED"},
        ),
        (
            "resourceCreate",
            RESOURCE_CREATE,
            {"input": {"name": "Studio", "kind": "ROOM", "timeZone": "Europe/Paris"}},
        ),
        (
            "resourceWeeklyHoursSet",
            HOURS_SET,
            {
                "id": to_base64("Resource", stylist.pk),
                "hours": [
                    {"weekday": 3, "start": "09:00", "end": "12:30"},
                    {"weekday": 3, "start": "13:30", "end": "19:00"},
                ],
            },
        ),
    ]


def test_the_booking_manager_group_holds_the_bookings_app_and_reads_orders_and_products(db):
    group = Group.objects.get(name="Booking manager")

    granted = set(group.permissions.values_list("content_type__app_label", "codename"))

    models = ["booking", "bookingevent", "resource", "servicesettings", "timeoff", "weeklyhours"]
    assert granted == {
        ("bookings", f"{action}_{model}")
        for action in ("add", "change", "delete", "view")
        for model in models
    } | {
        ("orders", "view_order"),
        ("catalog", "view_product"),
        ("catalog", "view_productvariant"),
    }
    store_admin = set(
        Group.objects.get(name="Store admin").permissions.values_list(
            "content_type__app_label", "codename"
        )
    )
    assert {p for p in granted if p[0] == "bookings"} <= store_admin


def test_a_booking_manager_runs_the_calendar(calendar):
    stylist, booking = calendar
    manager = member_of("Booking manager", "desk@example.com")
    status, created, hours = calls(stylist, booking)

    seen = manager(CALENDAR).data["bookings"]
    completed = manager(status[1], status[2]).data["bookingStatusUpdate"]
    studio = manager(created[1], created[2]).data["resourceCreate"]
    opened = manager(hours[1], hours[2]).data["resourceWeeklyHoursSet"]

    assert seen == {
        "totalCount": 1,
        "edges": [
            {
                "node": {
                    "status": "CONFIRMED",
                    "productName": "Haircut",
                    "resource": {"name": "Camille"},
                    "order": {"number": "SC-ROLES001"},
                }
            }
        ],
    }
    assert completed == {"__typename": "Booking", "status": "COMPLETED"}
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.COMPLETED
    assert list(booking.events.values_list("type", "note")) == [
        (BookingEvent.Type.COMPLETED, "Done")
    ]
    assert studio == {
        "__typename": "Resource",
        "name": "Studio",
        "kind": "ROOM",
        "timeZone": "Europe/Paris",
    }
    assert opened == {
        "__typename": "Resource",
        "weeklyHours": [
            {"weekday": 3, "start": "09:00", "end": "12:30"},
            {"weekday": 3, "start": "13:30", "end": "19:00"},
        ],
    }
    assert list(stylist.weekly_hours.values_list("weekday", flat=True)) == [3, 3]


def test_a_store_admin_runs_the_calendar_too(calendar, store_admin):
    stylist, booking = calendar
    admin = GraphQLClient().login(store_admin)

    assert admin(CALENDAR).data["bookings"]["totalCount"] == 1
    for name, query, variables in calls(stylist, booking):
        assert admin(query, variables).data[name]["__typename"] in {"Booking", "Resource"}


@pytest.mark.parametrize(
    "group", ["Catalog manager", "Order manager", None], ids=["catalog", "orders", "customer"]
)
def test_other_roles_and_customers_are_refused_and_nothing_changes(calendar, group):
    stylist, booking = calendar
    caller = member_of(group, "someone@example.com")
    before = state()

    answers = {
        name: caller(query, variables).data[name]
        for name, query, variables in calls(stylist, booking)
    }
    seen = caller(CALENDAR).data["bookings"]

    assert answers == {
        name: {"__typename": "OperationInfo", "messages": [REFUSED]}
        for name in ("bookingStatusUpdate", "resourceCreate", "resourceWeeklyHoursSet")
    }
    assert seen == {"totalCount": 0, "edges": []}
    assert state() == before


def test_a_guest_is_refused_and_nothing_changes(calendar):
    stylist, booking = calendar
    guest = GraphQLClient()
    before = state()

    for name, query, variables in calls(stylist, booking):
        assert guest(query, variables).data[name] == {
            "__typename": "OperationInfo",
            "messages": [REFUSED],
        }
    assert guest(CALENDAR).data["bookings"] == {"totalCount": 0, "edges": []}
    assert state() == before


def test_a_booking_manager_sees_a_bookings_order_but_cannot_change_it_or_the_catalog(calendar):
    _, booking = calendar
    manager = member_of("Booking manager", "desk@example.com")
    before = list(Order.objects.values())

    order = manager(
        "query($id: ID!) { order(id: $id) { number status } }",
        {"id": to_base64("Order", booking.order_id)},
    ).data["order"]
    moved = manager(
        """mutation($id: ID!) { orderStatusUpdate(id: $id, status: PAID) {
          __typename ... on OperationInfo { messages { kind code field } } } }""",
        {"id": to_base64("Order", booking.order_id)},
    ).data["orderStatusUpdate"]

    assert order == {"number": "SC-ROLES001", "status": "PENDING"}
    assert moved == {"__typename": "OperationInfo", "messages": [REFUSED]}
    assert list(Order.objects.values()) == before
