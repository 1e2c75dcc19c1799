"""Which slots a service can be booked in: the grid of each hours range, buffers, notice and
advance, time off, seats, holds, several resources, the window's limit, and daylight saving.

The calendars are fixed in time (``clock``): Monday 2027-03-01 00:00 UTC unless said.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.bookings import availability
from apps.bookings.models import BookingStatus
from tests.bookings.factories import (
    WIDE_HOURS,
    BookingFactory,
    ResourceFactory,
    ServiceVariantFactory,
    TimeOffFactory,
    gid,
)

MONDAY = datetime(2027, 3, 1, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def service(hours, *, zone: str = "UTC", duration: int = 45, resources=None, **settings):
    """A service variant of ``duration`` minutes, delivered by one resource with ``hours``
    (or by ``resources``), booked with ``settings``: ``(variant, resource)``."""
    resource = None
    if resources is None:
        resource = ResourceFactory(name="Alex", time_zone=zone, hours=hours)
        resources = [resource]
    variant = ServiceVariantFactory(
        duration_minutes=duration,
        product__settings__resources=resources,
        **{f"product__settings__{name}": value for name, value in settings.items()},
    )
    return variant, resource


def offered(variant, start: datetime, end: datetime, *, resource_ids=None) -> list[tuple]:
    """``(start, end, resource, seats left)`` of every slot, times as ``HH:MM`` UTC."""
    return [
        (f"{slot.start:%H:%M}", f"{slot.end:%H:%M}", resource.name, slot.seats_left)
        for slot, resource in availability.available_slots(
            variant, start=start, end=end, resource_ids=resource_ids
        )
    ]


def starts(variant, start: datetime, end: datetime) -> list[datetime]:
    return [slot.start for slot, _ in availability.available_slots(variant, start=start, end=end)]


# --- the grid ------------------------------------------------------------------------------------


def test_slots_start_on_the_grid_of_the_range_s_opening_and_end_by_its_closing(db, clock):
    clock(MONDAY)
    cut, _ = service([(1, "09:10", "10:40")], duration=30, slot_interval_minutes=30)

    assert offered(cut, MONDAY, MONDAY + timedelta(days=1)) == [
        ("09:10", "09:40", "Alex", 1),
        ("09:40", "10:10", "Alex", 1),
        ("10:10", "10:40", "Alex", 1),
    ]


def test_each_range_of_a_day_has_its_own_grid(db, clock):
    clock(MONDAY)
    cut, _ = service(
        [(1, "09:00", "10:00"), (1, "14:05", "15:05")], duration=30, slot_interval_minutes=30
    )

    assert offered(cut, MONDAY, MONDAY + timedelta(days=2)) == [
        ("09:00", "09:30", "Alex", 1),
        ("09:30", "10:00", "Alex", 1),
        ("14:05", "14:35", "Alex", 1),
        ("14:35", "15:05", "Alex", 1),
    ]  # and nothing on Tuesday, which has no hours


def test_buffers_fit_inside_the_hours(db, clock):
    clock(MONDAY)
    cut, _ = service(
        [(1, "09:00", "11:00")],
        duration=45,
        buffer_before_minutes=15,
        buffer_after_minutes=15,
    )

    # blocked from 15 minutes before the start to 15 after the end, all inside 09:00-11:00
    assert offered(cut, MONDAY, MONDAY + timedelta(days=1)) == [
        ("09:15", "10:00", "Alex", 1),
        ("09:30", "10:15", "Alex", 1),
        ("09:45", "10:30", "Alex", 1),
        ("10:00", "10:45", "Alex", 1),
    ]


def test_buffers_keep_a_slot_away_from_a_booking(db, clock):
    clock(MONDAY)
    cut, _ = service([(1, "09:00", "12:00")], duration=30, buffer_after_minutes=30)
    BookingFactory(variant=cut, start=at("2027-03-01T10:00Z"))  # blocks 10:00-11:00

    assert offered(cut, MONDAY, MONDAY + timedelta(days=1)) == [
        ("09:00", "09:30", "Alex", 1),  # blocked until 10:00: just before it
        ("11:00", "11:30", "Alex", 1),
    ]


def test_minimum_notice_and_maximum_advance_bound_the_slots(db, clock):
    now = clock(at("2027-03-01T08:05Z"))
    cut, _ = service(
        WIDE_HOURS,
        duration=60,
        slot_interval_minutes=60,
        minimum_notice_minutes=120,
        maximum_advance_days=1,
    )

    found = starts(cut, now - timedelta(days=1), now + timedelta(days=3))

    # from 10:05 (the notice) to 08:05 the next day (the advance), on the hour
    assert (found[0], found[-1], len(found)) == (
        at("2027-03-01T11:00Z"),
        at("2027-03-02T08:00Z"),
        12 + 9,
    )


def test_time_off_takes_the_slots_it_meets_buffers_included(db, clock):
    clock(MONDAY)
    cut, stylist = service(
        [(1, "09:00", "13:00")], duration=30, slot_interval_minutes=30, buffer_after_minutes=15
    )
    TimeOffFactory(resource=stylist, start=at("2027-03-01T10:00Z"), end=at("2027-03-01T11:00Z"))

    assert [start for start, *_ in offered(cut, MONDAY, MONDAY + timedelta(days=1))] == [
        "09:00",  # blocked 09:00-09:45
        "11:00",
        "11:30",
        "12:00",  # blocked until 12:45; 12:30 would end its buffer after closing
    ]


def test_a_class_offers_its_seats_until_they_are_taken(db, clock):
    clock(MONDAY)
    yoga, _ = service(
        [(1, "09:00", "11:00")], duration=60, slot_interval_minutes=30, seats_per_slot=3
    )
    BookingFactory(variant=yoga, start=at("2027-03-01T10:00Z"), seats=2)

    assert offered(yoga, MONDAY, MONDAY + timedelta(days=1)) == [
        ("09:00", "10:00", "Alex", 3),
        ("09:30", "10:30", "Alex", 1),  # meets the two seats taken at 10:00
        ("10:00", "11:00", "Alex", 1),
    ]

    BookingFactory(variant=yoga, start=at("2027-03-01T09:30Z"), seats=1)

    assert offered(yoga, MONDAY, MONDAY + timedelta(days=1)) == [
        ("09:00", "10:00", "Alex", 2),
    ]


def test_cancelled_and_expired_bookings_take_no_time_and_a_live_hold_does(db):
    cut, _ = service(WIDE_HOURS, duration=60, slot_interval_minutes=60)
    day = (timezone.now() + timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)
    slot = day + timedelta(hours=10)
    BookingFactory(variant=cut, start=slot, status=BookingStatus.CANCELLED)
    BookingFactory(variant=cut, start=slot, status=BookingStatus.EXPIRED)
    stale = BookingFactory(
        variant=cut,
        start=slot,
        status=BookingStatus.HELD,
        hold_expires_at=timezone.now() - timedelta(seconds=1),
    )

    assert slot in starts(cut, day, day + timedelta(days=1))

    stale.hold_expires_at = timezone.now() + timedelta(minutes=5)
    stale.save()

    assert slot not in starts(cut, day, day + timedelta(days=1))
    assert len(starts(cut, day, day + timedelta(days=1))) == 23 - 1  # 00:00 to 22:00 but 10:00


def test_several_resources_are_merged_by_start_then_resource(db, clock):
    clock(MONDAY)
    zed = ResourceFactory(name="Zed", hours=[(1, "09:00", "10:00")])
    amy = ResourceFactory(name="Amy", hours=[(1, "09:30", "10:30")])
    cut, _ = service(None, duration=30, slot_interval_minutes=30, resources=[amy, zed])

    assert offered(cut, MONDAY, MONDAY + timedelta(days=1)) == [
        ("09:00", "09:30", "Zed", 1),
        ("09:30", "10:00", "Zed", 1),  # Zed's id comes first
        ("09:30", "10:00", "Amy", 1),
        ("10:00", "10:30", "Amy", 1),
    ]
    assert offered(cut, MONDAY, MONDAY + timedelta(days=1), resource_ids=[amy.pk]) == [
        ("09:30", "10:00", "Amy", 1),
        ("10:00", "10:30", "Amy", 1),
    ]


def test_inactive_resources_and_resources_that_do_not_offer_the_service_give_no_slot(db, clock):
    clock(MONDAY)
    gone = ResourceFactory(name="Gone", is_active=False, hours=[(1, "09:00", "10:00")])
    cut, _ = service(None, duration=30, slot_interval_minutes=30, resources=[gone])
    elsewhere = ResourceFactory(name="Elsewhere", hours=[(1, "09:00", "10:00")])

    assert offered(cut, MONDAY, MONDAY + timedelta(days=1)) == []
    assert offered(cut, MONDAY, MONDAY + timedelta(days=1), resource_ids=[elsewhere.pk]) == []


def test_the_window_is_at_most_62_days_and_ends_after_it_starts(db, clock):
    clock(MONDAY - timedelta(days=1))
    cut, _ = service(WIDE_HOURS, duration=60, slot_interval_minutes=60)

    assert len(starts(cut, MONDAY, MONDAY + timedelta(days=62))) == 62 * 23  # 00:00 to 22:00
    for end, message in (
        (MONDAY + timedelta(days=62, seconds=1), "Ask for at most 62 days of slots at once."),
        (MONDAY, "The end must come after the start."),
    ):
        with pytest.raises(ValidationError) as raised:
            availability.available_slots(cut, start=MONDAY, end=end)
        assert (raised.value.code, raised.value.messages) == ("invalid", [message])


def test_goods_have_no_slots(db, clock):
    from tests.catalog.factories import ProductVariantFactory

    clock(MONDAY)

    assert (
        availability.available_slots(
            ProductVariantFactory(), start=MONDAY, end=MONDAY + timedelta(days=1)
        )
        == []
    )


# --- daylight saving time (Europe/Paris) -------------------------------------------------------


def test_a_09_00_opening_is_09_00_local_on_both_daylight_saving_days(db, clock):
    cut, _ = service(
        [(7, "09:00", "10:00")], zone="Europe/Paris", duration=60, maximum_advance_days=730
    )
    clock(at("2027-03-15T00:00Z"))

    # the Sundays before and after the clocks go forward: 09:00 CET, then 09:00 CEST
    assert starts(cut, at("2027-03-20T00:00Z"), at("2027-03-30T00:00Z")) == [
        at("2027-03-21T08:00Z"),
        at("2027-03-28T07:00Z"),
    ]
    # the Sundays before and after they go back: 09:00 CEST, then 09:00 CET
    assert starts(cut, at("2027-10-23T00:00Z"), at("2027-11-02T00:00Z")) == [
        at("2027-10-24T07:00Z"),
        at("2027-10-31T08:00Z"),
    ]


def test_no_slot_starts_in_the_hour_the_clocks_skip(db, clock):
    cut, _ = service(
        [(7, "00:00", "06:00")], zone="Europe/Paris", duration=60, slot_interval_minutes=60
    )
    clock(at("2027-03-15T00:00Z"))

    # 00:00, 01:00 CET; 02:00 does not exist; 03:00, 04:00 CEST (the last ends at 06:00 local)
    assert starts(cut, at("2027-03-27T12:00Z"), at("2027-03-28T12:00Z")) == [
        at("2027-03-27T23:00Z"),
        at("2027-03-28T00:00Z"),
        at("2027-03-28T01:00Z"),
        at("2027-03-28T02:00Z"),
        at("2027-03-28T03:00Z"),
    ]


def test_the_hour_the_clocks_repeat_has_one_grid_of_wall_clock_times(db, clock):
    cut, _ = service(
        [(7, "00:00", "05:00")], zone="Europe/Paris", duration=60, slot_interval_minutes=60
    )
    clock(at("2027-10-20T00:00Z"))

    # 00:00, 01:00, 02:00 CEST; 03:00, 04:00 CET: each wall-clock time once, 60 minutes long
    slots = availability.available_slots(
        cut, start=at("2027-10-30T12:00Z"), end=at("2027-10-31T12:00Z")
    )
    assert [(slot.start, slot.end) for slot, _ in slots] == [
        (at("2027-10-30T22:00Z"), at("2027-10-30T23:00Z")),
        (at("2027-10-30T23:00Z"), at("2027-10-31T00:00Z")),
        (at("2027-10-31T00:00Z"), at("2027-10-31T01:00Z")),
        (at("2027-10-31T02:00Z"), at("2027-10-31T03:00Z")),
        (at("2027-10-31T03:00Z"), at("2027-10-31T04:00Z")),
    ]


def test_slot_problem_follows_the_local_grid_across_daylight_saving(db, clock):
    now = clock(at("2027-03-15T00:00Z"))
    cut, _ = service(
        [(7, "01:30", "05:00")],
        zone="Europe/Paris",
        duration=30,
        slot_interval_minutes=45,
        maximum_advance_days=730,
    )
    service_settings = cut.product.service_settings
    rules = availability.Rules.of(service_settings, 30)
    start, end = at("2027-03-28T00:00Z"), at("2027-03-28T04:00Z")
    (calendar,) = availability.calendar_data(
        None, settings=service_settings, start=start, end=end, rules=rules
    )

    def problem(text: str) -> str | None:
        return availability.slot_problem(calendar, rules, start=at(text), now=now)

    # wall clock 01:30 (CET), 02:15 skipped, 03:00 CEST = 01:00 UTC, 03:45, 04:30 (ends 05:00)
    assert [
        s.start for s in availability.slots(calendar, rules, start=start, end=end, now=now)
    ] == [
        at("2027-03-28T00:30Z"),
        at("2027-03-28T01:00Z"),
        at("2027-03-28T01:45Z"),
        at("2027-03-28T02:30Z"),
    ]
    assert [
        problem(text)
        for text in (
            "2027-03-28T00:30Z",
            "2027-03-28T01:00Z",
            "2027-03-28T01:15Z",  # 03:15 local: off the grid
            "2027-03-28T03:00Z",  # 05:00 local: closed
            "2027-03-28T02:45Z",  # 04:45 local: off the grid (04:30 would be the last)
        )
    ] == [None, None, "slot_invalid", "slot_unavailable", "slot_invalid"]


def test_the_api_answers_daylight_saving_slots_in_utc(gql, clock):
    cut, _ = service([(7, "09:00", "10:00")], zone="Europe/Paris", duration=60)
    query = """query($v: ID!, $s: DateTime!, $e: DateTime!) {
      availableSlots(variantId: $v, start: $s, end: $e) { start end } }"""

    answers = []
    for now, day in (("2027-03-20T00:00Z", "2027-03-28"), ("2027-10-20T00:00Z", "2027-10-31")):
        clock(at(now))
        window = {"v": gid(cut), "s": f"{day}T00:00:00+01:00", "e": f"{day}T23:59:00+01:00"}
        answers += gql(query, window).data["availableSlots"]

    assert answers == [
        {"start": "2027-03-28T07:00:00+00:00", "end": "2027-03-28T08:00:00+00:00"},
        {"start": "2027-10-31T08:00:00+00:00", "end": "2027-10-31T09:00:00+00:00"},
    ]
