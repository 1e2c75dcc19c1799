from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
import strawberry_django
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Max, Min, Q, QuerySet
from strawberry import auto, relay

from api.fields import django_field, django_type
from api.rows import register_reader, resolves_rows
from api.types import CountableConnection, Money, StablyOrderedField, node_pk, search_text
from apps.core.visibility import visible_to

from . import rows
from .models import (
    Category,
    Product,
    ProductImage,
    ProductKind,
    ProductVariant,
    in_stock_condition,
    in_stock_expression,
    max_price_expression,
    min_price_expression,
    priced_between_expression,
)

if TYPE_CHECKING:
    from apps.bookings.types import ServiceSettingsType

# Bookings are a layer above the catalog: reached through strawberry.lazy only.
ServiceSettingsRef = Annotated["ServiceSettingsType", strawberry.lazy("apps.bookings.types")]


def _viewer(info: strawberry.Info):
    return info.context.request.user


ProductKindEnum = strawberry.enum(
    ProductKind,
    name="ProductKind",
    description="Goods ship and are counted in stock; services are booked.",
)


@strawberry.type
class PriceRange:
    start: Money
    stop: Money


# --- Filters and ordering ------------------------------------------------------------------


def _category_pk(gid: relay.GlobalID) -> int | None:
    return node_pk(gid, "Category")


def _in_categories(prefix: str, pks: list[int]) -> Q:
    return Q(**{f"{prefix}category_id__in": Category.objects.descendant_ids(pks)})


@strawberry_django.filter_type(Product, name="ProductFilter")
class ProductFilter:
    """Catalog filters; a category includes the categories below it."""

    @strawberry_django.filter_field(description="Full-text search on name and description.")
    def search(self, queryset: QuerySet[Product], value: str, prefix: str):
        return queryset.search(search_text(value)), Q()

    @strawberry_django.filter_field
    def category_id(self, queryset: QuerySet[Product], value: relay.GlobalID, prefix: str):
        pk = _category_pk(value)
        return queryset, _in_categories(prefix, [pk] if pk else [])

    @strawberry_django.filter_field
    def category_slug(self, queryset: QuerySet[Product], value: str, prefix: str):
        pks = list(Category.objects.filter(slug=value).values_list("pk", flat=True))
        return queryset, _in_categories(prefix, pks)

    @strawberry_django.filter_field(description="At least one variant costs this much or more.")
    def price_min(self, queryset: QuerySet[Product], value: Decimal, prefix: str):
        high = self.price_max if isinstance(self.price_max, Decimal) else None
        return queryset, Q(priced_between_expression(value, high))

    @strawberry_django.filter_field(description="At least one variant costs this much or less.")
    def price_max(self, queryset: QuerySet[Product], value: Decimal, prefix: str):
        if isinstance(self.price_min, Decimal):  # applied together by price_min
            return queryset, Q()
        return queryset, Q(priced_between_expression(None, value))

    @strawberry_django.filter_field
    def in_stock(self, queryset: QuerySet[Product], value: bool, prefix: str):
        return queryset, Q(in_stock_condition()) if value else ~Q(in_stock_condition())


@strawberry_django.order_type(Product, name="ProductOrder")
class ProductOrder:
    name: auto
    created_at: auto

    @strawberry_django.order_field
    def price(
        self, info: strawberry.Info, queryset: QuerySet[Product], prefix: str, value: auto
    ) -> tuple[QuerySet[Product], list]:
        queryset = queryset.annotate(_order_price=min_price_expression())
        return queryset, [value.resolve("_order_price")]


@strawberry_django.filter_type(Category, name="CategoryFilter")
class CategoryFilter:
    @strawberry_django.filter_field(description="Children of this category; roots when null.")
    def parent(self, queryset: QuerySet[Category], value: relay.GlobalID, prefix: str):
        return queryset, Q(parent_id=_category_pk(value) or -1)

    @strawberry_django.filter_field
    def search(self, queryset: QuerySet[Category], value: str, prefix: str):
        return queryset, Q(name__icontains=search_text(value))


# --- Types -------------------------------------------------------------------------------------


