from datetime import datetime, time, timedelta
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

from django.core.management import call_command
from django.utils import timezone

from apps.accounts.models import User
from apps.bookings.availability import available_slots
from apps.bookings.models import (
    Booking,
    BookingEvent,
    BookingStatus,
    Resource,
    ServiceSettings,
    TimeOff,
    WeeklyHours,
)
from apps.cart.models import Cart, CartLine
from apps.catalog.models import Product, ProductKind, ProductVariant
from apps.demo.bookings import BOOKINGS, CUSTOMERS
from apps.notifications.models import Notification
from apps.orders.models import Order, OrderLine, OrderStatus
from apps.payments.models import Payment

PARIS = ZoneInfo("Europe/Paris")


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def hours_of(resource: Resource) -> list[tuple[int, str, str]]:
    return [
        (row.weekday, f"{row.start:%H:%M}", f"{row.end:%H:%M}")
        for row in resource.weekly_hours.order_by("weekday", "start")
    ]


def week_of(day) -> tuple[datetime, datetime]:
    """Monday 00:00 to the next Monday 00:00, Paris time, of the week of ``day``."""
    monday = day - timedelta(days=day.weekday())
    start = datetime.combine(monday, time.min, tzinfo=PARIS)
    return start, datetime.combine(monday + timedelta(days=7), time.min, tzinfo=PARIS)


def test_seed_demo_opens_a_salon_with_two_stylists_and_a_studio(db):
    output = seed()

    stylists = list(Resource.objects.filter(kind=Resource.Kind.STAFF).order_by("name"))
    assert [(r.name, r.time_zone, r.is_active) for r in stylists] == [
        ("Camille", "Europe/Paris", True),
        ("Noah", "Europe/Paris", True),
    ]
    for stylist in stylists:
        assert hours_of(stylist) == [
            (day, start, end)
            for day in range(2, 7)
            for start, end in (("09:00", "12:30"), ("13:30", "19:00"))
        ]
    studio = Resource.objects.get(kind=Resource.Kind.ROOM)
    assert (studio.name, studio.time_zone) == ("Studio", "Europe/Paris")
    assert hours_of(studio) == [
        (1, "18:30", "19:30"),
        (3, "18:30", "19:30"),
        (5, "18:30", "19:30"),
        (6, "10:00", "11:00"),
    ]
    assert "salon: 3 resources, 8 demo bookings (8 placed now)" in output


def test_seed_demo_sells_a_haircut_a_yoga_class_and_a_hair_dryer(db):
    seed()

    haircut = Product.objects.get(slug="haircut")
    assert (haircut.kind, haircut.category.slug, haircut.category.parent.slug) == (
        ProductKind.SERVICE,
        "wellness-hair",
        "wellness",
    )
    assert [
        (v.sku, v.name, v.price, v.duration_minutes, v.stock_quantity)
        for v in haircut.variants.order_by("duration_minutes")
    ] == [
        ("HAIRCUT-CUT", "Cut", Decimal("35.00"), 45, 0),
        ("HAIRCUT-COLOUR", "Colour", Decimal("80.00"), 90, 0),
    ]
    service = ServiceSettings.objects.get(product=haircut)
    assert (
        service.buffer_before_minutes,
        service.buffer_after_minutes,
        service.slot_interval_minutes,
        service.minimum_notice_minutes,
        service.maximum_advance_days,
        service.seats_per_slot,
        service.cancellation_window_hours,
    ) == (0, 10, 15, 120, 60, 1, 24)
    assert sorted(service.resources.values_list("name", flat=True)) == ["Camille", "Noah"]

    yoga = ServiceSettings.objects.get(product__slug="yoga-class")
    assert (yoga.product.kind, yoga.seats_per_slot, yoga.slot_interval_minutes) == (
        ProductKind.SERVICE,
        12,
        60,
    )
    assert list(yoga.resources.values_list("name", flat=True)) == ["Studio"]
    assert list(yoga.product.variants.values_list("duration_minutes", flat=True)) == [60]

    dryer = ProductVariant.objects.get(sku="IONIC-HAIR-DRYER-BLACK")
    assert (dryer.product.kind, dryer.price, dryer.stock_quantity, dryer.duration_minutes) == (
        ProductKind.GOODS,
        Decimal("59.00"),
        25,
        None,
    )
    assert all(p.images.count() == 1 for p in (haircut, yoga.product, dryer.product))


