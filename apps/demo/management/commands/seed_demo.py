"""Demo data for development: a category tree, products with variants, stock and a picture,
two accounts, a salon and a studio whose services customers have booked
(``apps/demo/bookings.py``), and two couriers with deliveries in every state
(``apps/demo/delivery.py``). ``--orders N`` and ``--bookings N`` add a year of history in bulk:
orders of goods with their deliveries (``apps/demo/orders.py``), past bookings of the salon
(``apps/demo/salon_history.py``).

Idempotent: running it again updates the same rows (matched by slug, SKU and email) and adds no
booking, order or delivery.
"""

import random
from decimal import Decimal

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.accounts.models import Address, User
from apps.catalog.models import Category, Product, ProductImage, ProductVariant
from apps.demo.accounts import DEMO_ADMIN, DEMO_CUSTOMER
from apps.demo.bookings import seed_salon
from apps.demo.delivery import COURIERS, seed_deliveries
from apps.demo.images import product_picture
from apps.demo.orders import seed_orders
from apps.demo.salon_history import seed_bookings

__all__ = ["DEMO_ADMIN", "DEMO_CUSTOMER", "Command"]

TREE = {
    "Clothing": {
        "Men": ["Shirt", "Jacket", "Chinos", "Sweater"],
        "Women": ["Dress", "Blouse", "Skirt", "Cardigan"],
    },
    "Home": {
        "Kitchen": ["Chef's Knife", "Cast Iron Pan", "Teapot", "Cutting Board"],
        "Decor": ["Table Lamp", "Throw Pillow", "Wall Clock", "Vase"],
    },
    "Electronics": {
        "Audio": ["Headphones", "Bluetooth Speaker", "Earbuds", "Turntable"],
        "Accessories": ["Phone Case", "USB-C Cable", "Power Bank", "Laptop Sleeve"],
    },
}
ADJECTIVES = ["Classic", "Silk", "Everyday", "Premium", "Heritage", "Urban"]
VARIANT_AXES = {
    "Clothing": ["S", "M", "L", "XL"],
    "Home": ["Ivory", "Charcoal", "Sage", "Terracotta"],
    "Electronics": ["Black", "White", "Silver", "Blue"],
}


class Command(BaseCommand):
    help = (
        "Create or refresh the demo catalog, the demo customer and admin accounts, the demo "
        "salon with its bookings, and the demo couriers with their deliveries; --orders N also "
        "makes sure N demo orders (with their deliveries) exist over the last year, --bookings N "
        "that N past demo bookings of the salon do."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--orders", type=int, default=0, help="Demo orders to have (bulk inserted)."
        )
        parser.add_argument(
            "--bookings",
            type=int,
            default=0,
            help="Past demo bookings of the salon to have (bulk inserted).",
        )

    def handle(self, *args, orders: int = 0, bookings: int = 0, **options) -> None:
        if orders < 0:
            raise CommandError("--orders cannot be negative.")
        if bookings < 0:
            raise CommandError("--bookings cannot be negative.")
        with transaction.atomic():
            self._catalog(random.Random(2026))  # noqa: S311 - demo data
            self._accounts()
        salon = seed_salon()
        deliveries = seed_deliveries()
        if orders:
            created = seed_orders(count=orders)
            self.stdout.write(f"Demo orders: {created} created, {orders} in all.")
        if bookings:
            created = seed_bookings(count=bookings)
            self.stdout.write(f"Demo past bookings: {created} created, {bookings} in all.")
        courier, rider = COURIERS
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {Category.objects.count()} categories, "
                f"{Product.objects.count()} products, "
                f"{ProductVariant.objects.count()} variants.\n"
                f"  salon: {salon.resources} resources, {salon.bookings} demo bookings "
                f"({salon.created} placed now)\n"
                f"  deliveries: {deliveries.couriers} couriers, {deliveries.orders} demo orders "
                f"({deliveries.created} placed now)\n"
                f"  customer: {DEMO_CUSTOMER[0]} / {DEMO_CUSTOMER[1]}\n"
                f"  admin:    {DEMO_ADMIN[0]} / {DEMO_ADMIN[1]}\n"
                f"  courier:  {courier.email} / {courier.password}\n"
                f"  courier:  {rider.email} / {rider.password}"
            )
        )

    def _category(self, name: str, slug: str, parent: Category | None) -> Category:
        category, _ = Category.objects.update_or_create(
            slug=slug,
            defaults={"name": name, "parent": parent, "description": f"{name} at SilkCart."},
        )
        return category

    def _catalog(self, rng: random.Random) -> int:
        count = 0
        for top_name, children in TREE.items():
            top = self._category(top_name, top_name.lower(), None)
            for child_name, nouns in children.items():
                child = self._category(child_name, f"{top.slug}-{child_name.lower()}", top)
                for noun in nouns:
                    for adjective in rng.sample(ADJECTIVES, 3):
                        self._product(rng, child, top_name, f"{adjective} {noun}")
                        count += 1
        return count

    def _product(self, rng: random.Random, category: Category, family: str, name: str) -> None:
        slug = name.lower().replace("'", "").replace(" ", "-")
        product, _ = Product.objects.update_or_create(
            slug=slug,
            defaults={
                "name": name,
                "category": category,
                "is_active": True,
                "description": f"The {name.lower()}: made to last, chosen by SilkCart.",
            },
        )
        base = Decimal(rng.randrange(900, 19900)) / 100
        for index, option in enumerate(VARIANT_AXES[family][: rng.randint(1, 4)]):
            ProductVariant.objects.update_or_create(
                sku=f"{slug[:40].upper()}-{option.upper()}",
                defaults={
                    "product": product,
                    "name": option,
                    "is_active": True,
                    "price": base + index * Decimal("5.00"),
                    "stock_quantity": rng.choice([0, 3, 8, 15, 40, 120]),
                },
            )
        if not product.images.exists():
            image = ProductImage(product=product, alt=name, sort_order=0)
            picture = product_picture(name, family)
            image.image.save(f"{slug}.png", picture, save=False)
            image.save()

    def _accounts(self) -> None:
        customer = self._user(DEMO_CUSTOMER, first_name="Casey", last_name="Customer")
        if not customer.addresses.exists():
            address = Address.objects.create(
                user=customer,
                full_name="Casey Customer",
                line1="1 Market Street",
                city="San Francisco",
                region="CA",
                postal_code="94105",
                country="US",
            )
            customer.default_shipping_address = customer.default_billing_address = address
            customer.save(update_fields=["default_shipping_address", "default_billing_address"])
        admin = self._user(
            DEMO_ADMIN, first_name="Ada", last_name="Admin", is_staff=True, is_superuser=True
        )
        admin.groups.add(Group.objects.get(name="Store admin"))

    def _user(self, credentials: tuple[str, str], **fields) -> User:
        email, password = credentials
        user = User.objects.filter(email=email).first() or User(email=email)
        for name, value in fields.items():
            setattr(user, name, value)
        user.set_password(password)
        user.save()
        return user
