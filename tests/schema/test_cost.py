"""The cost limit: a document that asks for too much is refused before anything runs."""

import pytest
from graphql import parse

from schema.cost import LIST_FACTOR, document_cost
from schema.schema import schema

PRODUCTS_OF_CATEGORIES = "products(first: 100) { edges { node { name category { products(first: 100) { edges { node { name slug description } } } } } } }"
BOMB = "{ " + " ".join(f"a{n}: {PRODUCTS_OF_CATEGORIES}" for n in range(30)) + " }"


def cost(query: str, **variables) -> int:
    return document_cost(schema._schema, parse(query), variables=variables)


def test_every_field_costs_one():
    assert cost("{ me { email firstName } }") == 3


def test_a_connection_multiplies_its_page_by_the_page_size_asked_for():
    # products 1 + 5 x (edges 1 + node 1 + name 1) + totalCount 1
    assert cost("{ products(first: 5) { totalCount edges { node { name } } } }") == 1 + 5 * 3 + 1
    assert cost("{ products(last: 7) { edges { cursor } } }") == 1 + 7 * 2


def test_a_connection_without_a_size_counts_the_default_page(settings):
    settings.GRAPHQL_DEFAULT_PAGE_SIZE = 20
    assert cost("{ products { edges { node { name } } } }") == 1 + 20 * 3


def test_a_page_size_in_a_variable_counts():
    query = "query($n: Int) { products(first: $n) { edges { node { name } } } }"
    assert cost(query, n=50) == 1 + 50 * 3


def test_a_plain_list_counts_as_several_items():
    query = '{ product(slug: "x") { variants { sku } } }'
    assert cost(query) == 1 + (1 + LIST_FACTOR * 1)


def test_fragments_count_where_they_are_spread_and_introspection_is_free():
    query = """
    { product(slug: "x") { ...card } p2: product(slug: "y") { ...card } __typename }
    fragment card on Product { name slug }
    """
    assert cost(query) == 2 * (1 + 2)
    assert cost("{ __schema { types { name fields { name args { name } } } } }") == 0


def test_the_nested_alias_bomb_costs_millions():
    assert cost(BOMB) > 1_000_000


def test_the_bomb_is_refused_before_anything_runs(gql, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = gql(BOMB)

    assert response.status_code == 200
    assert response.body.get("data") is None
    (error,) = response.errors
    assert error["extensions"]["code"] == "query_too_complex"
    assert error["extensions"]["cost"] == cost(BOMB)
    assert error["extensions"]["limit"] == 10000
    assert "too complex" in error["message"]


def test_staff_have_a_higher_limit(admin_gql, gql, settings):
    settings.GRAPHQL_MAX_COST, settings.GRAPHQL_MAX_COST_STAFF = 100, 1000
    query = "{ products(first: 50) { edges { node { name } } } }"  # 151

    assert gql(query).errors[0]["extensions"]["code"] == "query_too_complex"
    assert admin_gql(query).data == {"products": {"edges": []}}


@pytest.mark.parametrize(
    "query",
    [
        "{ products(first: 100) { totalCount edges { node { id name slug inStock "
        "priceRange { start { amount } stop { amount } } category { name } "
        "images { url alt } variants { id sku name price { amount } inStock } } } } }",
        '{ product(slug: "x") { name variants { sku price { amount } } images { url } '
        "category { name products(first: 10) { edges { node { name } } } } } }",
    ],
)
def test_a_storefront_s_heavy_pages_stay_under_the_public_limit(gql, query):
    assert cost(query) <= 10000
    assert not gql(query).errors
