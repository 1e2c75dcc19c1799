"""The demo salon and studio: services next to the goods, and bookings placed as buyers place them.

Two stylists (Europe/Paris, Tuesday to Saturday, 09:00-12:30 and 13:30-19:00) deliver a
*Haircut* (a 45-minute cut, a 90-minute colour); a *Studio* room holds a *Yoga Class* of 12
seats; the salon also sells a hair dryer (goods), so that one cart can hold both kinds. A few
salon customers book over the coming weeks through the cart and checkout services, so their holds,
confirmations, events, orders and emails are the real ones.

Idempotent: categories and products are matched by slug, variants by SKU, resources by name and
kind, customers by email, and each demo booking by the idempotency key of its order: a second run
restores what was changed and adds nothing.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.bookings import availability
from apps.bookings import services as booking_services
from apps.bookings.models import Resource
from apps.bookings.services.resources import Opening
from apps.cart.services import NewLine, Slot, cart_lines_add
from apps.catalog.models import Category, Product, ProductImage, ProductKind, ProductVariant
from apps.demo.images import product_picture
from apps.orders.models import Order
from apps.orders.services import checkout_complete
from apps.orders.services.checkout import buyer_key
from apps.payments.models import PaymentMethod

SALON_ZONE = "Europe/Paris"
FAMILY = "Wellness"
STYLISTS = ["Camille", "Noah"]
# ISO weekdays 2 (Tuesday) to 6 (Saturday), with a lunch break.
STYLIST_HOURS = [
    Opening(weekday=day, start=start, end=end)
    for day in range(2, 7)
    for start, end in (("09:00", "12:30"), ("13:30", "19:00"))
]
STUDIO = "Studio"
# One class a slot: Monday, Wednesday and Friday evenings, Saturday morning.
STUDIO_HOURS = [
    Opening(weekday=1, start="18:30", end="19:30"),
    Opening(weekday=3, start="18:30", end="19:30"),
    Opening(weekday=5, start="18:30", end="19:30"),
    Opening(weekday=6, start="10:00", end="11:00"),
]


@dataclass(frozen=True)
class DemoProduct:
    slug: str
    name: str
    category: str  # the slug of its leaf category
    description: str
    variants: tuple[tuple[str, str, str, int | None, int], ...]  # sku, name, price, minutes, stock
    kind: str = ProductKind.GOODS
    settings: dict | None = None  # a service: how it is booked
    resources: tuple[str, ...] = ()


HAIRCUT = DemoProduct(
    slug="haircut",
    name="Haircut",
    category="wellness-hair",
    description="A cut or a colour with one of our stylists. Free to move or cancel up to a day "
    "before.",
    variants=(
        ("HAIRCUT-CUT", "Cut", "35.00", 45, 0),
        ("HAIRCUT-COLOUR", "Colour", "80.00", 90, 0),
    ),
    kind=ProductKind.SERVICE,
    settings={
        "buffer_before_minutes": 0,
        "buffer_after_minutes": 10,
        "slot_interval_minutes": 15,
        "minimum_notice_minutes": 120,
        "maximum_advance_days": 60,
        "seats_per_slot": 1,
        "cancellation_window_hours": 24,
    },
    resources=tuple(STYLISTS),
)
YOGA = DemoProduct(
    slug="yoga-class",
    name="Yoga Class",
    category="wellness-studio",
    description="An hour of yoga for every level, twelve mats in the studio.",
    variants=(("YOGA-CLASS-DROP-IN", "Drop-in", "18.00", 60, 0),),
    kind=ProductKind.SERVICE,
    settings={
        "buffer_before_minutes": 0,
        "buffer_after_minutes": 0,
        "slot_interval_minutes": 60,
        "minimum_notice_minutes": 60,
        "maximum_advance_days": 30,
        "seats_per_slot": 12,
        "cancellation_window_hours": 12,
    },
    resources=(STUDIO,),
)
HAIR_DRYER = DemoProduct(
    slug="ionic-hair-dryer",
    name="Ionic Hair Dryer",
    category="wellness-hair",
    description="The dryer our stylists use: 2000 W, three heats, a cool shot.",
    variants=(("IONIC-HAIR-DRYER-BLACK", "Black", "59.00", None, 25),),
)
PRODUCTS = (HAIRCUT, YOGA, HAIR_DRYER)

# Salon customers: demo accounts without a password (nobody signs in as them).
CUSTOMERS = {
    "ines": ("ines.moreau@salon.silkcart.test", "Inès", "Moreau"),
    "marco": ("marco.rossi@salon.silkcart.test", "Marco", "Rossi"),
    "sofia": ("sofia.lind@salon.silkcart.test", "Sofia", "Lind"),
    "tom": ("tom.baker@salon.silkcart.test", "Tom", "Baker"),
}


@dataclass(frozen=True)
class DemoBooking:
    """The first free slot of ``sku`` from ``days`` days ahead at ``at`` (salon time)."""

    key: str  # the idempotency key of its order
    customer: str
    sku: str
    resource: str
    days: int
    at: str
    seats: int = 1


BOOKINGS = (
    DemoBooking("demo-booking-1", "ines", "HAIRCUT-CUT", "Camille", 2, "10:00"),
    DemoBooking("demo-booking-2", "marco", "HAIRCUT-COLOUR", "Noah", 3, "14:00"),
    DemoBooking("demo-booking-3", "sofia", "HAIRCUT-CUT", "Noah", 6, "11:00"),
    DemoBooking("demo-booking-4", "tom", "HAIRCUT-CUT", "Camille", 9, "16:30"),
    DemoBooking("demo-booking-5", "ines", "HAIRCUT-COLOUR", "Camille", 16, "09:30"),
    DemoBooking("demo-booking-6", "marco", "YOGA-CLASS-DROP-IN", STUDIO, 4, "00:00"),
    DemoBooking("demo-booking-7", "sofia", "YOGA-CLASS-DROP-IN", STUDIO, 4, "00:00", seats=2),
    DemoBooking("demo-booking-8", "tom", "YOGA-CLASS-DROP-IN", STUDIO, 11, "00:00"),
)


@dataclass(frozen=True)
class SalonSeeded:
    resources: int
    bookings: int  # demo bookings that exist
    created: int  # of which this run placed


def seed_salon() -> SalonSeeded:
    """Make sure the salon, the studio, their services and the demo bookings exist."""
    with transaction.atomic():
        _categories()
        resources = {name: _resource(name, Resource.Kind.STAFF, STYLIST_HOURS) for name in STYLISTS}
        resources[STUDIO] = _resource(STUDIO, Resource.Kind.ROOM, STUDIO_HOURS)
        for demo in PRODUCTS:
            _product(demo, resources)
        customers = {name: _customer(*details) for name, details in CUSTOMERS.items()}
    created = sum(_book(demo, customers, resources) for demo in BOOKINGS)
    existing = Order.objects.filter(
        buyer_key__in=[buyer_key(user=user) for user in customers.values()],
        idempotency_key__in=[demo.key for demo in BOOKINGS],
    ).count()
    return SalonSeeded(resources=len(resources), bookings=existing, created=created)


def _categories() -> None:
    top, _ = Category.objects.update_or_create(
        slug="wellness",
        defaults={"name": "Wellness", "parent": None, "description": "Wellness at SilkCart."},
    )
    for name in ("Hair", "Studio"):
        Category.objects.update_or_create(
            slug=f"wellness-{name.lower()}",
            defaults={"name": name, "parent": top, "description": f"{name} at SilkCart."},
        )


def _resource(name: str, kind: str, hours: list[Opening]) -> Resource:
    """The resource, restored to the demo's kind, zone and hours (written by the services)."""
    resource = Resource.objects.filter(name=name, kind=kind).order_by("pk").first()
    if resource is None:
        resource = booking_services.resource_create(name=name, kind=kind, time_zone=SALON_ZONE)
    elif resource.time_zone != SALON_ZONE or not resource.is_active:
        resource = booking_services.resource_update(
            resource=resource, time_zone=SALON_ZONE, is_active=True
        )
    current = sorted(
        (row.weekday, f"{row.start:%H:%M}", f"{row.end:%H:%M}")
        for row in resource.weekly_hours.all()
    )
    if current != sorted((o.weekday, o.start, o.end) for o in hours):
        booking_services.resource_weekly_hours_set(resource=resource, hours=hours)
    return resource