def test_the_demo_bookings_were_placed_through_the_cart_and_checkout(db):
    started = timezone.now()

    seed()

    customers = {email for email, *_ in CUSTOMERS.values()}
    bookings = list(Booking.objects.select_related("order__user", "order_line"))
    assert len(bookings) == len(BOOKINGS) == 8
    for booking in bookings:
        assert booking.status == BookingStatus.CONFIRMED
        assert booking.hold_expires_at is None
        assert booking.user == booking.order.user
        assert booking.order.user.email in customers
        # The buyer's rules held: inside the notice and the advance, in the salon's hours.
        assert started + timedelta(hours=1) <= booking.start <= started + timedelta(days=60)
        local = booking.start.astimezone(PARIS)
        assert time(9) <= local.time() <= time(18, 30)
        assert (booking.order_line.booking_start, booking.order_line.resource_name) == (
            booking.start,
            booking.resource_name,
        )
        assert list(booking.events.values_list("type", "actor")) == [
            (BookingEvent.Type.HELD, booking.user_id),
            (BookingEvent.Type.CONFIRMED, booking.user_id),
        ]
        # An order of services only: no address, no shipping, pending until paid at the salon.
        order = booking.order
        assert (order.status, order.shipping_address, order.shipping_total) == (
            OrderStatus.PENDING,
            None,
            Decimal("0.00"),
        )
        assert order.total == booking.order_line.line_total
    assert sorted(b.seats for b in bookings if b.product_name == "Yoga Class") == [1, 1, 2]
    # Each customer saw the order placed, as a customer of the shop would.
    placed = Notification.objects.filter(kind="ORDER_PLACED", user__email__in=customers)
    assert placed.count() == 8
    assert not Cart.objects.filter(status=Cart.Status.ACTIVE).exists()


def test_the_salon_offers_slots_on_its_grid_around_the_demo_bookings(db):
    seed()
    cut = ProductVariant.objects.select_related("product").get(sku="HAIRCUT-CUT")
    camille = Resource.objects.get(name="Camille")
    # A week with no demo booking (they are all within the next four weeks).
    start, end = week_of(timezone.localdate(timezone.now(), PARIS) + timedelta(days=35))

    slots = [
        slot for slot, _ in available_slots(cut, start=start, end=end, resource_ids=[camille.pk])
    ]

    # Tuesday to Saturday: 09:00 to 11:30 (the cut and its 10 minutes end by 12:30), 11 slots,
    # and 13:30 to 18:00, 19 slots, every 15 minutes.
    assert len(slots) == 5 * (11 + 19) == 150
    local = [slot.start.astimezone(PARIS) for slot in slots]
    assert {moment.isoweekday() for moment in local} == {2, 3, 4, 5, 6}
    assert {moment.minute for moment in local} == {0, 15, 30, 45}
    assert min(moment.time() for moment in local) == time(9)
    assert max(moment.time() for moment in local) == time(18)
    assert all(slot.end - slot.start == timedelta(minutes=45) for slot in slots)

    # A demo booking's slot is not offered again; the others are.
    booking = Booking.objects.filter(resource=camille, variant=cut).earliest("start")
    around = available_slots(
        cut,
        start=booking.start - timedelta(hours=2),
        end=booking.start + timedelta(hours=2),
        resource_ids=[camille.pk],
    )
    assert booking.start not in [slot.start for slot, _ in around]
    assert around


def test_a_second_seed_adds_nothing(db):
    seed()

    def counts() -> dict[str, int]:
        return {
            model.__name__: model.objects.count()
            for model in (
                Resource,
                WeeklyHours,
                TimeOff,
                ServiceSettings,
                Booking,
                BookingEvent,
                Order,
                OrderLine,
                Payment,
                Cart,
                CartLine,
                User,
                Notification,
                Product,
                ProductVariant,
            )
        }

    before = counts()
    hours = sorted(WeeklyHours.objects.values_list("pk", flat=True))
    bookings = list(Booking.objects.order_by("pk").values())

    output = seed()

    assert counts() == before
    assert sorted(WeeklyHours.objects.values_list("pk", flat=True)) == hours
    assert list(Booking.objects.order_by("pk").values()) == bookings
    assert "salon: 3 resources, 8 demo bookings (0 placed now)" in output


def test_a_second_seed_restores_the_salon_it_opened(db):
    seed()
    camille = Resource.objects.get(name="Camille")
    camille.weekly_hours.filter(weekday=6).delete()
    Resource.objects.filter(pk=camille.pk).update(time_zone="UTC", is_active=False)
    ServiceSettings.objects.filter(product__slug="haircut").update(seats_per_slot=3)

    seed()

    camille.refresh_from_db()
    assert (camille.time_zone, camille.is_active) == ("Europe/Paris", True)
    assert len(hours_of(camille)) == 10
    assert ServiceSettings.objects.get(product__slug="haircut").seats_per_slot == 1
    assert Resource.objects.count() == 3
