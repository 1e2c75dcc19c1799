"""The audit's findings at the API's boundary: each answers a coded error and changes nothing."""

import json

import psycopg
import pytest
from django.db import OperationalError
from django.test import Client

from tests.accounts.factories import UserFactory
from tests.catalog.factories import ProductFactory, ProductVariantFactory
from tests.conftest import GRAPHQL_URL, GraphQLClient


def _outage() -> OperationalError:
    error = OperationalError("connection to server at db:5432 failed")
    error.__cause__ = psycopg.OperationalError("connection to server at db:5432 failed")
    return error


def _raise_outage(*args, **kwargs):
    raise _outage()


def _assert_unavailable(response) -> None:
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "errors": [
            {
                "message": "The shop is briefly unavailable. Try again in a few seconds.",
                "extensions": {"code": "service_unavailable"},
            }
        ]
    }
    assert b"5432" not in response.content


# --- the database is down ---------------------------------------------------------------------


def test_a_database_outage_under_a_resolver_answers_a_json_503(db, monkeypatch):
    from apps.catalog.types import ProductType

    monkeypatch.setattr(ProductType, "get_queryset", classmethod(_raise_outage))

    response = Client().post(
        GRAPHQL_URL, {"query": "{ products { edges { node { name } } } }"}, "application/json"
    )

    _assert_unavailable(response)


def test_a_database_outage_reading_a_bearer_token_answers_a_json_503(db, monkeypatch):
    from apps.accounts import services

    monkeypatch.setattr(services, "token_authenticate", _raise_outage)

    response = Client(raise_request_exception=False).post(
        GRAPHQL_URL,
        {"query": "{ me { email } }"},
        "application/json",
        headers={"Authorization": "Bearer abc"},
    )

    _assert_unavailable(response)


def test_a_database_outage_reading_a_session_answers_a_json_503(db, monkeypatch):
    from django.contrib.sessions.backends.db import SessionStore

    client = Client(raise_request_exception=False)
    client.force_login(UserFactory())
    monkeypatch.setattr(SessionStore, "load", _raise_outage)

    response = client.post(GRAPHQL_URL, {"query": "{ me { email } }"}, "application/json")

    _assert_unavailable(response)


def test_an_unexpected_error_outside_graphql_resolvers_is_a_coded_json_500(db, monkeypatch):
    from apps.accounts import services

    def fail(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(services, "token_authenticate", fail)

    response = Client(raise_request_exception=False).post(
        GRAPHQL_URL,
        {"query": "{ me { email } }"},
        "application/json",
        headers={"Authorization": "Bearer x"},
    )

    assert response.status_code == 500
    assert response.json()["errors"][0]["extensions"]["code"] == "internal_error"
    assert b"a bug" not in response.content


# --- caching headers and keys -----------------------------------------------------------------


def test_personal_answers_are_never_stored_by_a_cache(customer_gql):
    response = customer_gql.client.post(
        GRAPHQL_URL, {"query": "{ me { email } }"}, "application/json"
    )

    assert response["Cache-Control"] == "private, no-store"


def test_a_guest_cart_is_never_stored_by_a_cache(gql):
    response = gql.client.post(
        GRAPHQL_URL,
        {"query": '{ cart(token: "9b8f0c4e-8f0a-4c3b-9a47-3f2b1c0d5e6f") { totalQuantity } }'},
        "application/json",
    )

    assert response["Cache-Control"] == "private, no-store"


def test_anonymous_catalog_reads_may_be_cached(gql):
    response = gql.client.post(
        GRAPHQL_URL, {"query": "{ products { totalCount } }"}, "application/json"
    )

    assert "no-store" not in response.get("Cache-Control", "")


def test_the_response_cache_keeps_one_answer_per_host(db, settings):
    from tests.catalog.factories import ProductImageFactory

    settings.CATALOG_CACHE = True
    settings.ALLOWED_HOSTS = ["shop.example.com", "evil.example.net"]
    ProductImageFactory(product=ProductVariantFactory().product)
    query = {"query": "{ products { edges { node { images { url } } } } }"}

    def image_url(host: str) -> str:
        response = Client(HTTP_HOST=host).post(GRAPHQL_URL, query, "application/json")
        return response.json()["data"]["products"]["edges"][0]["node"]["images"][0]["url"]

    assert image_url("shop.example.com").startswith("http://shop.example.com/")
    assert image_url("evil.example.net").startswith("http://evil.example.net/")
    assert image_url("shop.example.com").startswith("http://shop.example.com/")


# --- field suggestions ------------------------------------------------------------------------


def test_no_field_suggestions_when_introspection_is_off(gql, monkeypatch, settings):
    from schema import schema as module

    settings.GRAPHQL_INTROSPECTION = False
    # the extensions a schema built with introspection off has
    monkeypatch.setattr(module.schema, "extensions", module.build_extensions())

    (error,) = gql("{ me { isStaf } }").errors
    assert error["message"] == "Cannot query field 'isStaf' on type 'User'."
    assert error["extensions"]["code"] == "invalid"


def test_field_suggestions_help_while_introspection_is_on(gql):
    (error,) = gql("{ me { isStaf } }").errors
    assert "Did you mean 'isStaff'?" in error["message"]


# --- malformed input --------------------------------------------------------------------------


def test_json_nested_too_deep_is_a_400(db):
    body = '{"query": ' + "[" * 100_000 + "]" * 100_000 + "}"

    response = Client().post(GRAPHQL_URL, body, "application/json")

    assert response.status_code == 400


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("query($q: String!) { products(filters: {search: $q}) { totalCount } }", {"q": "\ud800"}),
        ('{ products(filters: {search: "\\ud800"}) { totalCount } }', None),
        ("query($q: String!) { products(filters: {search: $q}) { totalCount } }", {"q": "a\x00b"}),
    ],
    ids=["surrogate-variable", "surrogate-literal", "nul-variable"],
)
def test_impossible_strings_are_invalid(gql, query, variables):
    body = json.dumps({"query": query, "variables": variables})  # escapes the surrogate

    response = gql.client.post(GRAPHQL_URL, body, "application/json")

    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "invalid"


