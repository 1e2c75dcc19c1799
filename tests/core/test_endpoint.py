import json
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from schema.schema import schema, should_mask_error

ROOT = Path(settings.BASE_DIR)


def post(client: Client, body: str, content_type: str = "application/json"):
    return client.post("/graphql/", data=body, content_type=content_type)


def test_committed_sdl_matches_the_code():
    committed = (ROOT / "schema.graphql").read_text()
    assert committed.strip() == schema.as_str().strip(), "schema.graphql is stale: make schema"


def test_malformed_json_is_a_400_that_changes_nothing(db):
    response = post(Client(), '{"query": "{ me { id } }"')
    assert response.status_code == 400
    assert "JSON" in response.content.decode()


def test_graphql_syntax_error_is_readable(gql):
    result = gql("{ products { edges { node { id } }")
    assert result.status_code == 200
    assert result.body["data"] is None
    assert result.errors[0]["message"].startswith("Syntax Error")


def test_unknown_field_is_a_validation_error(gql):
    result = gql("{ products { edges { node { password } } } }")
    assert "Cannot query field 'password'" in result.errors[0]["message"]


def test_get_sets_the_csrf_cookie_and_serves_graphiql(db):
    client = Client()
    response = client.get("/graphql/", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "csrftoken" in response.cookies
    assert b"graphiql" in response.content.lower()
    # The token is read again on every request, so GraphiQL keeps working after login.
    assert b'const token = Cookies.get("csrftoken");' in response.content


def test_query_nested_20_deep_is_refused(gql):
    inner = "id"
    for _ in range(20):
        inner = f"children {{ {inner} }}"
    result = gql(f"{{ categories {{ {inner} }} }}")
    assert result.body.get("data") is None
    assert "exceeds maximum operation depth" in result.errors[0]["message"]


def test_200_aliases_are_refused(gql):
    aliases = " ".join(f"a{i}: me {{ id }}" for i in range(200))
    result = gql(f"{{ {aliases} }}")
    assert result.body.get("data") is None
    assert "aliases found" in result.errors[0]["message"]


def test_too_many_tokens_are_refused(gql):
    fields = " ".join("__typename" for _ in range(settings.GRAPHQL_MAX_TOKENS))
    result = gql(f"{{ {fields} }}")
    assert result.body.get("data") is None
    assert "token" in result.errors[0]["message"].lower()


def test_malformed_global_id_is_a_clear_top_level_error(gql):
    result = gql('{ node(id: "not-base64!!") { id } }')
    assert result.body["data"] == {"node": None}
    assert result.errors[0]["message"] == 'Value cannot represent a GlobalID: "not-base64!!".'
    assert "Traceback" not in json.dumps(result.body)


def test_unexpected_errors_are_masked(gql, monkeypatch):
    from apps.catalog import queries

    def boom(*args, **kwargs):
        raise RuntimeError('SELECT "password" FROM "accounts_user"')

    monkeypatch.setattr(queries, "_one", boom)
    result = gql('{ product(slug: "anything") { id } }')
    body = json.dumps(result.body)
    assert result.errors[0]["message"] == "Unexpected error."
    assert "SELECT" not in body
    assert "Traceback" not in body


def test_expected_errors_are_not_masked():
    from django.core.exceptions import PermissionDenied, ValidationError
    from graphql import GraphQLError

    assert not should_mask_error(GraphQLError("Syntax Error"))
    assert not should_mask_error(GraphQLError("x", original_error=PermissionDenied("no")))
    assert not should_mask_error(GraphQLError("x", original_error=ValidationError("bad")))
    assert should_mask_error(GraphQLError("x", original_error=KeyError("secret")))


def test_introspection_can_be_turned_off(settings, monkeypatch):
    from schema.schema import build_extensions

    settings.GRAPHQL_INTROSPECTION = False
    monkeypatch.setattr(schema, "extensions", build_extensions())
    result = schema.execute_sync("{ __schema { types { name } } }")
    assert result.data is None
    assert "introspection" in result.errors[0].message.lower()


@pytest.mark.parametrize("first", [1000, 101, -1])
def test_page_size_out_of_bounds_is_refused(gql, first):
    result = gql("query ($first: Int) { products(first: $first) { totalCount } }", {"first": first})
    assert result.body["data"] is None
    assert result.errors[0]["message"] == "Argument 'first' must be between 0 and 100."
    assert result.errors[0]["extensions"]["code"] == "invalid"


def test_only_unexpected_errors_are_logged(gql, monkeypatch, caplog):
    from apps.catalog import queries

    gql("{ products(first: 1000) { totalCount } }")
    gql("{ nope }")
    assert [r for r in caplog.records if r.name == "strawberry.execution"] == []

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(queries, "_one", boom)
    gql('{ product(slug: "x") { id } }')
    logged = [r for r in caplog.records if r.name == "strawberry.execution"]
    assert len(logged) == 1
    assert "disk on fire" in logged[0].getMessage()


def test_a_subscription_over_http_is_told_where_subscriptions_are_served(gql, caplog):
    response = gql('subscription { orderUpdated(id: "T3JkZXI6MQ==") { number } }')

    assert response.body["data"] is None
    assert [(e["message"], e["extensions"]) for e in response.errors] == [
        (
            "Subscriptions are served over WebSocket (graphql-transport-ws) at /graphql/, "
            "not over HTTP.",
            {"code": "invalid"},
        )
    ]
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
