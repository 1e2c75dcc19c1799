import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.accounts.factories import UserFactory
from tests.catalog.factories import ProductFactory, ProductVariantFactory, global_id
from tests.conftest import GraphQLClient

LOW_STOCK = """
query($threshold: Int, $first: Int, $after: String) {
  lowStockVariants(threshold: $threshold, first: $first, after: $after) {
    totalCount
    edges { node { sku quantityAvailable } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
DEFAULT_THRESHOLD = "{ lowStockVariants { totalCount edges { node { sku } } } }"
EMPTY = {"totalCount": 0, "edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}


@pytest.fixture
def shelf(db):
    """Variants on sale with 0, 0, 2, 5, 6 and 40 units, and low ones that are not on sale."""
    on_sale = {
        sku: ProductVariantFactory(sku=sku, stock_quantity=stock)
        for sku, stock in [
            ("SIX", 6),
            ("ZERO-A", 0),
            ("FIVE", 5),
            ("PLENTY", 40),
            ("TWO", 2),
            ("ZERO-B", 0),
        ]
    }
    ProductVariantFactory(sku="HIDDEN-VARIANT", stock_quantity=0, is_active=False)
    ProductVariantFactory(
        sku="HIDDEN-PRODUCT", stock_quantity=1, product=ProductFactory(is_active=False)
    )
    return on_sale


def skus(api: GraphQLClient, **variables) -> list[str]:
    page = api(LOW_STOCK, variables).data["lowStockVariants"]
    found = [edge["node"]["sku"] for edge in page["edges"]]
    assert page["totalCount"] == len(found)
    return found


def test_low_stock_lists_fewest_first_up_to_5_by_default(admin_gql, shelf):
    assert admin_gql(DEFAULT_THRESHOLD).data["lowStockVariants"] == {
        "totalCount": 4,
        "edges": [
            {"node": {"sku": "ZERO-A"}},
            {"node": {"sku": "ZERO-B"}},  # same stock: the older variant first
            {"node": {"sku": "TWO"}},
            {"node": {"sku": "FIVE"}},
        ],
    }


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        (0, ["ZERO-A", "ZERO-B"]),
        (1, ["ZERO-A", "ZERO-B"]),
        (2, ["ZERO-A", "ZERO-B", "TWO"]),
        (5, ["ZERO-A", "ZERO-B", "TWO", "FIVE"]),
        (6, ["ZERO-A", "ZERO-B", "TWO", "FIVE", "SIX"]),
        (1000, ["ZERO-A", "ZERO-B", "TWO", "FIVE", "SIX", "PLENTY"]),
    ],
)
def test_low_stock_threshold_is_inclusive(admin_gql, shelf, threshold, expected):
    assert skus(admin_gql, threshold=threshold) == expected


def test_low_stock_leaves_out_inactive_variants_and_variants_of_inactive_products(admin_gql, shelf):
    found = skus(admin_gql, threshold=1000)

    assert "HIDDEN-VARIANT" not in found
    assert "HIDDEN-PRODUCT" not in found


def test_low_stock_shows_the_quantity(admin_gql, shelf):
    page = admin_gql(LOW_STOCK, {"threshold": 2}).data["lowStockVariants"]

    assert [edge["node"] for edge in page["edges"]] == [
        {"sku": "ZERO-A", "quantityAvailable": 0},
        {"sku": "ZERO-B", "quantityAvailable": 0},
        {"sku": "TWO", "quantityAvailable": 2},
    ]


def test_low_stock_pages(admin_gql, shelf):
    first = admin_gql(LOW_STOCK, {"first": 3}).data["lowStockVariants"]
    after = first["pageInfo"]["endCursor"]
    second = admin_gql(LOW_STOCK, {"first": 3, "after": after}).data["lowStockVariants"]

    assert [e["node"]["sku"] for e in first["edges"]] == ["ZERO-A", "ZERO-B", "TWO"]
    assert [e["node"]["sku"] for e in second["edges"]] == ["FIVE"]
    assert (first["totalCount"], second["totalCount"]) == (4, 4)
    assert (first["pageInfo"]["hasNextPage"], second["pageInfo"]["hasNextPage"]) == (True, False)


def test_a_negative_threshold_is_invalid(admin_gql, shelf):
    response = admin_gql(LOW_STOCK, {"threshold": -1})

    assert response.body["data"] is None
    assert [(e["message"], e["path"], e["extensions"]["code"]) for e in response.errors] == [
        ("The threshold cannot be negative.", ["lowStockVariants"], "invalid")
    ]


def test_low_stock_costs_the_same_queries_for_two_and_for_twenty_variants(admin_gql, shelf):
    query = (
        "{ lowStockVariants(first: 100) { totalCount edges { node { sku product { name } } } } }"
    )

    with CaptureQueriesContext(connection) as few:
        admin_gql(query).data  # noqa: B018 - asserts that there is no error
    for _ in range(16):
        ProductVariantFactory(stock_quantity=1)
    with CaptureQueriesContext(connection) as many:
        assert admin_gql(query).data["lowStockVariants"]["totalCount"] == 20

    assert len(many) == len(few)


def test_the_variant_id_resolves_to_the_variant(admin_gql, shelf):
    page = admin_gql("{ lowStockVariants(threshold: 0) { edges { node { id } } } }").data

    assert [e["node"]["id"] for e in page["lowStockVariants"]["edges"]] == [
        global_id(shelf["ZERO-A"]),
        global_id(shelf["ZERO-B"]),
    ]


# --- Without the permission: an empty connection ---------------------------------------------


def test_anonymous_get_an_empty_connection(gql, shelf):
    assert gql(LOW_STOCK).data == {"lowStockVariants": EMPTY}


def test_a_customer_gets_an_empty_connection(customer_gql, shelf):
    assert customer_gql(LOW_STOCK, {"threshold": 100}).data == {"lowStockVariants": EMPTY}


def test_a_staff_member_without_a_role_gets_an_empty_connection(shelf):
    clerk = GraphQLClient().login(UserFactory(is_staff=True))

    assert clerk(LOW_STOCK).data == {"lowStockVariants": EMPTY}


@pytest.mark.parametrize("group", ["Catalog manager", "Order manager"])
def test_catalog_and_order_managers_see_low_stock(shelf, group):
    manager = UserFactory(is_staff=True)
    manager.groups.add(Group.objects.get(name=group))

    assert skus(GraphQLClient().login(manager)) == ["ZERO-A", "ZERO-B", "TWO", "FIVE"]
