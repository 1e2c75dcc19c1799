"""A malformed UUID is an error on its own field: the rest of the document still answers."""

from tests.conftest import GraphQLClient


def test_a_bad_cart_token_nulls_the_cart_only(db):
    response = GraphQLClient()(
        '{ cart(token: "not-a-uuid") { totalQuantity } products(first: 1) { totalCount } }'
    )

    assert response.body["data"] == {"cart": None, "products": {"totalCount": 0}}
    (error,) = response.errors
    assert (error["path"], error["extensions"]["code"]) == (["cart"], "invalid")
    assert error["message"] == "'token' is not a valid UUID."


def test_a_bad_token_in_a_variable_is_refused_the_same_way(db):
    response = GraphQLClient()(
        "query($t: UUID!) { orderByToken(token: $t) { number } }", {"t": "12345"}
    )

    assert response.body["data"] == {"orderByToken": None}
    assert response.errors[0]["extensions"]["code"] == "invalid"


def test_a_mutation_answers_operation_info_for_a_bad_cart_token(db):
    response = GraphQLClient()(
        """mutation { cartLinesRemove(cartToken: "nope", lineIds: []) {
          __typename ... on OperationInfo { messages { field code } } } }"""
    )

    assert response.data == {
        "cartLinesRemove": {
            "__typename": "OperationInfo",
            "messages": [{"field": "cartToken", "code": "invalid"}],
        }
    }


def test_a_bad_uuid_inside_an_input_names_its_field(db):
    response = GraphQLClient()(
        """mutation { checkoutComplete(input: {cartToken: "x", email: "a@b.co",
          paymentMethod: CARD_PLACEHOLDER, idempotencyKey: "k"}) {
          __typename ... on OperationInfo { messages { field code } } } }"""
    )

    assert response.data["checkoutComplete"]["messages"] == [
        {"field": "cartToken", "code": "invalid"}
    ]


def test_a_well_formed_token_goes_through(db):
    response = GraphQLClient()(
        '{ cart(token: "9b8f0c4e-8f0a-4c3b-9a47-3f2b1c0d5e6f") { totalQuantity } }'
    )

    assert response.data == {"cart": None}  # no such cart: null, without an error
