import io
from decimal import Decimal

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from strawberry.relay import to_base64

from apps.catalog.models import (
    Category,
    Product,
    ProductImage,
    ProductKind,
    ProductVariant,
    StockMovement,
)


def png_bytes(width: int = 4, height: int = 3, color: str = "red") -> bytes:
    """A real, tiny PNG image."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


def png_upload(name: str = "photo.png", **kwargs) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(**kwargs), content_type="image/png")


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    category = factory.SubFactory(CategoryFactory)
    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    description = "A fine product."


class ServiceFactory(ProductFactory):
    """A product of kind SERVICE, without how it is booked: never shipped, no stock. A
    bookable one is ``tests.bookings.factories.ServiceFactory`` (or ``service_variant()``)."""

    kind = ProductKind.SERVICE
    name = factory.Sequence(lambda n: f"Service {n}")


class ProductVariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductVariant

    product = factory.SubFactory(ProductFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = "Default"
    price = Decimal("19.99")
    stock_quantity = 10


class ProductImageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductImage

    product = factory.SubFactory(ProductFactory)
    image = factory.LazyFunction(lambda: png_upload("image.png"))
    alt = factory.Sequence(lambda n: f"Image {n}")
    sort_order = factory.Sequence(lambda n: n)


# --- Helpers shared by the catalog tests ------------------------------------------------------


def global_id(obj) -> str:
    """The Relay global id of a catalog object, as the API shows it."""
    type_name = {
        Category: "Category",
        Product: "Product",
        ProductVariant: "ProductVariant",
        ProductImage: "ProductImage",
    }[type(obj)]
    return to_base64(type_name, obj.pk)


def catalog_snapshot() -> dict[str, list[dict]]:
    """Every catalog row with every column, to assert that nothing changed."""
    return {
        model.__name__: list(model.objects.order_by("pk").values())
        for model in (Category, Product, ProductVariant, ProductImage, StockMovement)
    }


def service_variant(price: str = "45.00", **kwargs) -> ProductVariant:
    """A variant of a bookable service (a 45-minute cut): no stock, nothing to ship, slots
    every 15 minutes on a resource open every day (``tests.bookings.factories``). Settings go
    through ``product__settings__...``, e.g. ``product__settings__seats_per_slot=3``."""
    from tests.bookings.factories import ServiceVariantFactory

    return ServiceVariantFactory(price=Decimal(price), **kwargs)