def test_a_string_longer_than_any_the_api_takes_is_invalid(gql, settings):
    settings.GRAPHQL_MAX_STRING_LENGTH = 100

    response = gql(
        "query($q: String!) { products(filters: {search: $q}) { totalCount } }", {"q": "x" * 101}
    )

    assert response.errors[0]["extensions"]["code"] == "invalid"


def test_a_search_longer_than_256_characters_is_invalid(gql):
    response = gql(
        "query($q: String!) { products(filters: {search: $q}) { totalCount } }",
        {"q": "tea " * 65},
    )

    (error,) = response.errors
    assert error["extensions"]["code"] == "invalid"
    assert "at most 256 characters" in error["message"]


@pytest.mark.parametrize("price", ["1e999999", "NaN", "Infinity", "-1e20"])
def test_decimals_out_of_any_range_are_invalid(gql, price):
    ProductVariantFactory(product=ProductFactory())

    response = gql(
        "query($p: Decimal!) { products(filters: {priceMin: $p}) { totalCount } }", {"p": price}
    )

    (error,) = response.errors
    assert error["extensions"]["code"] == "invalid"
    assert "Unexpected" not in error["message"]


def test_every_top_level_error_carries_a_code(gql):
    for query in ("{ nope }", "{", "query($x: Int!) { products(first: $x) { totalCount } }"):
        (error,) = gql(query).errors
        assert error["extensions"]["code"] == "invalid", query


# --- the client's IP ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (0, "6.6.6.6", "10.0.0.1"),  # no trusted proxy: the header is the client's word only
        (1, "1.2.3.4", "1.2.3.4"),  # one proxy: the address it saw
        (1, "6.6.6.6, 1.2.3.4", "1.2.3.4"),  # what the client forged before it is ignored
        (2, "1.2.3.4, 10.9.8.7", "1.2.3.4"),  # two proxies
        (2, "1.2.3.4", "10.0.0.1"),  # shorter than two proxies make it: the connection
        (1, None, "10.0.0.1"),  # no header
    ],
)
def test_the_client_ip_comes_from_trusted_proxies_only(settings, count, forwarded, expected):
    from django.test import RequestFactory

    from apps.core.ratelimit import client_ip

    settings.TRUSTED_PROXY_COUNT = count
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", **headers)

    assert client_ip(request) == expected


def test_the_ip_limit_counts_the_forwarded_client(settings, db):
    from tests.accounts.test_mutations import LOGIN

    settings.TRUSTED_PROXY_COUNT = 1
    settings.RATELIMIT_AUTH_IP = "2/d"
    settings.RATELIMIT_AUTH_ACCOUNT = "100/d"

    def login(ip: str, number: int):
        return GraphQLClient()(
            LOGIN,
            {"email": f"guess{number}@example.com", "password": "x"},
            headers={"X-Forwarded-For": ip},
        )

    assert [login("1.2.3.4", n).data["login"]["messages"][0]["code"] for n in range(3)] == [
        "invalid_credentials",
        "invalid_credentials",
        "rate_limited",
    ]
    # another client behind the same proxy is not limited
    assert login("5.6.7.8", 9).data["login"]["messages"][0]["code"] == "invalid_credentials"
