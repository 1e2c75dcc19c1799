"""Resources and their hours, services that book them, and bookings placed as a buyer places
them: a slot held through the cart (``book``), then confirmed at checkout (``book_confirmed``).

A service from ``ServiceVariantFactory`` (or ``tests.catalog.factories.service_variant``) is
bookable at once: a 45-minute variant, slots every 15 minutes, delivered by one resource open
every day from 00:00 to 23:59 UTC. Nested settings go through factory_boy's ``__`` syntax:
``ServiceVariantFactory(product__settings__seats_per_slot=3)``.
"""

from datetime import datetime, time, timedelta
from decimal import Decimal

import factory
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from strawberry.relay import to_base64

from apps.bookings import availability
from apps.bookings.models import (
    Booking,
    BookingStatus,
    Resource,
    ServiceSettings,
    TimeOff,
    WeeklyHours,
)
from apps.cart import services as cart_services
from apps.cart.models import Cart, CartLine
from apps.catalog.models import ProductKind, ProductVariant
from tests.catalog.factories import ProductFactory, ProductVariantFactory

GUEST = AnonymousUser()
EVERY_DAY = range(1, 8)
WIDE_HOURS = [(weekday, "00:00", "23:59") for weekday in EVERY_DAY]


def _time(value: str | time) -> time:
    return value if isinstance(value, time) else time.fromisoformat(value)


class ResourceFactory(factory.django.DjangoModelFactory):
    """A stylist; ``hours``: ``(weekday, "09:00", "18:00")`` ranges, wide open every day by
    default, ``[]`` for none."""

    class Meta:
        model = Resource
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Stylist {n}")
    kind = Resource.Kind.STAFF
    time_zone = "UTC"
    is_active = True

    @factory.post_generation
    def hours(obj, create, extracted, **kwargs):
        if create:
            set_hours(obj, WIDE_HOURS if extracted is None else extracted)


def set_hours(resource: Resource, hours) -> None:
    """Replace the resource's weekly hours with ``(weekday, start, end)`` ranges."""
    resource.weekly_hours.all().delete()
    WeeklyHours.objects.bulk_create(
        WeeklyHours(resource=resource, weekday=weekday, start=_time(start), end=_time(end))
        for weekday, start, end in hours
    )


class TimeOffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimeOff

    resource = factory.SubFactory(ResourceFactory)
    start = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
    end = factory.LazyAttribute(lambda off: off.start + timedelta(hours=2))
    reason = "Training"


class ServiceSettingsFactory(factory.django.DjangoModelFactory):
    """How a service is booked: the model's defaults (15-minute grid, 60 minutes' notice, 90
    days ahead, one seat, a 24-hour cancellation window), one wide-open resource by default."""

    class Meta:
        model = ServiceSettings
        skip_postgeneration_save = True

    product = factory.SubFactory("tests.bookings.factories.ServiceFactory", settings=None)

    @factory.post_generation
    def resources(obj, create, extracted, **kwargs):
        if create:
            obj.resources.set([ResourceFactory()] if extracted is None else extracted)


class ServiceFactory(ProductFactory):
    """A product of kind SERVICE with its booking settings (``settings__...``)."""

    class Meta:
        skip_postgeneration_save = True

    kind = ProductKind.SERVICE
    name = factory.Sequence(lambda n: f"Service {n}")
    settings = factory.RelatedFactory(ServiceSettingsFactory, factory_related_name="product")


class ServiceVariantFactory(ProductVariantFactory):
    """A 45-minute variant of a bookable service: no stock, nothing to ship."""

    product = factory.SubFactory(ServiceFactory)
    name = "45 minutes"
    price = Decimal("45.00")
    stock_quantity = 0
    duration_minutes = 45


def settings_of(variant: ProductVariant) -> ServiceSettings:
    return ServiceSettings.objects.get(product_id=variant.product_id)


def resource_of(variant: ProductVariant) -> Resource:
    """The one resource that delivers the variant's service."""
    return settings_of(variant).resources.get()


