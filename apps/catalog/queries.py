import strawberry
import strawberry_django
from django.db.models import QuerySet
from strawberry import relay
from strawberry_django.optimizer import optimize

from api.permissions import HasPerm
from api.types import CountableConnection, PublicError, StablyOrderedField, node_pk
from apps.core.errors import CoreErrorCode

from .models import Category, Product, ProductKind, ProductVariant
from .types import (
    CategoryFilter,
    CategoryType,
    ProductFilter,
    ProductOrder,
    ProductType,
    ProductVariantType,
)


def _one(info: strawberry.Info, type_, model, id: relay.GlobalID | None, slug: str | None):
    if (id is None) == (slug is None):
        raise PublicError("Give exactly one of id or slug.", code=CoreErrorCode.INVALID)
    queryset = model._default_manager.all()
    get_queryset = getattr(type_, "get_queryset", None)  # the type's visibility rule, if any
    if get_queryset is not None:
        queryset = get_queryset(queryset, info)
    if id is not None:
        pk = node_pk(id, type_.__strawberry_definition__.name)
        if pk is None:
            return None
        queryset = queryset.filter(pk=pk)
    else:
        queryset = queryset.filter(slug=slug)
    return optimize(queryset, info).first()


@strawberry.type
class CatalogQuery:
    products: CountableConnection[ProductType] = strawberry_django.connection(
        filters=ProductFilter,
        ordering=ProductOrder,
        field_cls=StablyOrderedField,
        description="The catalog, newest first unless `ordering` says otherwise.",
    )

    @strawberry_django.connection(
        CountableConnection[ProductVariantType],
        field_cls=StablyOrderedField,
        extensions=[HasPerm("catalog.view_productvariant")],
        description="Staff: goods variants on sale with at most `threshold` units, fewest first.",
    )
    def low_stock_variants(self, threshold: int = 5) -> QuerySet[ProductVariant]:
        if threshold < 0:
            raise PublicError("The threshold cannot be negative.", code=CoreErrorCode.INVALID)
        return (
            ProductVariant.objects.active()
            .filter(stock_quantity__lte=threshold, product__kind=ProductKind.GOODS)
            .order_by("stock_quantity", "pk")
        )

    @strawberry_django.field(description="Categories: the roots unless `filters.parent` is set.")
    def categories(
        self, info: strawberry.Info, filters: CategoryFilter | None = None
    ) -> list[CategoryType]:
        queryset = Category.objects.all()
        if filters is None or not filters.parent:
            queryset = queryset.filter(parent__isnull=True)
        if filters is not None:
            queryset = strawberry_django.filters.apply(filters, queryset, info)
        return optimize(queryset, info)

    @strawberry_django.field(description="A category by id or by slug.")
    def category(
        self, info: strawberry.Info, id: relay.GlobalID | None = None, slug: str | None = None
    ) -> CategoryType | None:
        return _one(info, CategoryType, Category, id, slug)

    @strawberry_django.field(description="A product by id or by slug.")
    def product(
        self, info: strawberry.Info, id: relay.GlobalID | None = None, slug: str | None = None
    ) -> ProductType | None:
        return _one(info, ProductType, Product, id, slug)
