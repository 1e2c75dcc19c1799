"""Reading bookings: the free slots of a service (exact, in UTC, in a fixed number of queries),
a customer's bookings, staff's calendar with its filters and ordering, and who sees what."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.bookings import services
from apps.bookings.models import BookingStatus
from tests.accounts.factories import UserFactory
from tests.bookings.factories import (
    BookingFactory,
    ResourceFactory,
    ServiceVariantFactory,
    TimeOffFactory,
    book,
    book_confirmed,
    gid,
)
from tests.conftest import GraphQLClient

SLOTS = """
query($variant: ID!, $start: DateTime!, $end: DateTime!, $resource: ID) {
  availableSlots(variantId: $variant, start: $start, end: $end, resourceId: $resource) {
    start end seatsLeft resource { id name timeZone }
  }
}
"""

MY_BOOKINGS = """
query($filters: BookingFilter) { me { bookings(filters: $filters) {
  totalCount
  edges { node { id status start end seats productName variantName resource { name }
    variant { sku } order { number } } }
} } }
"""

STAFF_BOOKINGS = """
query($filters: BookingFilter, $ordering: [BookingOrder!], $first: Int) {
  bookings(filters: $filters, ordering: $ordering, first: $first) {
    totalCount edges { node { id status start } }
  }
}
"""

NODE = "query($id: ID!) { node(id: $id) { __typename id ... on Booking { status start } } }"

RESOURCE = """query($id: ID!) { node(id: $id) { ... on Resource {
  name kind timeZone isActive weeklyHours { weekday start end } timeOff { start end reason }
} } }"""

MONDAY = datetime(2027, 3, 1, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def paris_cut(**settings):
    """A 45-minute cut by Alex (Paris), Mondays 09:00-11:00 and 14:00-15:00 local."""
    alex = ResourceFactory(
        name="Alex",
        time_zone="Europe/Paris",
        hours=[(1, "09:00", "11:00"), (1, "14:00", "15:00")],
    )
    cut = ServiceVariantFactory(
        product__settings__resources=[alex],
        product__settings__slot_interval_minutes=30,
        **{f"product__settings__{name}": value for name, value in settings.items()},
    )
    return cut, alex


def ids(result, field: str) -> list[str]:
    return [edge["node"]["id"] for edge in result.data[field]["edges"]]


# --- availableSlots ------------------------------------------------------------------------------


def test_available_slots_are_the_free_slots_in_utc(gql, clock):
    clock(MONDAY - timedelta(days=1))
    cut, alex = paris_cut(buffer_after_minutes=15)
    BookingFactory(variant=cut, start=at("2027-03-01T09:00Z"))  # 10:00-10:45 local (+15)

    response = gql(
        SLOTS,
        {"variant": gid(cut), "start": "2027-03-01T00:00:00Z", "end": "2027-03-02T00:00:00Z"},
    )

    resource = {"id": gid(alex), "name": "Alex", "timeZone": "Europe/Paris"}
    assert response.data["availableSlots"] == [
        {
            "start": start,
            "end": end,
            "seatsLeft": 1,
            "resource": resource,
        }
        for start, end in (
            ("2027-03-01T08:00:00+00:00", "2027-03-01T08:45:00+00:00"),  # 09:00 local
            ("2027-03-01T13:00:00+00:00", "2027-03-01T13:45:00+00:00"),  # 14:00 local
        )
    ]  # 09:30 and 10:00 meet the booking; 14:30 would end its buffer after 15:00


def test_available_slots_of_one_resource(gql, clock):
    clock(MONDAY - timedelta(days=1))
    cut, _ = paris_cut()
    sam = ResourceFactory(name="Sam", time_zone="UTC", hours=[(1, "12:00", "13:00")])
    cut.product.service_settings.resources.add(sam)
    window = {"variant": gid(cut), "start": "2027-03-01T00:00:00Z", "end": "2027-03-02T00:00:00Z"}

    every = gql(SLOTS, window).data["availableSlots"]
    only_sam = gql(SLOTS, window | {"resource": gid(sam)}).data["availableSlots"]

    assert [(s["start"][11:16], s["resource"]["name"]) for s in every] == [
        ("08:00", "Alex"),
        ("08:30", "Alex"),
        ("09:00", "Alex"),
        ("12:00", "Sam"),
        ("13:00", "Alex"),
    ]
    assert [(s["start"][11:16], s["resource"]["name"]) for s in only_sam] == [("12:00", "Sam")]


@pytest.mark.parametrize(
    ("end", "code", "message"),
    [
        ("2027-05-03T00:00:01Z", "invalid", "Ask for at most 62 days of slots at once."),
        ("2027-03-01T00:00:00Z", "invalid", "The end must come after the start."),
    ],
)
def test_a_bad_window_is_a_top_level_error(gql, end, code, message):
    cut, _ = paris_cut()

    response = gql(SLOTS, {"variant": gid(cut), "start": "2027-03-01T00:00:00Z", "end": end})

    assert response.body["data"] is None
    assert [(e["message"], e["extensions"]["code"]) for e in response.errors] == [(message, code)]


def test_an_unknown_or_inactive_variant_is_not_found(gql):
    hidden = ServiceVariantFactory(is_active=False)

    for variant in ("UHJvZHVjdFZhcmlhbnQ6OTk5OTk=", gid(hidden)):  # ProductVariant:99999
        response = gql(
            SLOTS,
            {"variant": variant, "start": "2027-03-01T00:00:00Z", "end": "2027-03-02T00:00:00Z"},
        )
        assert [e["extensions"]["code"] for e in response.errors] == ["not_found"]


@pytest.mark.parametrize("others", [1, 40])
def test_available_slots_take_four_queries_whatever_the_bookings(
    gql, clock, django_assert_max_num_queries, others
):
    clock(MONDAY - timedelta(days=1))
    cut, alex = paris_cut()
    elsewhere = ServiceVariantFactory()  # bookings of another service, on another resource
    for index in range(others):
        BookingFactory(variant=cut, start=MONDAY + timedelta(days=7 * (index + 1), hours=8))
        BookingFactory(variant=elsewhere, start=MONDAY + timedelta(hours=index))
    TimeOffFactory(resource=alex, start=at("2027-03-01T13:00Z"), end=at("2027-03-01T14:00Z"))

    with django_assert_max_num_queries(4):
        response = gql(
            SLOTS,
            {"variant": gid(cut), "start": "2027-03-01T00:00:00Z", "end": "2027-04-30T00:00:00Z"},
        )

    slots = response.data["availableSlots"]
    # nine Mondays of 4 slots; the time off takes one; each booked Monday loses two
    assert (slots[0]["start"], len(slots)) == ("2027-03-01T08:00:00+00:00", {1: 33, 40: 19}[others])


# --- a customer's bookings -----------------------------------------------------------------------


def test_me_bookings_are_my_confirmed_bookings_soonest_first(customer_gql, customer):
    cut = ServiceVariantFactory()
    start = (timezone.now() + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
    later = book_confirmed(cut, user=customer, start=start + timedelta(days=1), key="one")
    sooner = book_confirmed(cut, user=customer, start=start, key="two")
    book(cut, user=customer, start=start + timedelta(days=2))  # still in the cart
    book_confirmed(cut, user=UserFactory(), start=start + timedelta(hours=2), key="three")

    result = customer_gql(MY_BOOKINGS).data["me"]["bookings"]

    assert result["totalCount"] == 2
    assert [edge["node"] for edge in result["edges"]] == [
        {
            "id": gid(booking),
            "status": "CONFIRMED",
            "start": booking.start.isoformat(),
            "end": booking.end.isoformat(),
            "seats": 1,
            "productName": cut.product.name,
            "variantName": "45 minutes",
            "resource": {"name": booking.resource_name},
            "variant": {"sku": cut.sku},
            "order": {"number": booking.order.number},
        }
        for booking in (sooner, later)
    ]


def test_me_bookings_filter_by_status_start_and_resource(customer_gql, customer):
    cut = ServiceVariantFactory()
    start = (timezone.now() + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
    first = book_confirmed(cut, user=customer, start=start, key="one")
    second = book_confirmed(cut, user=customer, start=start + timedelta(days=1), key="two")
    services.booking_cancel(booking=first, actor=customer)

    def found(filters) -> list[str]:
        result = customer_gql(MY_BOOKINGS, {"filters": filters}).data["me"]["bookings"]
        return [edge["node"]["id"] for edge in result["edges"]]

    assert found({"status": ["CANCELLED"]}) == [gid(first)]
    assert found({"status": ["CONFIRMED", "CANCELLED"]}) == [gid(first), gid(second)]
    assert found({"startAfter": (start + timedelta(hours=1)).isoformat()}) == [gid(second)]
    assert found({"startBefore": (start + timedelta(hours=1)).isoformat()}) == [gid(first)]
    assert found({"resourceId": gid(second.resource)}) == [gid(first), gid(second)]
    assert found({"resourceId": gid(ResourceFactory())}) == []


def test_a_booking_keeps_its_resource_once_the_resource_stops_taking_bookings(
    customer_gql, customer
):
    booking = book_confirmed(ServiceVariantFactory(), user=customer)
    booking.resource.is_active = False
    booking.resource.save()

    result = customer_gql(MY_BOOKINGS).data["me"]["bookings"]

    assert [edge["node"]["resource"] for edge in result["edges"]] == [
        {"name": booking.resource.name}
    ]


# --- staff's calendar ----------------------------------------------------------------------------


@pytest.fixture
def calendar(db):
    cut = ServiceVariantFactory()
    other = ServiceVariantFactory()
    start = (timezone.now() + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
    return {
        "late": BookingFactory(variant=cut, start=start + timedelta(days=2)),
        "early": BookingFactory(variant=cut, start=start),
        "held": BookingFactory(
            variant=other,
            start=start + timedelta(days=1),
            status=BookingStatus.HELD,
            hold_expires_at=timezone.now() + timedelta(minutes=10),
        ),
        "start": start,
    }


def test_staff_see_every_booking_soonest_first(admin_gql, calendar):
    result = admin_gql(STAFF_BOOKINGS)

    assert result.data["bookings"]["totalCount"] == 3
    assert ids(result, "bookings") == [
        gid(calendar["early"]),
        gid(calendar["held"]),
        gid(calendar["late"]),
    ]


def test_staff_filter_and_order_the_calendar(admin_gql, calendar):
    start = calendar["start"]

    def found(**variables) -> list[str]:
        return ids(admin_gql(STAFF_BOOKINGS, variables), "bookings")

    assert found(filters={"status": ["HELD"]}) == [gid(calendar["held"])]
    assert found(filters={"resourceId": gid(calendar["late"].resource)}) == [
        gid(calendar["early"]),
        gid(calendar["late"]),
    ]
    assert found(
        filters={
            "startAfter": (start + timedelta(hours=1)).isoformat(),
            "startBefore": (start + timedelta(days=2)).isoformat(),
        }
    ) == [gid(calendar["held"])]
    assert found(ordering=[{"start": "DESC"}]) == [
        gid(calendar["late"]),
        gid(calendar["held"]),
        gid(calendar["early"]),
    ]
    assert found(ordering=[{"createdAt": "ASC"}]) == [
        gid(calendar["late"]),
        gid(calendar["early"]),
        gid(calendar["held"]),
    ]
    assert found(first=1) == [gid(calendar["early"])]


@pytest.mark.parametrize("api", ["gql", "customer_gql"])
def test_customers_and_anonymous_get_no_calendar(request, calendar, api):
    result = request.getfixturevalue(api)(STAFF_BOOKINGS)

    assert result.data["bookings"] == {"totalCount": 0, "edges": []}


def test_a_booking_manager_sees_the_calendar(db, calendar):
    from django.contrib.auth.models import Group

    manager = UserFactory(is_staff=True)
    manager.groups.add(Group.objects.get(name="Booking manager"))

    result = GraphQLClient().login(manager)(STAFF_BOOKINGS)

    assert result.data["bookings"]["totalCount"] == 3


# --- who sees what -------------------------------------------------------------------------------


def test_another_buyer_s_booking_is_null_and_one_s_own_is_shown(db, customer):
    mine = book_confirmed(ServiceVariantFactory(), user=customer)
    stranger = GraphQLClient().login(UserFactory())

    assert stranger(NODE, {"id": gid(mine)}).data == {"node": None}
    assert GraphQLClient()(NODE, {"id": gid(mine)}).data == {"node": None}
    assert GraphQLClient().login(customer)(NODE, {"id": gid(mine)}).data == {
        "node": {
            "__typename": "Booking",
            "id": gid(mine),
            "status": "CONFIRMED",
            "start": mine.start.isoformat(),
        }
    }


def test_a_guest_sees_the_booking_of_their_cart_and_of_their_order(gql):
    held = book(ServiceVariantFactory())
    confirmed = book_confirmed(ServiceVariantFactory())

    cart = gql(
        "query($token: UUID) { cart(token: $token) { lines { booking { id status } } } }",
        {"token": str(held.cart_line.cart.token)},
    ).data["cart"]
    order = gql(
        "query($token: UUID!) { orderByToken(token: $token) { lines { bookingStart booking { id } } } }",
        {"token": str(confirmed.order.token)},
    ).data["orderByToken"]

    assert cart == {"lines": [{"booking": {"id": gid(held), "status": "HELD"}}]}
    assert order == {
        "lines": [{"bookingStart": confirmed.start.isoformat(), "booking": {"id": gid(confirmed)}}]
    }
    assert GraphQLClient()(NODE, {"id": gid(held)}).data == {"node": None}  # no token, no grant


def test_a_customer_sees_the_holds_a_merged_guest_cart_brought(customer_gql, customer):
    from apps.cart import services as cart_services

    held = book(ServiceVariantFactory())
    cart_services.cart_merge(token=held.cart_line.cart.token, user=customer)

    assert customer_gql(NODE, {"id": gid(held)}).data["node"]["id"] == gid(held)
    assert GraphQLClient().login(UserFactory())(NODE, {"id": gid(held)}).data == {"node": None}


def test_weekly_hours_and_time_off_are_staff_only(db, admin_gql, customer_gql):
    alex = ResourceFactory(name="Alex", hours=[(1, "09:00", "12:00"), (1, "13:30", "18:00")])
    off = TimeOffFactory(
        resource=alex, start=at("2027-03-01T09:00Z"), end=at("2027-03-01T12:00Z"), reason="Dentist"
    )
    public = {"name": "Alex", "kind": "STAFF", "timeZone": "UTC", "isActive": True}

    for client in (GraphQLClient(), customer_gql):
        assert client(RESOURCE, {"id": gid(alex)}).data["node"] == public | {
            "weeklyHours": [],
            "timeOff": [],
        }
    assert admin_gql(RESOURCE, {"id": gid(alex)}).data["node"] == public | {
        "weeklyHours": [
            {"weekday": 1, "start": "09:00", "end": "12:00"},
            {"weekday": 1, "start": "13:30", "end": "18:00"},
        ],
        "timeOff": [
            {"start": off.start.isoformat(), "end": off.end.isoformat(), "reason": "Dentist"}
        ],
    }


def test_an_inactive_resource_is_hidden_from_buyers_and_shown_to_staff(db, admin_gql):
    gone = ResourceFactory(is_active=False)

    assert GraphQLClient()(RESOURCE, {"id": gid(gone)}).data == {"node": None}
    assert admin_gql(RESOURCE, {"id": gid(gone)}).data["node"]["isActive"] is False


def test_me_bookings_run_the_same_queries_for_one_and_for_five(db, customer):
    cut = ServiceVariantFactory()
    start = (timezone.now() + timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
    client = GraphQLClient().login(customer)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            client(MY_BOOKINGS).data  # noqa: B018
        return len(captured.captured_queries)

    book_confirmed(cut, user=customer, start=start, key="k0")
    one = count()
    for index in range(1, 5):
        book_confirmed(cut, user=customer, start=start + timedelta(days=index), key=f"k{index}")

    assert count() == one
