"""The catalog page as rows (``api.rows``): products with category, prices, stock, images.

One query on PostgreSQL whatever the page size (the category joined; prices, stock and images
as correlated subqueries, evaluated for the rows of the page only), two elsewhere (the images of
the page in a second query). Only the selected columns are read.
"""

from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import OuterRef, QuerySet
from django.db.models.fields.files import FieldFile
from django.db.models.functions import JSONObject

from api.rows import (
    LEAF,
    Column,
    Computed,
    Related,
    Row,
    RowsFromValues,
    Spec,
    columns,
    computed,
    selected,
    selected_names,
)

from .models import (
    ProductImage,
    in_stock_expression,
    max_price_expression,
    min_price_expression,
)

_MONEY: Spec = {"amount": LEAF, "currency": LEAF}

# The fields of the catalog page that rows serve, each with what it reads. ``ProductType``'s
# fields are all here or in ``OPTIMIZER_ONLY`` (tests/catalog/test_read_model.py), and the
# equivalence tests select every field here (tests/catalog/test_rows.py).
PRODUCT: Spec = {
    "id": Column("pk"),
    "kind": Column("kind"),
    "name": Column("name"),
    "slug": Column("slug"),
    "description": Column("description"),
    "isActive": Column("is_active"),
    "createdAt": Column("created_at"),
    "updatedAt": Column("updated_at"),
    # Built once: ``annotate`` resolves a copy of each expression for each query.
    "inStock": Computed({"has_stock": in_stock_expression()}),
    "priceRange": Computed(
        {"min_price": min_price_expression(), "max_price": max_price_expression()},
        fields={"start": _MONEY, "stop": _MONEY},
    ),
    "category": Related(
        "category",
        {
            "id": Column("pk"),
            "name": Column("name"),
            "slug": Column("slug"),
            "description": Column("description"),
        },
    ),
    "images": Related(
        "images",
        {
            "id": Column("pk"),
            "url": Column("image"),
            "alt": Column("alt"),
            "width": Column("width"),
            "height": Column("height"),
            "sortOrder": Column("sort_order"),
        },
    ),
}

# The fields of ``ProductType`` (and of the types PRODUCT reaches, by their path) that only the
# instance path serves, and why: a selection with any of them is read through the optimizer.
OPTIMIZER_ONLY: dict[str, str] = {
    "variants": (
        "a list with its own visibility rule (ProductVariantType.get_queryset) and the "
        "variant's fields; the catalog page shows prices and stock, not variants"
    ),
    "category.parent": "the category tree, walked by the category pages, not the catalog page",
    "category.children": "the category tree, walked by the category pages, not the catalog page",
    "category.products": "a connection of its own, with filters, ordering and pagination",
    "service": "a service's booking settings, for its product page, not the catalog page",
}


class CategoryRow(Row):
    pass


class ProductImageRow(Row):
    pass


class ProductRow(Row):
    pass


# GraphQL field -> column, derived from PRODUCT; the primary keys are always read.
_CATEGORY: Related = PRODUCT["category"]
_IMAGES: Related = PRODUCT["images"]
_PRODUCT_COLUMNS = {name: column for name, column in columns(PRODUCT).items() if column != "pk"}
_PRODUCT_COMPUTED = computed(PRODUCT)
_CATEGORY_COLUMNS = {
    name: column for name, column in columns(_CATEGORY.fields).items() if column != "pk"
}
_IMAGE_COLUMNS = columns(_IMAGES.fields)
_IMAGE_FIELD = ProductImage._meta.get_field("image")


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
    values_columns = ["pk"] + [column for name, column in _PRODUCT_COLUMNS.items() if name in names]
    annotations = {}
    for name, expressions in _PRODUCT_COMPUTED.items():
        if name in names:
            values_columns += expressions.keys()
            annotations |= {
                column: expression
                for column, expression in expressions.items()
                if column not in products.query.annotations
            }

    category_columns = {}
    if "category" in names:
        category_names = {
            name
            for category in selected(selections, "category")
            for name in selected_names(category.selections)
        }
        category_columns = {f"{_CATEGORY.name}_id": "pk"} | {
            f"{_CATEGORY.name}__{column}": column
            for name, column in _CATEGORY_COLUMNS.items()
            if name in category_names
        }
        values_columns += category_columns

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
        values_columns.append("image_values")
    if annotations:
        products = products.annotate(**annotations)
    values = products.values(*values_columns)
    category_attr, images_attr = _CATEGORY.name, _IMAGES.name  # the rows' attributes

    def rows_from_values(page: list[dict[str, Any]]) -> list[Row]:
        rows = []
        for value in page:
            if category_columns:
                value[category_attr] = CategoryRow(
                    **{name: value.pop(column) for column, name in category_columns.items()}
                )
            if images_in_query:
                value[images_attr] = [_image_row(image) for image in value.pop("image_values")]
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
                setattr(row, images_attr, by_product[row.pk])
        return rows

    return values, rows_from_values
