import pytest

from apps.catalog.types import CategoryType, ProductImageType, ProductType, ProductVariantType
from schema.schema import schema  # noqa: F401  (builds the types' fields)


def basic(type_) -> dict[str, bool]:
    return {f.python_name: f.is_basic_field for f in type_.__strawberry_definition__.fields}


@pytest.mark.parametrize(
    ("type_", "name"),
    [
        (ProductType, "name"),  # a column
        (ProductType, "created_at"),
        (ProductType, "category"),  # a foreign key
        (ProductType, "price_range"),  # a method of the row, without info
        (ProductVariantType, "product"),
        (ProductVariantType, "quantity_available"),
        (CategoryType, "parent"),
    ],
)
def test_columns_foreign_keys_and_row_methods_take_the_basic_path(type_, name):
    assert basic(type_)[name] is True


@pytest.mark.parametrize(
    ("type_", "name"),
    [
        (ProductType, "images"),  # a list of related rows: the type's visibility rule applies
        (ProductType, "variants"),
        (CategoryType, "children"),
        (CategoryType, "products"),  # a connection with arguments
        (ProductImageType, "url"),  # needs the request
    ],
)
def test_related_lists_arguments_and_info_keep_the_full_path(type_, name):
    assert basic(type_)[name] is False


def test_basic_fields_resolve_plain_values(gql):
    from tests.catalog.factories import ProductFactory, ProductVariantFactory

    product = ProductFactory(name="Kettle")
    ProductVariantFactory(product=product, sku="K-1")

    response = gql(
        """{ products(first: 1) { edges { node { name category { name parent { name } }
        variants { sku product { name } } } } } }"""
    )

    node = response.data["products"]["edges"][0]["node"]
    assert node["name"] == "Kettle"
    assert node["category"] == {"name": product.category.name, "parent": None}
    assert node["variants"] == [{"sku": "K-1", "product": {"name": "Kettle"}}]