def _product(demo: DemoProduct, resources: dict[str, Resource]) -> Product:
    product, _ = Product.objects.update_or_create(
        slug=demo.slug,
        defaults={
            "name": demo.name,
            "kind": demo.kind,
            "category": Category.objects.get(slug=demo.category),
            "is_active": True,
            "description": demo.description,
        },
    )
    for sku, name, price, minutes, stock in demo.variants:
        ProductVariant.objects.update_or_create(
            sku=sku,
            defaults={
                "product": product,
                "name": name,
                "is_active": True,
                "price": Decimal(price),
                "duration_minutes": minutes,
                "stock_quantity": stock,
            },
        )
    if demo.settings is not None:
        booking_services.service_settings_set(
            product=product,
            values=demo.settings,
            resources=[resources[name] for name in demo.resources],
        )
    if not product.images.exists():
        image = ProductImage(product=product, alt=demo.name, sort_order=0)
        image.image.save(f"{demo.slug}.png", product_picture(demo.name, FAMILY), save=False)
        image.save()
    return product


def _customer(email: str, first_name: str, last_name: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User(email=email, first_name=first_name, last_name=last_name)
        user.set_unusable_password()
        user.save()
    return user


def _book(demo: DemoBooking, customers: dict[str, User], resources: dict[str, Resource]) -> int:
    """Place the demo booking as its customer would (cart, then checkout); 1 if placed now."""
    user = customers[demo.customer]
    if Order.objects.filter(buyer_key=buyer_key(user=user), idempotency_key=demo.key).exists():
        return 0
    variant = ProductVariant.objects.select_related("product").get(sku=demo.sku)
    resource = resources[demo.resource]
    start = _first_free(variant, resource, demo)
    if start is None:  # the salon's calendar is full from then on: nothing to book
        return 0
    with transaction.atomic():
        cart = cart_lines_add(
            cart=None,
            user=user,
            lines=[NewLine(variant=variant, quantity=demo.seats, slot=Slot(start, resource))],
        )
        checkout_complete(
            user=user,
            cart=cart,
            payment_method=PaymentMethod.CARD_PLACEHOLDER,
            idempotency_key=demo.key,
            note="Demo booking.",
        )
    return 1


def _first_free(variant: ProductVariant, resource: Resource, demo: DemoBooking) -> datetime | None:
    """The first slot with ``demo.seats`` seats left from ``demo.days`` days ahead at
    ``demo.at``, salon time, within two weeks."""
    zone = ZoneInfo(SALON_ZONE)
    day = timezone.localdate(timezone.now(), zone) + timedelta(days=demo.days)
    since = datetime.combine(day, time.fromisoformat(demo.at), tzinfo=zone)
    slots = availability.available_slots(
        variant, start=since, end=since + timedelta(days=14), resource_ids=[resource.pk]
    )
    return next((slot.start for slot, _ in slots if slot.seats_left >= demo.seats), None)
