import json

import pytest
from django.test import Client

from apps.catalog import services
from tests.catalog.factories import ProductVariantFactory

CATALOG = "{ products(first: 5) { edges { node { name variants { quantityAvailable price { amount } } } } } }"


@pytest.fixture
def cached(settings):
    settings.CATALOG_CACHE = True
    settings.CATALOG_CACHE_TTL = 60


def post(client: Client, query: str, **headers):
    return client.post(
        "/graphql/", json.dumps({"query": query}), content_type="application/json", headers=headers
    )


def stock_of(response) -> int:
    node = response.json()["data"]["products"]["edges"][0]["node"]
    return node["variants"][0]["quantityAvailable"]


@pytest.mark.django_db(transaction=True)
def test_anonymous_catalog_reads_are_served_from_the_cache(cached, django_assert_num_queries):
    ProductVariantFactory(stock_quantity=7)
    client = Client()
    first = post(client, CATALOG)
    assert first["X-Cache"] == "MISS"
    with django_assert_num_queries(0):
        second = post(client, CATALOG)
    assert second["X-Cache"] == "HIT"
    assert second.content == first.content


@pytest.mark.django_db(transaction=True)
def test_a_stock_change_invalidates_the_cached_answer(cached):
    variant = ProductVariantFactory(stock_quantity=7)
    client = Client()
    assert stock_of(post(client, CATALOG)) == 7
    services.stock_update(variant=variant, delta=-2, reason="Damaged")
    fresh = post(client, CATALOG)
    assert fresh["X-Cache"] == "MISS"
    assert stock_of(fresh) == 5


@pytest.mark.django_db(transaction=True)
def test_a_checkout_allocation_invalidates_the_cached_answer(cached):
    variant = ProductVariantFactory(stock_quantity=7)
    client = Client()
    assert stock_of(post(client, CATALOG)) == 7
    services.stock_allocate(quantities={variant.pk: 3}, reason="Order SC-1")
    assert stock_of(post(client, CATALOG)) == 4


@pytest.mark.django_db(transaction=True)
def test_a_price_change_in_the_admin_invalidates_the_cached_answer(cached):
    variant = ProductVariantFactory(price="10.00")
    client = Client()
    post(client, CATALOG)
    variant.price = "12.50"
    variant.save()  # what the Django admin does
    answer = post(client, CATALOG).json()["data"]["products"]["edges"][0]["node"]
    assert answer["variants"][0]["price"]["amount"] == "12.50"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "query",
    [
        "{ me { email } }",
        "{ products(first: 1) { totalCount } me { email } }",
        "mutation { logout }",
        "query A { products(first: 1) { totalCount } } query B { me { email } }",
    ],
)
def test_other_operations_are_never_cached(cached, query):
    ProductVariantFactory()
    response = post(Client(), query)
    assert "X-Cache" not in response


@pytest.mark.django_db(transaction=True)
def test_signed_in_requests_bypass_the_cache(cached):
    from apps.accounts.services import token_create
    from tests.accounts.factories import UserFactory

    ProductVariantFactory()
    user = UserFactory()
    client = Client()
    client.force_login(user)
    by_session = post(client, CATALOG)
    assert by_session.status_code == 200
    assert "X-Cache" not in by_session
    _, key = token_create(user=user)
    by_token = post(Client(), CATALOG, Authorization=f"Bearer {key}")
    assert by_token.status_code == 200
    assert "X-Cache" not in by_token


@pytest.mark.django_db(transaction=True)
def test_the_cache_is_off_by_default():
    ProductVariantFactory()
    assert "X-Cache" not in post(Client(), CATALOG)
