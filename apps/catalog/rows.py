"""The catalog page as rows (``api.rows``): products with category, prices, stock, images.

One query on PostgreSQL whatever the page size (the category joined; prices, stock and images
as correlated subqueries, evaluated for the rows of the page only), two elsewhere (the images of
the page in a second query). Only the selected columns are read.
"""

import functools
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import OuterRef, QuerySet
from django.db.models.fields.files import FieldFile
from django.db.models.functions import JSONObject

from api.rows import LEAF, Row, RowsFromValues, Spec, selected, selected_names

from .models import (
    ProductImage,
    in_stock_expression,
    max_price_expression,
    min_price_expression,
)

_MONEY: Spec = {"amount": LEAF, "currency": LEAF}
PRODUCT: Spec = {
    "id": LEAF,
    "name": LEAF,
    "slug": LEAF,
    "description": LEAF,
    "isActive": LEAF,
    "createdAt": LEAF,
    "updatedAt": LEAF,
    "inStock": LEAF,
    "priceRange": {"start": _MONEY, "stop": _MONEY},
    "category": {"id": LEAF, "name": LEAF, "slug": LEAF, "description": LEAF},
    "images": {
        "id": LEAF,
        "url": LEAF,
        "alt": LEAF,
        "width": LEAF,
        "height": LEAF,
        "sortOrder": LEAF,
    },
}


class CategoryRow(Row):
    pass


class ProductImageRow(Row):
    pass


class ProductRow(Row):
    pass


# GraphQL field -> column, for the plain columns of each row.
_PRODUCT_COLUMNS = {
    "name": "name",
    "slug": "slug",
    "description": "description",
    "isActive": "is_active",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
}
_CATEGORY_COLUMNS = {"name": "name", "slug": "slug", "description": "description"}
_IMAGE_COLUMNS = {
    "id": "pk",
    "url": "image",
    "alt": "alt",
    "width": "width",
    "height": "height",
    "sortOrder": "sort_order",
}
_IMAGE_FIELD = ProductImage._meta.get_field("image")


@functools.cache
def _price_and_stock() -> dict[str, Any]:
    """The annotations, built once: ``annotate`` resolves a copy of them for each query."""
    return {
        "min_price": min_price_expression(),
        "max_price": max_price_expression(),
        "has_stock": in_stock_expression(),
    }


def _image_row(values: dict[str, Any]) -> ProductImageRow:
    if "image" in values:
        values["image"] = FieldFile(None, _IMAGE_FIELD, values["image"])
    return ProductImageRow(**values)


def product_rows(
    products: QuerySet, images: QuerySet[ProductImage], selections: list[Any]
) -> tuple[QuerySet, RowsFromValues]:
    """The values to page through and how a page of them becomes ``ProductRow``s.

    ``products`` keeps its filters, ordering and visibility; ``images`` is the image queryset
    the caller may see. The caller has checked ``selections`` against ``PRODUCT``.
    """
    names = selected_names(selections)
    columns = ["pk"] + [column for name, column in _PRODUCT_COLUMNS.items() if name in names]
    computed = []
    if "priceRange" in names:
        computed += ["min_price", "max_price"]
    if "inStock" in names:
        computed.append("has_stock")
    columns += computed
    annotations = {
        column: _price_and_stock()[column]
        for column in computed
        if column not in products.query.annotations
    }

    category_columns = {}
    if "category" in names:
        category_names = {
            name
            for category in selected(selections, "category")
            for name in selected_names(category.selections)
        }
        category_columns = {"category_id": "pk"} | {
            f"category__{column}": column
            for name, column in _CATEGORY_COLUMNS.items()
            if name in category_names
        }
        columns += category_columns

    with_images = "images" in names
    images_in_query = with_images and connection.vendor == "postgresql"
    image_columns = []
    if with_images:
        image_names = {
            name
            for image in selected(selections, "images")
            for name in selected_names(image.selections)
        }
        image_columns = [column for name, column in _IMAGE_COLUMNS.items() if name in image_names]
        image_columns = image_columns or ["pk"]  # only __typename
    if images_in_query:
        annotations["image_values"] = ArraySubquery(
            images.filter(product=OuterRef("pk")).values(
                json=JSONObject(**{column: column for column in image_columns})
            )
        )
        columns.append("image_values")
    if annotations:
        products = products.annotate(**annotations)
    values = products.values(*columns)

    def rows_from_values(page: list[dict[str, Any]]) -> list[Row]:
        rows = []
        for value in page:
            if category_columns:
                value["category"] = CategoryRow(
                    **{name: value.pop(column) for column, name in category_columns.items()}
                )
            if images_in_query:
                value["images"] = [_image_row(image) for image in value.pop("image_values")]
            rows.append(ProductRow(**value))
        if with_images and not images_in_query:
            by_product: dict[int, list[ProductImageRow]] = {row.pk: [] for row in rows}
            if by_product:
                page_images = images.filter(product_id__in=by_product).values(
                    "product_id", *image_columns
                )
                for image in page_images:
                    by_product[image.pop("product_id")].append(_image_row(image))
            for row in rows:
                row.images = by_product[row.pk]
        return rows

    return values, rows_from_values