@django_type(ProductImage, name="ProductImage")
@resolves_rows(ProductImage, rows.ProductImageRow)
class ProductImageType(relay.Node):
    id: relay.NodeID[int]
    alt: auto
    sort_order: auto
    width: auto
    height: auto

    # ImageField reads its dimension fields when a row loads: deferring them costs a query each.
    @django_field(only=["image", "width", "height"])
    def url(self, info: strawberry.Info) -> str:
        return info.context.request.build_absolute_uri(self.image.url)

    @classmethod
    def get_queryset(cls, queryset: QuerySet[ProductImage], info: strawberry.Info, **kwargs):
        # Inactive rows: only for who holds the model's view permission (catalog staff).
        return visible_to(_viewer(info), queryset, public=Q(product__is_active=True))


@django_type(ProductVariant, name="ProductVariant")
class ProductVariantType(relay.Node):
    id: relay.NodeID[int]
    sku: auto
    name: auto
    is_active: auto
    duration_minutes: int | None = django_field(description="Services only: minutes it lasts.")
    product: "ProductType"

    @django_field(only=["price"])
    def price(self) -> Money:
        return Money.of(self.price)

    @django_field(only=["stock_quantity"])
    def quantity_available(self) -> int:
        return self.stock_quantity

    @django_field(only=["stock_quantity", "is_active", "product__kind"], select_related=["product"])
    def in_stock(self) -> bool:
        return self.in_stock

    @classmethod
    def get_queryset(cls, queryset: QuerySet[ProductVariant], info: strawberry.Info, **kwargs):
        return visible_to(
            _viewer(info), queryset, public=Q(is_active=True, product__is_active=True)
        )


@django_type(Product, name="Product")
@resolves_rows(Product, rows.ProductRow)
class ProductType(relay.Node):
    id: relay.NodeID[int]
    kind: ProductKindEnum
    name: auto
    slug: auto
    description: auto
    category: "CategoryType"
    images: list[ProductImageType]
    variants: list[ProductVariantType]
    is_active: auto
    created_at: auto
    updated_at: auto

    @django_field(
        annotate={"min_price": min_price_expression(), "max_price": max_price_expression()}
    )
    def price_range(self) -> PriceRange:
        if hasattr(self, "min_price"):
            low, high = self.min_price, self.max_price
        else:  # not loaded by a query, e.g. the product a mutation returns
            prices = self.variants.filter(is_active=True).aggregate(
                low=Min("price"), high=Max("price")
            )
            low, high = prices["low"], prices["high"]
        return PriceRange(
            start=Money.of(low or Decimal("0.00")), stop=Money.of(high or Decimal("0.00"))
        )

    @django_field(annotate={"has_stock": in_stock_expression()})
    def in_stock(self) -> bool:
        if hasattr(self, "has_stock"):
            return self.has_stock
        # not loaded by a query, e.g. the product a mutation returns
        variants = self.variants.filter(is_active=True)
        if ProductKind(self.kind).tracks_stock:
            variants = variants.filter(stock_quantity__gt=0)
        return variants.exists()

    @django_field(
        select_related=["service_settings"],
        description="How the service is booked; null for goods.",
    )
    def service(self) -> ServiceSettingsRef | None:
        try:
            return self.service_settings
        except ObjectDoesNotExist:
            return None

    @classmethod
    def get_queryset(cls, queryset: QuerySet[Product], info: strawberry.Info, **kwargs):
        return visible_to(_viewer(info), queryset, public=Q(is_active=True))


@django_type(Category, name="Category")
@resolves_rows(Category, rows.CategoryRow)
class CategoryType(relay.Node):
    id: relay.NodeID[int]
    name: auto
    slug: auto
    description: auto
    parent: "CategoryType | None"
    children: list["CategoryType"]

    @strawberry_django.connection(
        CountableConnection[ProductType],
        filters=ProductFilter,
        ordering=ProductOrder,
        field_cls=StablyOrderedField,
        description="Visible products of this category and of the categories below it.",
    )
    def products(self) -> QuerySet[Product]:
        return Product.objects.in_categories([self.pk])


@register_reader(Product, rows.PRODUCT)
def _product_rows(products: QuerySet[Product], info: strawberry.Info, selections: list):
    images = ProductImageType.get_queryset(ProductImage.objects.all(), info)
    return rows.product_rows(products, images, selections)
