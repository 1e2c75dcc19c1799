"""The bookings' Django admin: resources and their hours through the services, the calendar of
bookings with its day view, and the actions that cancel, complete or mark a no-show."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.admin import helpers
from django.contrib.auth.models import AnonymousUser, Group
from django.core import mail
from django.test import Client
from django.utils import timezone

from apps.bookings.models import (
    Booking,
    BookingEvent,
    BookingStatus,
    Resource,
    ServiceSettings,
    WeeklyHours,
)
from apps.cart.services import NewLine, Slot, cart_lines_add
from apps.catalog.models import Category, Product, ProductKind, ProductVariant
from apps.orders.services import checkout_complete
from tests.accounts.factories import UserFactory

BOOKINGS = "/admin/bookings/booking/"
PARIS = ZoneInfo("Europe/Paris")


# --- A salon, built with the ORM; bookings sold through the cart and checkout -------------------


def service_product(name: str) -> Product:
    category, _ = Category.objects.get_or_create(slug="salon", defaults={"name": "Salon"})
    return Product.objects.create(
        name=name, slug=name.lower(), category=category, kind=ProductKind.SERVICE
    )


def salon(name: str = "Alex", product: str = "Haircut"):
    """A 45-minute service and the resource that delivers it, open 08:00-20:00 every day."""
    variant = ProductVariant.objects.create(
        product=service_product(product),
        sku=f"{product.upper()}-45",
        name="45 minutes",
        price="45.00",
        stock_quantity=0,
        duration_minutes=45,
    )
    resource = Resource.objects.create(
        name=name, kind=Resource.Kind.STAFF, time_zone="Europe/Paris"
    )
    WeeklyHours.objects.bulk_create(
        WeeklyHours(resource=resource, weekday=day, start=time(8), end=time(20))
        for day in range(1, 8)
    )
    service = ServiceSettings.objects.create(product=variant.product, buffer_after_minutes=10)
    service.resources.add(resource)
    return variant, resource


def sold(variant, resource, *, at: time = time(10), key: str = "k1") -> Booking:
    """A booking a guest bought for the day after tomorrow, through the cart and checkout."""
    day = timezone.localdate(timezone.now(), PARIS) + timedelta(days=2)
    start = datetime.combine(day, at, tzinfo=PARIS)
    guest = AnonymousUser()
    cart = cart_lines_add(
        cart=None, user=guest, lines=[NewLine(variant, 1, Slot(start=start, resource=resource))]
    )
    order = checkout_complete(
        user=guest,
        cart=cart,
        email="guest@example.com",
        payment_method="CARD_PLACEHOLDER",
        idempotency_key=key,
    )
    return order.bookings.get()


def on_calendar(resource: Resource, start: datetime, **fields) -> Booking:
    """A confirmed booking written with the ORM, at any time (one that has started, say)."""
    end = start + timedelta(minutes=45)
    return Booking.objects.create(
        resource=resource,
        resource_name=resource.name,
        product_name=fields.pop("product_name", "Haircut"),
        start=start,
        end=end,
        blocked_start=start,
        blocked_end=end + timedelta(minutes=10),
        status=fields.pop("status", BookingStatus.CONFIRMED),
        **fields,
    )


def state() -> list[tuple]:
    return sorted(
        (b.pk, b.status, b.start, b.resource_id, b.updated_at, b.events.count())
        for b in Booking.objects.all()
    )


@pytest.fixture
def clerk(db):
    user = UserFactory(email="clerk@example.com", is_staff=True)
    user.groups.add(Group.objects.get(name="Store admin"))
    return user


@pytest.fixture
def admin_client(clerk) -> Client:
    client = Client()
    client.force_login(clerk)
    return client


def run_action(client: Client, action: str, *bookings: Booking) -> list[tuple[str, str]]:
    """Run an action of the list on ``bookings``; the messages the list then shows."""
    response = client.post(
        BOOKINGS,
        {
            "action": action,
            helpers.ACTION_CHECKBOX_NAME: [booking.pk for booking in bookings],
            "index": "0",
        },
        follow=True,
    )
    assert response.redirect_chain == [(BOOKINGS, 302)]
    return [(message.level_tag, message.message) for message in response.context["messages"]]


def label(booking: Booking) -> str:
    start = timezone.localtime(booking.start)
    return f"{booking.product_name} {start:%Y-%m-%d %H:%M} with {booking.resource_name}"


# --- Actions -------------------------------------------------------------------------------------


def test_a_store_admin_cancels_a_booking_from_the_admin(
    admin_client, clerk, django_capture_on_commit_callbacks
):
    variant, resource = salon()
    booking = sold(variant, resource)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        shown = run_action(admin_client, "cancel_bookings", booking)

    assert shown == [("success", f"{label(booking)}: cancelled.")]
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    event = booking.events.last()
    assert (event.type, event.from_status, event.to_status, event.note, event.actor) == (
        BookingEvent.Type.CANCELLED,
        BookingStatus.CONFIRMED,
        BookingStatus.CANCELLED,
        "Cancelled in the admin.",
        clerk,
    )
    # The service ran: the buyer hears of it, and the slot is free again.
    assert [m.to for m in mail.outbox] == [["guest@example.com"]]
    assert mail.outbox[0].subject.startswith("Your booking was cancelled: ")
    again = sold(variant, resource, key="k2")
    assert (again.start, again.status) == (booking.start, BookingStatus.CONFIRMED)


def test_staff_cancel_inside_the_cancellation_window(admin_client):
    variant, resource = salon()
    ServiceSettings.objects.filter(product=variant.product).update(cancellation_window_hours=96)
    booking = sold(variant, resource)  # in two days: a buyer could no longer cancel it

    shown = run_action(admin_client, "cancel_bookings", booking)

    assert shown == [("success", f"{label(booking)}: cancelled.")]
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CANCELLED


def test_each_booking_of_an_action_is_reported_and_a_refusal_changes_nothing(admin_client):
    variant, resource = salon()
    confirmed = sold(variant, resource, at=time(10), key="a")
    cancelled = sold(variant, resource, at=time(14), key="b")
    run_action(admin_client, "cancel_bookings", cancelled)
    events = list(cancelled.events.values_list("pk", flat=True))

    shown = run_action(admin_client, "cancel_bookings", cancelled, confirmed)

    assert shown == [
        ("success", f"{label(confirmed)}: cancelled."),
        ("error", f"{label(cancelled)}: A cancelled booking cannot be cancelled."),
    ]
    assert list(cancelled.events.values_list("pk", flat=True)) == events


def test_completed_and_no_show_are_marked_once_the_booking_has_started(admin_client, clerk):
    variant, resource = salon()
    now = timezone.now()
    done = on_calendar(resource, now - timedelta(hours=2))
    missed = on_calendar(resource, now - timedelta(hours=1))
    coming = sold(variant, resource)
    before = state()

    completed = run_action(admin_client, "mark_completed", done, coming)
    no_show = run_action(admin_client, "mark_no_show", missed)

    assert completed == [
        ("success", f"{label(done)}: marked completed."),
        ("error", f"{label(coming)}: A booking is completed or missed once it has started."),
    ]
    assert no_show == [("success", f"{label(missed)}: marked no-show.")]
    assert Booking.objects.get(pk=done.pk).status == BookingStatus.COMPLETED
    assert Booking.objects.get(pk=missed.pk).status == BookingStatus.NO_SHOW
    assert [row for row in state() if row[0] == coming.pk] == [
        row for row in before if row[0] == coming.pk
    ]
    assert list(BookingEvent.objects.filter(booking=done).values_list("type", "note", "actor")) == [
        (BookingEvent.Type.COMPLETED, "Marked in the admin.", clerk.pk)
    ]


def test_the_list_offers_the_three_actions_and_staff_who_may_only_view_get_none(db, admin_client):
    from django.contrib.auth.models import Permission

    variant, resource = salon()
    booking = sold(variant, resource)
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_booking"))
    client = Client()
    client.force_login(viewer)
    before = state()

    listing = admin_client.get(BOOKINGS)
    viewed = client.get(BOOKINGS)
    refused = client.post(
        BOOKINGS,
        {"action": "cancel_bookings", helpers.ACTION_CHECKBOX_NAME: [booking.pk], "index": "0"},
    )

    choices = [name for name, _ in listing.context["action_form"].fields["action"].choices]
    assert choices == ["", "cancel_bookings", "mark_completed", "mark_no_show"]
    assert viewed.status_code == 200
    assert viewed.context["action_form"] is None
    assert refused.status_code == 200
    assert state() == before


def test_a_booking_page_is_read_only_and_bookings_are_neither_added_nor_deleted(admin_client):
    variant, resource = salon()
    booking = sold(variant, resource)
    before = state()

    page = admin_client.get(f"{BOOKINGS}{booking.pk}/change/")
    posted = admin_client.post(f"{BOOKINGS}{booking.pk}/change/", {"status": "CANCELLED"})
    added = admin_client.get(f"{BOOKINGS}add/")
    deleted = admin_client.post(f"{BOOKINGS}{booking.pk}/delete/", {"post": "yes"})

    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    content = page.content.decode()
    assert booking.order.number in content
    assert "Confirmed" in content  # the events, read-only
    assert (posted.status_code, added.status_code, deleted.status_code) == (403, 403, 403)
    assert state() == before


# --- Finding bookings ----------------------------------------------------------------------------


def test_the_day_filter_follows_the_shops_midnight(admin_client, settings):
    # Tokyo is 9 hours ahead of UTC: its midnight is 15:00 UTC the day before.
    settings.TIME_ZONE = "Asia/Tokyo"
    tokyo = ZoneInfo("Asia/Tokyo")
    today = timezone.localdate(timezone.now(), tokyo)

    def local(day_offset: int, at: time) -> datetime:
        return datetime.combine(today + timedelta(days=day_offset), at, tzinfo=tokyo)

    moments = {
        "yesterday late": local(-1, time(23, 59)),
        "today midnight": local(0, time(0)),
        "today late": local(0, time(23, 30)),
        "tomorrow midnight": local(1, time(0)),
        "tomorrow early": local(1, time(0, 30)),
        "in two days": local(2, time(12)),
        "in a week": local(7, time(12)),
    }
    # One stylist each: bookings of one resource never overlap (PostgreSQL refuses it).
    rows = {
        name: on_calendar(Resource.objects.create(name=name, time_zone="Asia/Tokyo"), moment)
        for name, moment in moments.items()
    }
    # The UTC date of "today midnight" is yesterday's: a filter by UTC dates would get it wrong.
    assert rows["today midnight"].start.astimezone(ZoneInfo("UTC")).date() == today - timedelta(1)
    monday = today - timedelta(days=today.weekday())
    this_week = [
        name
        for name, booking in rows.items()
        if monday <= booking.start.astimezone(tokyo).date() < monday + timedelta(days=7)
    ]

    def listed(day: str) -> list[str]:
        response = admin_client.get(BOOKINGS, {"day": day})
        assert response.status_code == 200
        found = list(response.context["cl"].result_list)
        return [name for name, booking in rows.items() if booking in found]

    assert listed("today") == ["today midnight", "today late"]
    assert listed("tomorrow") == ["tomorrow midnight", "tomorrow early"]
    assert listed("week") == this_week
    assert {"today midnight", "today late"} <= set(this_week)
    assert "in a week" not in this_week


def test_the_list_has_a_day_view_and_finds_bookings_by_order_email_and_product(admin_client):
    variant, resource = salon()
    booking = sold(variant, resource)
    _, other_resource = salon(name="Sam", product="Massage")
    on_calendar(other_resource, booking.start, product_name="Massage")

    listing = admin_client.get(BOOKINGS)
    by_number = admin_client.get(BOOKINGS, {"q": booking.order.number})
    by_email = admin_client.get(BOOKINGS, {"q": "guest@example"})
    by_product = admin_client.get(BOOKINGS, {"q": "massage"})
    by_resource = admin_client.get(BOOKINGS, {"resource__id__exact": resource.pk})

    assert listing.context["cl"].date_hierarchy == "start"
    assert list(listing.context["cl"].list_display) == [
        "action_checkbox",
        "start",
        "end",
        "resource",
        "product",
        "status",
        "seats",
        "order_number",
    ]
    assert list(by_number.context["cl"].result_list) == [booking]
    assert list(by_email.context["cl"].result_list) == [booking]
    assert [b.product_name for b in by_product.context["cl"].result_list] == ["Massage"]
    assert list(by_resource.context["cl"].result_list) == [booking]


# --- Resources and their hours, through the services ---------------------------------------------


def resource_form(resource: Resource, hours: list[tuple[int, str, str]], **changes) -> dict:
    """The change form of ``resource`` as posted, its weekly hours replaced by ``hours``."""
    existing = list(resource.weekly_hours.order_by("pk"))
    data = {
        "name": resource.name,
        "kind": resource.kind,
        "time_zone": resource.time_zone,
        "is_active": "on",
        "weekly_hours-TOTAL_FORMS": str(max(len(existing), len(hours))),
        "weekly_hours-INITIAL_FORMS": str(len(existing)),
        "weekly_hours-MIN_NUM_FORMS": "0",
        "weekly_hours-MAX_NUM_FORMS": "1000",
        "time_off-TOTAL_FORMS": "0",
        "time_off-INITIAL_FORMS": str(resource.time_off.count()),
        "time_off-MIN_NUM_FORMS": "0",
        "time_off-MAX_NUM_FORMS": "1000",
        **changes,
    }
    for index in range(max(len(existing), len(hours))):
        prefix = f"weekly_hours-{index}-"
        if index < len(existing):
            data[f"{prefix}id"] = str(existing[index].pk)
            data[f"{prefix}resource"] = str(resource.pk)
        if index < len(hours):
            weekday, start, end = hours[index]
            data.update({f"{prefix}weekday": weekday, f"{prefix}start": start, f"{prefix}end": end})
        else:
            data[f"{prefix}DELETE"] = "on"
    return data


def hours_of(resource: Resource) -> list[tuple[int, str, str]]:
    return [
        (row.weekday, f"{row.start:%H:%M}", f"{row.end:%H:%M}")
        for row in resource.weekly_hours.order_by("weekday", "start")
    ]


def test_weekly_hours_are_replaced_by_the_service_from_the_resource_page(admin_client):
    _, resource = salon()
    url = f"/admin/bookings/resource/{resource.pk}/change/"

    response = admin_client.post(
        url, resource_form(resource, [(2, "09:00", "12:30"), (2, "13:30", "19:00")], name="Alexa")
    )

    assert response.status_code == 302
    resource.refresh_from_db()
    assert resource.name == "Alexa"
    assert hours_of(resource) == [(2, "09:00", "12:30"), (2, "13:30", "19:00")]


def test_overlapping_hours_are_refused_on_the_resource_page_and_nothing_changes(admin_client):
    _, resource = salon()
    before = hours_of(resource)
    url = f"/admin/bookings/resource/{resource.pk}/change/"

    response = admin_client.post(
        url, resource_form(resource, [(2, "09:00", "13:00"), (2, "12:00", "19:00")], name="Alexa")
    )

    assert response.status_code == 200
    assert "Two ranges overlap on weekday 2." in response.content.decode()
    resource.refresh_from_db()
    assert resource.name == "Alex"
    assert hours_of(resource) == before


def test_a_resource_is_created_by_the_service_and_refuses_an_unknown_time_zone(admin_client):
    created = admin_client.post(
        "/admin/bookings/resource/add/",
        {"name": "Studio", "kind": "ROOM", "time_zone": "Europe/Paris", "is_active": "on"},
    )
    refused = admin_client.post(
        "/admin/bookings/resource/add/",
        {"name": "Moon", "kind": "ROOM", "time_zone": "Mars/Olympus", "is_active": "on"},
    )

    assert created.status_code == 302
    assert list(Resource.objects.values_list("name", "kind", "time_zone")) == [
        ("Studio", "ROOM", "Europe/Paris")
    ]
    assert refused.status_code == 200
    assert "Enter an IANA time zone" in refused.content.decode()


def test_service_settings_are_written_by_the_service_with_their_resources(admin_client):
    _, resource = salon()
    product = service_product("Colour")

    response = admin_client.post(
        "/admin/bookings/servicesettings/add/",
        {
            "product": product.pk,
            "buffer_before_minutes": "5",
            "buffer_after_minutes": "10",
            "slot_interval_minutes": "30",
            "minimum_notice_minutes": "120",
            "maximum_advance_days": "60",
            "seats_per_slot": "1",
            "cancellation_window_hours": "24",
            "resources": [resource.pk],
        },
    )

    assert response.status_code == 302
    saved = ServiceSettings.objects.get(product=product)
    assert (saved.buffer_before_minutes, saved.slot_interval_minutes) == (5, 30)
    assert list(saved.resources.all()) == [resource]


def test_time_off_is_added_and_removed_by_the_services_from_the_resource_page(admin_client):
    from apps.bookings.models import TimeOff

    _, resource = salon()
    url = f"/admin/bookings/resource/{resource.pk}/change/"
    hours = hours_of(resource)
    day = timezone.localdate() + timedelta(days=3)
    added = resource_form(resource, hours)
    added.update(
        {
            "time_off-TOTAL_FORMS": "1",
            "time_off-0-start_0": day.isoformat(),
            "time_off-0-start_1": "12:00:00",
            "time_off-0-end_0": day.isoformat(),
            "time_off-0-end_1": "14:00:00",
            "time_off-0-reason": "Training",
        }
    )
    backwards = dict(added, **{"time_off-0-end_1": "11:00:00"})

    refused = admin_client.post(url, backwards)
    assert refused.status_code == 200
    assert not TimeOff.objects.exists()

    assert admin_client.post(url, added).status_code == 302
    off = TimeOff.objects.get()
    assert (off.resource, timezone.localtime(off.start).hour, off.reason) == (
        resource,
        12,
        "Training",
    )
    assert hours_of(resource) == hours  # the hours, unchanged, were not rewritten

    removed = resource_form(resource, hours)
    removed.update({"time_off-TOTAL_FORMS": "1", "time_off-0-id": str(off.pk)})
    removed.update({"time_off-0-resource": str(resource.pk), "time_off-0-DELETE": "on"})
    assert admin_client.post(url, removed).status_code == 302
    assert not TimeOff.objects.exists()
