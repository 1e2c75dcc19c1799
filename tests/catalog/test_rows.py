"""The catalog page read as rows answers exactly what the model path answers."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.models.signals import pre_init

from api import rows
from apps.catalog.models import Product
from apps.catalog.rows import PRODUCT
from tests.bookings.factories import ServiceFactory, ServiceVariantFactory
from tests.catalog.factories import (
    CategoryFactory,
    ProductFactory,
    ProductImageFactory,
    ProductVariantFactory,
    global_id,
)
from tests.catalog.test_queries import make_catalog


def selection(spec: rows.Spec) -> str:
    """Every field ``spec`` allows, as a GraphQL selection (``__typename`` on every object)."""
    fields = []
    for name, sub_spec in rows.shape(spec).items():
        fields.append(name if sub_spec is rows.LEAF else f"{name} {{ {selection(sub_spec)} }}")
    return " ".join([*fields, "__typename"])


# Every field the read model serves: a new entry of PRODUCT is compared with the model path.
EVERY_ROW_FIELD = selection(PRODUCT)

PAGE = f"""
query Page(
  $filters: ProductFilter, $ordering: [ProductOrder!]! = [],
  $first: Int, $after: String, $last: Int, $before: String
) {{
  products(
    filters: $filters, ordering: $ordering,
    first: $first, after: $after, last: $last, before: $before
  ) {{
    totalCount
    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    edges {{ cursor node {{ {EVERY_ROW_FIELD} }} }}
  }}
}}
"""

FRAGMENTS = """
query {
  products(first: 10) {
    edges { node { ...card ... on Product { slug images { ...picture } } } }
  }
}
fragment card on Product { id name category { name } priceRange { start { amount } } }
fragment picture on ProductImage { url sortOrder }
"""

CATEGORY_PAGE = f"""
query($slug: String!) {{
  category(slug: $slug) {{
    name
    products(first: 10) {{ totalCount edges {{ node {{ {EVERY_ROW_FIELD} }} }} }}
  }}
}}
"""

WITH_VARIANTS = """
query { products(first: 10) { edges { node { name variants { sku } } } } }
"""


@pytest.fixture
def catalog(db):
    shop = make_catalog()
    for product, images in ((shop["pan"], 3), (shop["lamp"], 1), (shop["kettle"], 2)):
        for order in range(images):
            ProductImageFactory(product=product, sort_order=images - order, alt=f"view {order}")
    # a product with no variant at all: no price, not in stock
    ProductFactory(name="Empty Box", slug="empty-box", category=shop["home"])
    # a service: bookable (its settings, a resource, a duration), so in stock without stock
    haircut = ServiceFactory(name="Haircut", slug="haircut", category=shop["home"])
    ServiceVariantFactory(product=haircut, price=Decimal("45.00"))
    return shop


@pytest.fixture
def products_built():
    """How many Product instances the ORM builds while the block runs."""
    built = []

    def count(sender, **kwargs):
        built.append(sender)

    pre_init.connect(count, sender=Product)
    yield built
    pre_init.disconnect(count, sender=Product)


def by_both_paths(api, monkeypatch, query, variables=None):
    """The response with the read model, then without it (every connection on instances)."""
    as_rows = api(query, variables)
    with monkeypatch.context() as patch:
        patch.setattr(rows, "_readers", {})
        as_instances = api(query, variables)
    return as_rows.body, as_instances.body


@pytest.mark.parametrize("client", ["gql", "admin_gql"])
@pytest.mark.parametrize(
    "variables",
    [
        {},
        {"first": 3},
        {"first": 2, "after": "YXJyYXljb25uZWN0aW9uOjE="},
        {"last": 2},
        {"last": 2, "before": "YXJyYXljb25uZWN0aW9uOjM="},
        {"ordering": [{"price": "ASC"}]},
        {"ordering": [{"price": "DESC"}, {"name": "ASC"}], "first": 4},
        {"ordering": [{"name": "DESC"}]},
        {"filters": {"inStock": True}},
        {"filters": {"inStock": False}},
        {"filters": {"priceMin": "20.00", "priceMax": "45.00"}},
        {"filters": {"categorySlug": "home"}},
        {"filters": {"search": "tea"}},
    ],
)
def test_rows_answer_what_instances_answer(request, monkeypatch, catalog, client, variables):
    api = request.getfixturevalue(client)
    as_rows, as_instances = by_both_paths(api, monkeypatch, PAGE, variables)

    assert "errors" not in as_rows
    assert as_rows == as_instances


def test_rows_answer_what_instances_answer_through_fragments(gql, monkeypatch, catalog):
    as_rows, as_instances = by_both_paths(gql, monkeypatch, FRAGMENTS)

    assert "errors" not in as_rows
    assert as_rows == as_instances
    pan = next(
        edge["node"]
        for edge in as_rows["data"]["products"]["edges"]
        if edge["node"]["slug"] == "cast-iron-pan"
    )
    assert [image["sortOrder"] for image in pan["images"]] == [1, 2, 3]


@pytest.mark.parametrize("client", ["gql", "admin_gql"])
def test_category_products_as_rows_answer_what_instances_answer(
    request, monkeypatch, catalog, client
):
    api = request.getfixturevalue(client)
    as_rows, as_instances = by_both_paths(api, monkeypatch, CATEGORY_PAGE, {"slug": "home"})

    assert "errors" not in as_rows
    assert as_rows == as_instances
    assert as_rows["data"]["category"]["products"]["totalCount"] >= 3


def test_the_catalog_page_builds_no_model_instance(gql, catalog, products_built):
    response = gql(PAGE, {"first": 10})

    assert len(response.data["products"]["edges"]) == 7
    assert products_built == []


def test_a_selection_the_rows_cannot_serve_takes_the_model_path(gql, catalog, products_built):
    response = gql(WITH_VARIANTS)

    pan = next(
        e["node"]
        for e in response.data["products"]["edges"]
        if e["node"]["name"] == "Cast Iron Pan"
    )
    assert pan["variants"] == [{"sku": "PAN-1"}]
    assert len(products_built) == 7


def test_rows_keep_the_visibility_rules(gql, admin_gql, catalog):
    shopper = gql(PAGE, {"first": 20}).data["products"]
    staff = admin_gql(PAGE, {"first": 20}).data["products"]

    shopper_slugs = {edge["node"]["slug"] for edge in shopper["edges"]}
    staff_slugs = {edge["node"]["slug"] for edge in staff["edges"]}
    assert "hidden-kettle" not in shopper_slugs
    assert "hidden-kettle" in staff_slugs
    kettle = next(e["node"] for e in staff["edges"] if e["node"]["slug"] == "hidden-kettle")
    assert kettle["isActive"] is False
    assert len(kettle["images"]) == 2
    assert shopper["totalCount"] == 7
    assert staff["totalCount"] == 8


def test_a_product_without_variants_has_a_zero_price_range_and_no_stock(gql, catalog):
    nodes = [edge["node"] for edge in gql(PAGE, {"first": 20}).data["products"]["edges"]]

    box = next(node for node in nodes if node["slug"] == "empty-box")
    zero = {"amount": "0.00", "currency": "USD", "__typename": "Money"}
    assert box["priceRange"] == {"start": zero, "stop": zero, "__typename": "PriceRange"}
    assert box["inStock"] is False
    assert box["images"] == []


def test_a_service_is_in_stock_without_stock(gql, catalog):
    nodes = [edge["node"] for edge in gql(PAGE, {"first": 20}).data["products"]["edges"]]

    haircut = next(node for node in nodes if node["slug"] == "haircut")
    assert (haircut["kind"], haircut["inStock"]) == ("SERVICE", True)
    assert {node["kind"] for node in nodes if node["slug"] != "haircut"} == {"GOODS"}


def test_row_ids_are_the_global_ids_the_node_field_resolves(gql, catalog):
    nodes = [edge["node"] for edge in gql(PAGE, {"first": 20}).data["products"]["edges"]]
    pan = next(node for node in nodes if node["slug"] == "cast-iron-pan")

    assert pan["id"] == global_id(catalog["pan"])
    assert pan["category"]["id"] == global_id(catalog["cookware"])
    found = gql("query($id: ID!) { node(id: $id) { ... on Product { slug } } }", {"id": pan["id"]})
    assert found.data["node"] == {"slug": "cast-iron-pan"}


def test_the_catalog_page_is_one_query_on_postgresql_whatever_its_size(
    gql, django_assert_num_queries
):
    category = CategoryFactory()
    for index in range(30):
        product = ProductFactory(category=category)
        ProductVariantFactory(product=product, price=Decimal("5.00") + index)
        ProductImageFactory(product=product)
        ProductImageFactory(product=product)
    query = (
        "query($first: Int) { products(first: $first) { edges { node { "
        + EVERY_ROW_FIELD
        + " } } } }"
    )
    expected = 1 if connection.vendor == "postgresql" else 2  # images in a second query

    with django_assert_num_queries(expected):
        small = gql(query, {"first": 5})
    with django_assert_num_queries(expected):
        large = gql(query, {"first": 30})

    assert len(small.data["products"]["edges"]) == 5
    assert len(large.data["products"]["edges"]) == 30
    assert all(len(edge["node"]["images"]) == 2 for edge in large.data["products"]["edges"])