class BookingFactory(factory.django.DjangoModelFactory):
    """A CONFIRMED booking written directly (no cart, no order): for calendars full of
    bookings. ``start`` defaults to tomorrow, on the hour; buffers are the service's."""

    class Meta:
        model = Booking

    variant = factory.SubFactory(ServiceVariantFactory)
    resource = factory.LazyAttribute(lambda booking: resource_of(booking.variant))
    product_name = factory.LazyAttribute(lambda booking: booking.variant.product.name)
    variant_name = factory.LazyAttribute(lambda booking: booking.variant.name)
    resource_name = factory.LazyAttribute(lambda booking: booking.resource.name)
    start = factory.LazyFunction(
        lambda: (timezone.now() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    )
    end = factory.LazyAttribute(
        lambda booking: booking.start + timedelta(minutes=booking.variant.duration_minutes)
    )
    blocked_start = factory.LazyAttribute(
        lambda booking: booking.start - settings_of(booking.variant).buffer_before
    )
    blocked_end = factory.LazyAttribute(
        lambda booking: booking.end + settings_of(booking.variant).buffer_after
    )
    seats = 1
    exclusive = factory.LazyAttribute(
        lambda booking: settings_of(booking.variant).seats_per_slot == 1
    )
    status = BookingStatus.CONFIRMED
    hold_expires_at = None


# --- Booking as a buyer does -------------------------------------------------------------------


def free_slot(
    variant: ProductVariant, *, after: datetime | None = None, resource: Resource | None = None
) -> datetime:
    """The first free slot of ``variant`` from ``after`` (two days from now by default:
    outside the default cancellation window), on ``resource`` when given."""
    after = after or timezone.now() + timedelta(days=2)
    found = availability.available_slots(
        variant,
        start=after,
        end=after + timedelta(days=7),
        resource_ids=None if resource is None else [resource.pk],
    )
    assert found, f"no free slot of {variant.sku} after {after}"
    return found[0][0].start


def book(
    variant: ProductVariant,
    *,
    start: datetime | None = None,
    seats: int = 1,
    cart: Cart | None = None,
    user=None,
    resource: Resource | None = None,
) -> Booking:
    """Hold a slot through the cart (``cart_lines_add`` with a slot): the HELD booking of the
    new service line, in ``cart``, or in the user's cart, or in a new guest cart."""
    start = start or free_slot(variant, resource=resource)
    cart = cart_services.cart_lines_add(
        cart=cart,
        user=user or GUEST,
        lines=[
            cart_services.NewLine(
                variant=variant,
                quantity=seats,
                slot=cart_services.Slot(start=start, resource=resource),
            )
        ],
    )
    return Booking.objects.filter(cart_line__cart=cart).latest("pk")


def book_confirmed(
    variant: ProductVariant,
    *,
    user=None,
    start: datetime | None = None,
    seats: int = 1,
    resource: Resource | None = None,
    key: str = "key-1",
) -> Booking:
    """A slot held and checked out (a guest's order without ``user``): the CONFIRMED booking."""
    from tests.orders.factories import NO_ADDRESS, place_order

    booking = book(variant, start=start, seats=seats, user=user, resource=resource)
    cart = booking.cart_line.cart
    place_order(user=user, cart=cart, key=key, shipping=NO_ADDRESS)
    booking.refresh_from_db()
    return booking


def move(booking: Booking, start: datetime) -> Booking:
    """Put a booking at ``start`` behind the services' backs (a booking in the past)."""
    duration = booking.end - booking.start
    before, after = booking.start - booking.blocked_start, booking.blocked_end - booking.end
    Booking.objects.filter(pk=booking.pk).update(
        start=start,
        end=start + duration,
        blocked_start=start - before,
        blocked_end=start + duration + after,
    )
    booking.refresh_from_db()
    return booking


def expire(booking: Booking) -> Booking:
    """Let a hold run past its expiry."""
    Booking.objects.filter(pk=booking.pk).update(
        hold_expires_at=timezone.now() - timedelta(seconds=1)
    )
    booking.refresh_from_db()
    return booking


# --- Ids and snapshots -------------------------------------------------------------------------


TYPE_NAMES = {
    Booking: "Booking",
    Resource: "Resource",
    TimeOff: "TimeOff",
    ProductVariant: "ProductVariant",
    CartLine: "CartLine",
}


def gid(obj) -> str:
    """The Relay global id of ``obj``, as the API shows it."""
    return to_base64(TYPE_NAMES[type(obj)], obj.pk)


def calendar_snapshot() -> dict[str, list]:
    """Every row a booking write can touch (those of ``tests.orders.factories.world``, which
    has the bookings and their events, and the calendar's), and the mail sent: to assert that
    nothing changed."""
    from tests.orders.factories import world

    return {
        **world(),
        "resources": list(Resource.objects.order_by("pk").values()),
        "hours": list(WeeklyHours.objects.order_by("pk").values()),
        "time_off": list(TimeOff.objects.order_by("pk").values()),
        "settings": list(ServiceSettings.objects.order_by("pk").values()),
        "offers": list(
            ServiceSettings.resources.through.objects.order_by("pk").values_list(
                "servicesettings_id", "resource_id"
            )
        ),
    }
