"""The floor: the catalog page as a plain Django JSON view, over the same data as GraphQL.

It answers what the `catalog` GraphQL operation asks for (the 20 newest active products with
their category name, price range over active variants, stock flag and first image), the way a
Django developer would write it by hand: one query with annotations, then ``JsonResponse``.
Served only when ``settings.BENCH_FLOOR_VIEW`` is true (``backend.settings.bench``).
"""

from base64 import b64encode

from django.core.files.storage import default_storage
from django.db.models import F, OuterRef, Subquery
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from apps.catalog.models import (
    Product,
    ProductImage,
    in_stock_expression,
    max_price_expression,
    min_price_expression,
)

PAGE_SIZE = 20


def _global_id(type_name: str, pk: int) -> str:
    return b64encode(f"{type_name}:{pk}".encode()).decode()


@require_safe
def catalog_floor(request: HttpRequest) -> JsonResponse:
    first_image = ProductImage.objects.filter(product=OuterRef("pk")).order_by("sort_order", "pk")
    rows = (
        Product.objects.active()
        .order_by("-created_at", "-id")
        .annotate(
            category_name=F("category__name"),
            min_price=min_price_expression(),
            max_price=max_price_expression(),
            has_stock=in_stock_expression(),
            image=Subquery(first_image.values("image")[:1]),
        )
        .values(
            "pk", "name", "slug", "category_name", "min_price", "max_price", "has_stock", "image"
        )[:PAGE_SIZE]
    )
    products = [
        {
            "id": _global_id("Product", row["pk"]),
            "name": row["name"],
            "slug": row["slug"],
            "category": {"name": row["category_name"]},
            "priceRange": {
                "start": {"amount": f"{row['min_price'] or 0:.2f}"},
                "stop": {"amount": f"{row['max_price'] or 0:.2f}"},
            },
            "inStock": row["has_stock"],
            "image": (
                request.build_absolute_uri(default_storage.url(row["image"]))
                if row["image"]
                else None
            ),
        }
        for row in rows
    ]
    return JsonResponse({"products": products})
