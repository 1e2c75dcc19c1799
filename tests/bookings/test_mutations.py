"""The bookings API's writes: a slot held from the cart, a booking cancelled or moved by its
buyer (customer or guest with the order's token) or staff, staff's outcomes and calendar, and a
service created with how it is booked. Wiring, permissions and error codes; every refusal
changes nothing."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from apps.bookings.models import Booking, BookingStatus, Resource, ServiceSettings, TimeOff
from apps.catalog.models import Product
from tests.accounts.factories import UserFactory
from tests.bookings.factories import (
    ResourceFactory,
    ServiceVariantFactory,
    TimeOffFactory,
    book,
    book_confirmed,
    calendar_snapshot,
    free_slot,
    gid,
    move,
    resource_of,
)
from tests.catalog.factories import CategoryFactory, ProductVariantFactory, global_id
from tests.conftest import GraphQLClient

ERRORS = "... on OperationInfo { messages { kind code field } }"
BOOKING = f"""__typename ... on Booking {{ id status start end resource {{ name }}
  holdExpiresAt }} {ERRORS}"""

ADD = f"""
mutation($lines: [CartLineInput!]!) {{ cartLinesAdd(lines: $lines) {{
  __typename
  ... on Cart {{ token lines {{ kind quantity booking {{ status start end resource {{ name }}
    holdExpiresAt }} }} }}
  {ERRORS}
}} }}
"""
CANCEL = f"""
mutation($id: ID!, $token: UUID, $reason: String) {{
  result: bookingCancel(id: $id, orderToken: $token, reason: $reason) {{ {BOOKING} }}
}}
"""
RESCHEDULE = f"""
mutation($id: ID!, $slot: SlotInput!, $token: UUID) {{
  result: bookingReschedule(id: $id, slot: $slot, orderToken: $token) {{ {BOOKING} }}
}}
"""
STATUS = f"""
mutation($id: ID!, $status: BookingStatus!, $note: String) {{
  result: bookingStatusUpdate(id: $id, status: $status, note: $note) {{ {BOOKING} }}
}}
"""
RESOURCE = f"""__typename ... on Resource {{ id name kind timeZone isActive
  weeklyHours {{ weekday start end }} timeOff {{ id start end reason }} }} {ERRORS}"""
RESOURCE_CREATE = f"""mutation($input: ResourceInput!) {{
  result: resourceCreate(input: $input) {{ {RESOURCE} }} }}"""
RESOURCE_UPDATE = f"""mutation($id: ID!, $input: ResourceUpdateInput!) {{
  result: resourceUpdate(id: $id, input: $input) {{ {RESOURCE} }} }}"""
HOURS_SET = f"""mutation($id: ID!, $hours: [WeeklyHoursInput!]!) {{
  result: resourceWeeklyHoursSet(id: $id, hours: $hours) {{ {RESOURCE} }} }}"""
TIME_OFF_CREATE = f"""mutation($id: ID!, $start: DateTime!, $end: DateTime!, $reason: String) {{
  result: resourceTimeOffCreate(resourceId: $id, start: $start, end: $end, reason: $reason) {{
    {RESOURCE} }} }}"""
TIME_OFF_DELETE = f"""mutation($id: ID!) {{
  result: resourceTimeOffDelete(id: $id) {{ {RESOURCE} }} }}"""
PRODUCT_CREATE = f"""mutation($input: ProductCreateInput!) {{ result: productCreate(input: $input) {{
  __typename
  ... on Product {{ name kind variants {{ sku durationMinutes }}
    service {{ bufferBeforeMinutes bufferAfterMinutes slotIntervalMinutes minimumNoticeMinutes
      maximumAdvanceDays seatsPerSlot cancellationWindowHours resources {{ name }} }} }}
  {ERRORS}
}} }}"""

PERMISSION = {"messages": [{"kind": "PERMISSION", "code": "permission_denied", "field": None}]}


def result(response) -> dict:
    payload = response.data["result"]
    return {k: v for k, v in payload.items() if k != "__typename"} | {
        "__typename": payload["__typename"]
    }


def refusal(response) -> list[tuple]:
    payload = response.data["result"]
    assert payload["__typename"] == "OperationInfo", payload
    return [(m["kind"], m["code"], m["field"]) for m in payload["messages"]]


def day(days: int = 3) -> datetime:
    return (timezone.now() + timedelta(days=days)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )


def salon():
    """A 45-minute cut by Alex, open 09:00-17:00 UTC every day."""
    alex = ResourceFactory(name="Alex", hours=[(d, "09:00", "17:00") for d in range(1, 8)])
    return ServiceVariantFactory(product__settings__resources=[alex])


@pytest.fixture
def booking_manager(db) -> GraphQLClient:
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="Booking manager"))
    return GraphQLClient().login(user)


@pytest.fixture
def staff_without_permissions(db) -> GraphQLClient:
    return GraphQLClient().login(UserFactory(is_staff=True))


# --- holding a slot from the cart ----------------------------------------------------------------


def test_cart_lines_add_with_a_slot_answers_the_hold(gql, settings):
    settings.BOOKING_HOLD_MINUTES = 15
    cut = salon()
    start = day() + timedelta(hours=10)
    before = timezone.now()

    response = gql(
        ADD,
        {"lines": [{"variantId": gid(cut), "quantity": 1, "slot": {"start": start.isoformat()}}]},
    )

    (line,) = response.data["cartLinesAdd"]["lines"]
    expires = datetime.fromisoformat(line["booking"].pop("holdExpiresAt"))
    assert line == {
        "kind": "SERVICE",
        "quantity": 1,
        "booking": {
            "status": "HELD",
            "start": start.isoformat(),
            "end": (start + timedelta(minutes=45)).isoformat(),
            "resource": {"name": "Alex"},
        },
    }
    assert before + timedelta(minutes=15) <= expires <= timezone.now() + timedelta(minutes=15)


def test_cart_lines_add_with_a_chosen_resource(gql):
    alex = ResourceFactory(name="Alex")
    sam = ResourceFactory(name="Sam")
    cut = ServiceVariantFactory(product__settings__resources=[alex, sam])
    start = free_slot(cut)

    response = gql(
        ADD,
        {
            "lines": [
                {
                    "variantId": gid(cut),
                    "quantity": 1,
                    "slot": {"start": start.isoformat(), "resourceId": gid(sam)},
                }
            ]
        },
    )

    assert response.data["cartLinesAdd"]["lines"][0]["booking"]["resource"] == {"name": "Sam"}


def test_goods_and_a_service_line_answer_null_and_the_hold(gql):
    cut, mug = salon(), ProductVariantFactory(stock_quantity=3)

    response = gql(
        ADD,
        {
            "lines": [
                {"variantId": global_id(mug), "quantity": 1},
                {
                    "variantId": gid(cut),
                    "quantity": 1,
                    "slot": {"start": free_slot(cut).isoformat()},
                },
            ]
        },
    )

    lines = response.data["cartLinesAdd"]["lines"]
    assert [(line["kind"], line["booking"] and line["booking"]["status"]) for line in lines] == [
        ("GOODS", None),
        ("SERVICE", "HELD"),
    ]


@pytest.mark.parametrize(
    ("slot", "code", "field"),
    [
        (None, "slot_required", "lines.0.slot"),
        (lambda s: {"start": s["taken"]}, "slot_unavailable", "lines.0.slot"),
        (lambda s: {"start": s["off_grid"]}, "slot_invalid", "lines.0.slot"),
        (lambda s: {"start": s["soon"]}, "too_soon", "lines.0.slot"),
        (
            lambda s: {"start": s["free"], "resourceId": s["unknown"]},
            "not_found",
            "lines.0.slot.resourceId",
        ),
        (
            lambda s: {"start": s["free"], "resourceId": s["inactive"]},
            "not_found",
            "lines.0.slot.resourceId",
        ),
        (
            lambda s: {"start": s["free"], "resourceId": s["other"]},
            "invalid",
            "lines.0.slot.resourceId",
        ),
    ],
    ids=["required", "taken", "off-grid", "soon", "unknown", "inactive", "not-offered"],
)
def test_cart_lines_add_refuses_a_bad_slot_and_changes_nothing(gql, slot, code, field):
    cut = salon()
    start = day() + timedelta(hours=10)
    book(cut, start=start)
    shop = {
        "taken": start.isoformat(),
        "off_grid": (start + timedelta(hours=2, minutes=5)).isoformat(),
        "soon": (timezone.now() + timedelta(minutes=10)).isoformat(),
        "free": (start + timedelta(hours=2)).isoformat(),
        "unknown": "UmVzb3VyY2U6OTk5OTk=",  # Resource:99999
        "inactive": gid(ResourceFactory(is_active=False)),
        "other": gid(ResourceFactory()),
    }
    line = {"variantId": gid(cut), "quantity": 1}
    if slot is not None:
        line["slot"] = slot(shop)
    before = calendar_snapshot()

    response = gql(ADD, {"lines": [line]})

    assert response.data["cartLinesAdd"] == {
        "__typename": "OperationInfo",
        "messages": [{"kind": "VALIDATION", "code": code, "field": field}],
    }
    assert calendar_snapshot() == before


def test_a_slot_on_goods_is_invalid(gql):
    mug = ProductVariantFactory(stock_quantity=3)
    before = calendar_snapshot()

    response = gql(
        ADD,
        {
            "lines": [
                {
                    "variantId": global_id(mug),
                    "quantity": 1,
                    "slot": {"start": (day() + timedelta(hours=10)).isoformat()},
                }
            ]
        },
    )

    assert response.data["cartLinesAdd"]["messages"] == [
        {"kind": "VALIDATION", "code": "invalid", "field": "lines.0.slot"}
    ]
    assert calendar_snapshot() == before


def test_seats_over_the_class_size_are_invalid_on_the_quantity(gql):
    yoga = ServiceVariantFactory(product__settings__seats_per_slot=2)
    before = calendar_snapshot()

    response = gql(
        ADD,
        {
            "lines": [
                {
                    "variantId": gid(yoga),
                    "quantity": 3,
                    "slot": {"start": free_slot(yoga).isoformat()},
                }
            ]
        },
    )

    assert response.data["cartLinesAdd"]["messages"] == [
        {"kind": "VALIDATION", "code": "invalid", "field": "lines.0.quantity"}
    ]
    assert calendar_snapshot() == before


# --- cancelling and moving a booking -------------------------------------------------------------


def test_a_customer_cancels_their_booking(customer_gql, customer):
    booking = book_confirmed(salon(), user=customer)

    response = customer_gql(CANCEL, {"id": gid(booking), "reason": "Ill"})

    assert result(response)["status"] == "CANCELLED"
    booking.refresh_from_db()
    assert (booking.status, booking.events.last().note) == (BookingStatus.CANCELLED, "Ill")


def test_a_guest_cancels_with_the_order_s_token_and_not_without_it(gql):
    booking = book_confirmed(salon())
    before = calendar_snapshot()

    refused = gql(CANCEL, {"id": gid(booking)})

    assert refusal(refused) == [("VALIDATION", "not_found", "id")]
    assert calendar_snapshot() == before

    response = gql(CANCEL, {"id": gid(booking), "token": str(booking.order.token)})

    assert result(response)["status"] == "CANCELLED"


def test_another_customer_s_booking_is_not_found_and_nothing_changes(db):
    booking = book_confirmed(salon(), user=UserFactory())
    other = GraphQLClient().login(UserFactory())
    later = free_slot(booking.variant, after=booking.start + timedelta(days=1))
    before = calendar_snapshot()

    cancelled = other(CANCEL, {"id": gid(booking)})
    moved = other(RESCHEDULE, {"id": gid(booking), "slot": {"start": later.isoformat()}})
    wrong_token = other(
        CANCEL, {"id": gid(booking), "token": "00000000-0000-4000-8000-000000000000"}
    )

    assert (
        refusal(cancelled)
        == refusal(moved)
        == refusal(wrong_token)
        == [("VALIDATION", "not_found", "id")]
    )
    assert calendar_snapshot() == before


def test_inside_the_window_the_buyer_is_refused_and_staff_are_not(
    customer_gql, customer, admin_gql
):
    cut = salon()
    soon = free_slot(cut, after=timezone.now() + timedelta(hours=3))
    booking = book_confirmed(cut, user=customer, start=soon)
    before = calendar_snapshot()

    response = customer_gql(CANCEL, {"id": gid(booking)})

    assert refusal(response) == [("VALIDATION", "cancellation_window_passed", None)]
    assert calendar_snapshot() == before

    assert result(admin_gql(CANCEL, {"id": gid(booking)}))["status"] == "CANCELLED"


def test_a_customer_moves_their_booking(customer_gql, customer):
    cut = salon()
    start = day() + timedelta(hours=10)
    booking = book_confirmed(cut, user=customer, start=start)
    later = start + timedelta(hours=3)

    response = customer_gql(RESCHEDULE, {"id": gid(booking), "slot": {"start": later.isoformat()}})

    moved = result(response)
    assert (moved["status"], moved["start"], moved["end"]) == (
        "CONFIRMED",
        later.isoformat(),
        (later + timedelta(minutes=45)).isoformat(),
    )
    booking.refresh_from_db()
    assert (booking.start, booking.sequence) == (later, 1)


def test_a_guest_moves_with_the_order_s_token(gql):
    cut = salon()
    start = day() + timedelta(hours=10)
    booking = book_confirmed(cut, start=start)

    response = gql(
        RESCHEDULE,
        {
            "id": gid(booking),
            "slot": {"start": (start + timedelta(hours=1)).isoformat()},
            "token": str(booking.order.token),
        },
    )

    assert result(response)["start"] == (start + timedelta(hours=1)).isoformat()


def test_moving_to_a_taken_slot_or_an_unknown_resource_changes_nothing(customer_gql, customer):
    cut = salon()
    start = day() + timedelta(hours=10)
    booking = book_confirmed(cut, user=customer, start=start)
    book(cut, start=start + timedelta(hours=2))
    gone = ResourceFactory(is_active=False)
    before = calendar_snapshot()

    taken = customer_gql(
        RESCHEDULE,
        {"id": gid(booking), "slot": {"start": (start + timedelta(hours=2)).isoformat()}},
    )
    unknown = customer_gql(
        RESCHEDULE,
        {
            "id": gid(booking),
            "slot": {
                "start": (start + timedelta(hours=3)).isoformat(),
                "resourceId": gid(gone),
            },
        },
    )

    assert refusal(taken) == [("VALIDATION", "slot_unavailable", "slot")]
    assert refusal(unknown) == [("VALIDATION", "not_found", "slot.resourceId")]
    assert calendar_snapshot() == before


def test_staff_move_a_booking_inside_the_window(admin_gql, customer):
    cut = salon()
    booking = book_confirmed(
        cut, user=customer, start=free_slot(cut, after=timezone.now() + timedelta(hours=3))
    )
    later = free_slot(cut, after=booking.start + timedelta(days=1))

    response = admin_gql(RESCHEDULE, {"id": gid(booking), "slot": {"start": later.isoformat()}})

    assert result(response)["start"] == later.isoformat()


# --- staff's outcomes ----------------------------------------------------------------------------


@pytest.mark.parametrize("client", ["admin_gql", "booking_manager"])
def test_staff_mark_a_booking_completed(request, customer, client):
    booking = move(book_confirmed(salon(), user=customer), timezone.now() - timedelta(hours=1))

    response = request.getfixturevalue(client)(
        STATUS, {"id": gid(booking), "status": "COMPLETED", "note": "Lovely"}
    )

    assert result(response)["status"] == "COMPLETED"
    booking.refresh_from_db()
    assert (booking.status, booking.events.last().note) == (BookingStatus.COMPLETED, "Lovely")


@pytest.mark.parametrize("client", ["gql", "customer_gql", "staff_without_permissions"])
def test_booking_status_update_is_staff_only_and_changes_nothing(request, customer, client):
    booking = move(book_confirmed(salon(), user=customer), timezone.now() - timedelta(hours=1))
    before = calendar_snapshot()

    response = request.getfixturevalue(client)(STATUS, {"id": gid(booking), "status": "NO_SHOW"})

    assert response.data["result"] == {"__typename": "OperationInfo"} | PERMISSION
    assert calendar_snapshot() == before


def test_booking_status_update_refuses_what_is_not_an_outcome(admin_gql, customer):
    coming = book_confirmed(salon(), user=customer)
    before = calendar_snapshot()

    too_early = admin_gql(STATUS, {"id": gid(coming), "status": "COMPLETED"})
    cancelled = admin_gql(STATUS, {"id": gid(coming), "status": "CANCELLED"})

    assert refusal(too_early) == [("VALIDATION", "invalid_transition", "status")]
    assert refusal(cancelled) == [("VALIDATION", "invalid", "status")]
    assert calendar_snapshot() == before


# --- resources -----------------------------------------------------------------------------------


def test_staff_create_a_resource(admin_gql):
    response = admin_gql(
        RESOURCE_CREATE,
        {"input": {"name": " Room 1 ", "kind": "ROOM", "timeZone": "Europe/Paris"}},
    )

    resource = Resource.objects.get()
    assert result(response) == {
        "__typename": "Resource",
        "id": gid(resource),
        "name": "Room 1",
        "kind": "ROOM",
        "timeZone": "Europe/Paris",
        "isActive": True,
        "weeklyHours": [],
        "timeOff": [],
    }


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"name": "Room", "kind": "ROOM", "timeZone": "Mars/Olympus"}, ("invalid", "timeZone")),
        ({"name": "  ", "kind": "ROOM", "timeZone": "UTC"}, ("required", "name")),
        ({"name": "Room", "kind": "ROOM", "timeZone": ""}, ("required", "timeZone")),
    ],
    ids=["zone", "name", "no-zone"],
)
def test_resource_create_refuses_bad_values_and_creates_nothing(admin_gql, values, expected):
    response = admin_gql(RESOURCE_CREATE, {"input": values})

    assert refusal(response) == [("VALIDATION", *expected)]
    assert not Resource.objects.exists()


def test_staff_update_a_resource_and_its_hours_stay_wall_clock(admin_gql):
    alex = ResourceFactory(name="Alex", hours=[(1, "09:00", "17:00")])

    response = admin_gql(
        RESOURCE_UPDATE,
        {
            "id": gid(alex),
            "input": {"name": "Alexandra", "timeZone": "Asia/Tokyo", "isActive": False},
        },
    )

    assert {k: v for k, v in result(response).items() if k != "timeOff"} == {
        "__typename": "Resource",
        "id": gid(alex),
        "name": "Alexandra",
        "kind": "STAFF",
        "timeZone": "Asia/Tokyo",
        "isActive": False,
        "weeklyHours": [{"weekday": 1, "start": "09:00", "end": "17:00"}],
    }


def test_staff_replace_the_weekly_hours_several_ranges_a_day(admin_gql):
    alex = ResourceFactory(hours=[(1, "09:00", "17:00")])
    hours = [
        {"weekday": 2, "start": "14:00", "end": "18:00"},
        {"weekday": 2, "start": "09:00", "end": "12:30"},
        {"weekday": 7, "start": "10:00", "end": "12:00"},
    ]

    response = admin_gql(HOURS_SET, {"id": gid(alex), "hours": hours})

    assert result(response)["weeklyHours"] == [
        {"weekday": 2, "start": "09:00", "end": "12:30"},
        {"weekday": 2, "start": "14:00", "end": "18:00"},
        {"weekday": 7, "start": "10:00", "end": "12:00"},
    ]


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        ([{"weekday": 8, "start": "09:00", "end": "10:00"}], ("invalid", "hours.0.weekday")),
        ([{"weekday": 1, "start": "9am", "end": "10:00"}], ("invalid", "hours.0.start")),
        ([{"weekday": 1, "start": "09:00", "end": "09:00"}], ("invalid", "hours.0.end")),
        (
            [
                {"weekday": 1, "start": "09:00", "end": "12:00"},
                {"weekday": 1, "start": "11:00", "end": "13:00"},
            ],
            ("invalid", "hours"),
        ),
    ],
    ids=["weekday", "time", "order", "overlap"],
)
def test_weekly_hours_set_refuses_bad_hours_and_keeps_the_old_ones(admin_gql, hours, expected):
    alex = ResourceFactory(hours=[(1, "09:00", "17:00")])
    before = calendar_snapshot()

    response = admin_gql(HOURS_SET, {"id": gid(alex), "hours": hours})

    assert refusal(response) == [("VALIDATION", *expected)]
    assert calendar_snapshot() == before


def test_staff_take_a_resource_off_and_back(admin_gql):
    alex = ResourceFactory(hours=[])
    start = datetime(2027, 3, 1, 9, tzinfo=UTC)

    created = admin_gql(
        TIME_OFF_CREATE,
        {
            "id": gid(alex),
            "start": start.isoformat(),
            "end": (start + timedelta(hours=3)).isoformat(),
            "reason": " Dentist ",
        },
    )

    off = TimeOff.objects.get()
    assert result(created)["timeOff"] == [
        {
            "id": gid(off),
            "start": start.isoformat(),
            "end": (start + timedelta(hours=3)).isoformat(),
            "reason": "Dentist",
        }
    ]

    deleted = admin_gql(TIME_OFF_DELETE, {"id": gid(off)})

    assert (result(deleted)["id"], result(deleted)["timeOff"]) == (gid(alex), [])
    assert not TimeOff.objects.exists()


def test_time_off_must_end_after_it_starts_and_an_unknown_one_is_not_found(admin_gql):
    alex = ResourceFactory(hours=[])
    start = datetime(2027, 3, 1, 9, tzinfo=UTC)
    before = calendar_snapshot()

    backwards = admin_gql(
        TIME_OFF_CREATE,
        {"id": gid(alex), "start": start.isoformat(), "end": start.isoformat()},
    )
    unknown = admin_gql(TIME_OFF_DELETE, {"id": "VGltZU9mZjo5OTk5OQ=="})  # TimeOff:99999

    assert refusal(backwards) == [("VALIDATION", "invalid", "end")]
    assert refusal(unknown) == [("VALIDATION", "not_found", "id")]
    assert calendar_snapshot() == before


def _resource_calls(shop) -> dict:
    start = datetime(2027, 3, 1, 9, tzinfo=UTC).isoformat()
    return {
        "resourceCreate": (
            RESOURCE_CREATE,
            {"input": {"name": "Room", "kind": "ROOM", "timeZone": "UTC"}},
        ),
        "resourceUpdate": (RESOURCE_UPDATE, {"id": gid(shop["resource"]), "input": {"name": "X"}}),
        "resourceWeeklyHoursSet": (HOURS_SET, {"id": gid(shop["resource"]), "hours": []}),
        "resourceTimeOffCreate": (
            TIME_OFF_CREATE,
            {"id": gid(shop["resource"]), "start": start, "end": "2027-03-01T12:00:00+00:00"},
        ),
        "resourceTimeOffDelete": (TIME_OFF_DELETE, {"id": gid(shop["off"])}),
    }


@pytest.mark.parametrize("client", ["gql", "customer_gql", "staff_without_permissions"])
@pytest.mark.parametrize(
    "name",
    [
        "resourceCreate",
        "resourceUpdate",
        "resourceWeeklyHoursSet",
        "resourceTimeOffCreate",
        "resourceTimeOffDelete",
    ],
)
def test_resource_mutations_are_staff_only_and_change_nothing(request, db, client, name):
    resource = ResourceFactory()
    shop = {"resource": resource, "off": TimeOffFactory(resource=resource)}
    query, variables = _resource_calls(shop)[name]
    before = calendar_snapshot()

    response = request.getfixturevalue(client)(query, variables)

    assert response.data["result"] == {"__typename": "OperationInfo"} | PERMISSION
    assert calendar_snapshot() == before


@pytest.mark.parametrize(
    "name",
    [
        "resourceCreate",
        "resourceUpdate",
        "resourceWeeklyHoursSet",
        "resourceTimeOffCreate",
        "resourceTimeOffDelete",
    ],
)
def test_a_booking_manager_may_call_every_resource_mutation(booking_manager, name):
    resource = ResourceFactory()
    shop = {"resource": resource, "off": TimeOffFactory(resource=resource)}
    query, variables = _resource_calls(shop)[name]

    response = booking_manager(query, variables)

    assert response.data["result"]["__typename"] == "Resource"


# --- a service and how it is booked --------------------------------------------------------------


def _service_input(category, **changes) -> dict:
    return {
        "name": "Haircut",
        "categoryId": global_id(category),
        "kind": "SERVICE",
        "variants": [{"sku": "CUT-45", "price": "45.00", "durationMinutes": 45}],
        "service": {"bufferAfterMinutes": 15, "seatsPerSlot": 1},
    } | changes


def test_product_create_of_a_service_with_how_it_is_booked(admin_gql):
    category, alex = CategoryFactory(), ResourceFactory(name="Alex")

    response = admin_gql(
        PRODUCT_CREATE,
        {
            "input": _service_input(
                category,
                service={
                    "bufferAfterMinutes": 15,
                    "minimumNoticeMinutes": 120,
                    "resourceIds": [gid(alex)],
                },
            )
        },
    )

    assert result(response) == {
        "__typename": "Product",
        "name": "Haircut",
        "kind": "SERVICE",
        "variants": [{"sku": "CUT-45", "durationMinutes": 45}],
        "service": {
            "bufferBeforeMinutes": 0,
            "bufferAfterMinutes": 15,
            "slotIntervalMinutes": 15,
            "minimumNoticeMinutes": 120,
            "maximumAdvanceDays": 90,
            "seatsPerSlot": 1,
            "cancellationWindowHours": 24,
            "resources": [{"name": "Alex"}],
        },
    }


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"service": None}, ("required", "service")),
        (
            {"variants": [{"sku": "CUT-45", "price": "45.00"}]},
            ("required", "variants.0.durationMinutes"),
        ),
        (
            {"service": {"resourceIds": ["UmVzb3VyY2U6OTk5OTk="]}},
            ("not_found", "service.resourceIds.0"),
        ),
        ({"service": {"slotIntervalMinutes": 2}}, ("invalid", "service.slotIntervalMinutes")),
        ({"service": {"seatsPerSlot": 0}}, ("invalid", "service.seatsPerSlot")),
        ({"kind": "GOODS", "variants": [{"sku": "G-1", "price": "5.00"}]}, ("invalid", "service")),
        (
            {
                "kind": "GOODS",
                "service": None,
                "variants": [{"sku": "G-1", "price": "5.00", "durationMinutes": 30}],
            },
            ("invalid", "variants.0.durationMinutes"),
        ),
    ],
    ids=[
        "no-service",
        "no-duration",
        "unknown-resource",
        "interval",
        "seats",
        "goods-service",
        "goods-duration",
    ],
)
def test_product_create_refuses_a_service_without_what_books_it_and_creates_nothing(
    admin_gql, changes, expected
):
    category = CategoryFactory()

    response = admin_gql(PRODUCT_CREATE, {"input": _service_input(category, **changes)})

    assert refusal(response) == [("VALIDATION", *expected)]
    assert (Product.objects.count(), ServiceSettings.objects.count()) == (0, 0)


def test_product_update_changes_how_a_service_is_booked(admin_gql):
    cut = ServiceVariantFactory()
    sam = ResourceFactory(name="Sam")

    response = admin_gql(
        """mutation($id: ID!, $input: ProductUpdateInput!) { result: productUpdate(id: $id, input: $input) {
          __typename ... on Product { service { seatsPerSlot resources { name } } } } }""",
        {
            "id": global_id(cut.product),
            "input": {"service": {"seatsPerSlot": 4, "resourceIds": [gid(sam)]}},
        },
    )

    assert response.data["result"] == {
        "__typename": "Product",
        "service": {"seatsPerSlot": 4, "resources": [{"name": "Sam"}]},
    }
    assert resource_of(cut) == sam
    assert Booking.objects.count() == 0
