"""Requests `make fuzz` found answered with a 500 or an unexpected (masked) error."""

import base64
import json

import pytest
from django.test import Client

from tests.catalog.factories import ProductFactory, global_id, png_upload
from tests.conftest import GRAPHQL_URL

MASKED = "Unexpected error."


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# --- Bodies that are JSON but not a GraphQL request ---------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'"{ me { id } }"',
        b"null",
        b"42",
        b"1e999",
        b"true",
        b'{"query": "{ me { id } }", "x": "\xff"}',
        b"\xff\xfe{}",
    ],
    ids=["string", "null", "number", "infinity", "boolean", "latin-1", "not-utf-8"],
)
def test_a_body_that_is_not_a_json_object_is_a_400(db, body):
    response = Client().post(GRAPHQL_URL, data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.content == b"The body is not a GraphQL request."


def test_a_json_object_still_works(gql):
    assert gql("{ me { id } }").body == {"data": {"me": None}}


@pytest.mark.parametrize(
    ("operations", "files_map"),
    [
        ({"query": "{ me { id } }", "variables": {"f": None}}, {"0": ["variables.f.x.y"]}),
        ({"query": "{ me { id } }", "variables": {"f": []}}, {"0": ["variables.f.first"]}),
        ({"query": "{ me { id } }", "variables": {"f": []}}, {"0": ["variables.f.7"]}),
        ({"query": "{ me { id } }"}, {"0": 5}),
        ({"query": "{ me { id } }"}, [["variables.f"]]),
        ([1], {"0": ["0.x"]}),
        ("{ me { id } }", {"0": ["variables.f"]}),
    ],
    ids=[
        *("into-null", "list-by-name", "list-out-of-range", "path-not-a-list", "map-a-list"),
        *("operations-a-list", "operations-a-string"),
    ],
)
def test_a_multipart_upload_whose_map_leads_nowhere_is_a_400(admin_gql, operations, files_map):
    response = admin_gql.client.post(
        GRAPHQL_URL,
        data={
            "operations": json.dumps(operations),
            "map": json.dumps(files_map),
            "0": png_upload(),
        },
    )
    assert response.status_code == 400


# --- Cursors the API never gave -----------------------------------------------------------------


@pytest.mark.parametrize(
    "cursor",
    [
        "x",
        "====",
        b64("arrayconnection"),
        b64("arrayconnection:abc"),
        b64("arrayconnection:-5"),
        b64("arrayconnection:1_0"),
        b64("arrayconnection:" + "9" * 25),
        b64("Product:1"),
        base64.b64encode(b"\xff\xfe:1").decode(),
    ],
)
@pytest.mark.parametrize("argument", ["after", "before"])
def test_a_cursor_the_api_did_not_give_is_refused_clearly(gql, argument, cursor):
    ProductFactory()
    result = gql(
        f"query($c: String) {{ products({argument}: $c) {{ totalCount }} }}", {"c": cursor}
    )
    assert result.errors == [
        {
            "message": f"Argument '{argument}' is not a valid cursor.",
            "locations": [{"line": 1, "column": 21}],
            "path": ["products"],
            "extensions": {"code": "invalid"},
        }
    ]


def test_a_bad_cursor_on_a_nested_connection_is_refused_clearly(gql):
    ProductFactory()
    result = gql('{ categories { products(after: "x") { totalCount } } }')
    assert MASKED not in json.dumps(result.body)
    assert result.errors[0]["message"] == "Argument 'after' is not a valid cursor."


def test_the_cursors_the_api_gives_still_page(gql):
    for _ in range(3):
        ProductFactory()
    first = gql("{ products(first: 2) { edges { cursor node { id } } } }").data["products"]
    after = first["edges"][-1]["cursor"]
    second = gql(
        "query($c: String) { products(first: 2, after: $c) { edges { node { id } } } }",
        {"c": after},
    ).data["products"]
    before = gql(
        "query($c: String) { products(before: $c) { edges { node { id } } } }", {"c": after}
    ).data["products"]
    assert len(second["edges"]) == 1
    assert [e["node"] for e in before["edges"]] == [first["edges"][0]["node"]]
    # An empty cursor means none, as before.
    assert gql('{ products(after: "") { totalCount } }').data == {"products": {"totalCount": 3}}


# --- node(id:) with an id that names no object -------------------------------------------------


@pytest.mark.parametrize(
    "decoded",
    [
        "Nope:86",
        "Node:1",
        "Cart:1",
        "Money:1",
        "OrderStatus:1",
        "Product:abc",
        "Product:0x1f",
        "Product:-1",
        "Product:1e3",
        "Product:",
        "Product:" + "9" * 30,
    ],
)
def test_node_with_an_id_that_names_no_object_is_null(gql, decoded):
    ProductFactory()
    result = gql("query($id: ID!) { node(id: $id) { id } }", {"id": b64(decoded)})
    assert result.body == {"data": {"node": None}}


def test_node_still_resolves_a_real_id(gql):
    product = ProductFactory()
    result = gql("query($id: ID!) { node(id: $id) { id } }", {"id": global_id(product)})
    assert result.data == {"node": {"id": global_id(product)}}


# --- The NUL character, which PostgreSQL cannot store or compare --------------------------------

NUL_REFUSED = {
    "message": "Strings cannot contain the NUL character (U+0000).",
    "extensions": {"code": "invalid"},
}


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("query($s: String) { product(slug: $s) { id } }", {"s": "a\x00b"}),
        ("mutation($e: String!) { passwordResetRequest(email: $e) }", {"e": "\x00@example.com"}),
        (
            "mutation($i: AccountRegisterInput!) { accountRegister(input: $i) { __typename } }",
            {
                "i": {
                    "email": "nul@example.com",
                    "password": "Str0ng!pass-word",
                    "firstName": "\x00",
                }
            },
        ),
        ('{ product(slug: "a\\u0000b") { id } }', None),
        ('{ product(slug: "a\x00b") { id } }', None),
        ('{ products(filters: {search: "\\u{0}"}) { totalCount } }', None),
        ('mutation { tokenCreate(email: "a\\u0000@b.c", password: "x") { __typename } }', None),
    ],
    ids=[
        *("variable", "boolean-field", "input-object", "literal", "raw-literal", "braced-escape"),
        "mutation",
    ],
)
def test_a_string_with_a_nul_character_is_refused_before_anything_runs(gql, query, variables):
    result = gql(query, variables)
    assert result.body == {"data": None, "errors": [NUL_REFUSED]}


def test_the_escape_of_another_character_still_works(gql):
    ProductFactory(slug="a-b")
    result = gql('{ product(slug: "a\\u002db") { slug } }')
    assert result.data == {"product": {"slug": "a-b"}}
