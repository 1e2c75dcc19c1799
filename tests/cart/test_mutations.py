import uuid
from decimal import Decimal

import pytest
from strawberry.relay import to_base64

from apps.accounts.models import AuthToken
from apps.cart.models import Cart, CartLine
from apps.catalog.models import ProductVariant
from tests.accounts.factories import DEFAULT_PASSWORD, UserFactory
from tests.cart.factories import CartFactory, CartLineFactory, cart_snapshot, line_id
from tests.catalog.factories import ProductImageFactory, ProductVariantFactory, global_id
from tests.conftest import GraphQLClient

MESSAGES = "... on OperationInfo { messages { kind field message code } }"
CART_FIELDS = """
  token totalQuantity subtotal { amount currency }
  lines { id quantity available unitPrice { amount } lineTotal { amount } variant { sku } }
"""

LINES_ADD = f"""
mutation Add($cartToken: UUID, $lines: [CartLineInput!]!) {{
  cartLinesAdd(cartToken: $cartToken, lines: $lines) {{
    __typename
    ... on Cart {{ {CART_FIELDS} }}
    {MESSAGES}
  }}
}}
"""

LINES_UPDATE = f"""
mutation Update($cartToken: UUID, $lines: [CartLineUpdateInput!]!) {{
  cartLinesUpdate(cartToken: $cartToken, lines: $lines) {{
    __typename
    ... on Cart {{ {CART_FIELDS} }}
    {MESSAGES}
  }}
}}
"""

LINES_REMOVE = f"""
mutation Remove($cartToken: UUID, $lineIds: [ID!]!) {{
  cartLinesRemove(cartToken: $cartToken, lineIds: $lineIds) {{
    __typename
    ... on Cart {{ {CART_FIELDS} }}
    {MESSAGES}
  }}
}}
"""

LINES_ADD_DETAIL = f"""
mutation Add($cartToken: UUID, $lines: [CartLineInput!]!) {{
  cartLinesAdd(cartToken: $cartToken, lines: $lines) {{
    __typename
    ... on Cart {{
      lines {{
        variant {{ sku product {{ name images {{ url }} }} }}
        unitPrice {{ amount }} lineTotal {{ amount }} available
      }}
      totalQuantity subtotal {{ amount }}
    }}
    {MESSAGES}
  }}
}}
"""

LOGIN = f"""
mutation Login($email: String!, $password: String!, $cartToken: UUID) {{
  login(email: $email, password: $password, cartToken: $cartToken) {{
    __typename
    ... on User {{ email }}
    {MESSAGES}
  }}
}}
"""

TOKEN_CREATE = f"""
mutation TokenCreate($email: String!, $password: String!, $cartToken: UUID) {{
  tokenCreate(email: $email, password: $password, cartToken: $cartToken) {{
    __typename
    ... on AuthToken {{ token user {{ email }} }}
    {MESSAGES}
  }}
}}
"""

CART = "query Cart($token: UUID) { cart(token: $token) { token totalQuantity } }"


def payload(response, name: str) -> dict:
    return response.data[name]


def messages(response, name: str) -> list[dict]:
    result = payload(response, name)
    assert result["__typename"] == "OperationInfo", result
    return result["messages"]


def error(field: str, message: str, code: str) -> list[dict]:
    return [{"kind": "VALIDATION", "field": field, "message": message, "code": code}]


def not_found_cart() -> list[dict]:
    return error("cartToken", "No cart found with this token.", "not_found")


def no_variant(index: int) -> list[dict]:
    return error(f"lines.{index}.variantId", "No ProductVariant found with this id.", "not_found")


def add_line(variant, quantity: int) -> dict:
    return {"variantId": global_id(variant), "quantity": quantity}


def skus(cart: Cart) -> list[tuple[str, int]]:
    return [(line.variant.sku, line.quantity) for line in cart.lines.order_by("variant__sku")]


def other_gql() -> GraphQLClient:
    return GraphQLClient().login(UserFactory(email="other@example.com"))


# --- cartLinesAdd ------------------------------------------------------------------------------


def test_a_guest_adds_lines_to_a_new_cart(gql):
    pan = ProductVariantFactory(sku="PAN", price=Decimal("24.00"), stock_quantity=5)
    pot = ProductVariantFactory(sku="POT", price=Decimal("5.50"), stock_quantity=5)

    response = gql(LINES_ADD, {"lines": [add_line(pan, 2), add_line(pot, 1), add_line(pan, 1)]})

    cart = Cart.objects.get()
    pan_line, pot_line = cart.lines.order_by("pk")
    assert payload(response, "cartLinesAdd") == {
        "__typename": "Cart",
        "token": str(cart.token),
        "totalQuantity": 4,
        "subtotal": {"amount": "77.50", "currency": "USD"},
        "lines": [
            {
                "id": line_id(pan_line),
                "quantity": 3,
                "available": True,
                "unitPrice": {"amount": "24.00"},
                "lineTotal": {"amount": "72.00"},
                "variant": {"sku": "PAN"},
            },
            {
                "id": line_id(pot_line),
                "quantity": 1,
                "available": True,
                "unitPrice": {"amount": "5.50"},
                "lineTotal": {"amount": "5.50"},
                "variant": {"sku": "POT"},
            },
        ],
    }
    assert cart.user is None
    assert cart.status == Cart.Status.ACTIVE


def test_a_guest_adds_to_their_cart_by_its_token(gql):
    line = CartLineFactory(variant__sku="PAN", variant__stock_quantity=10, quantity=2)
    pot = ProductVariantFactory(sku="POT")

    response = gql(
        LINES_ADD,
        {"cartToken": str(line.cart.token), "lines": [add_line(line.variant, 3), add_line(pot, 1)]},
    )

    assert payload(response, "cartLinesAdd")["token"] == str(line.cart.token)
    assert skus(line.cart) == [("PAN", 5), ("POT", 1)]
    assert Cart.objects.count() == 1


def test_a_guest_without_a_token_gets_a_new_cart_each_time(gql):
    pan = ProductVariantFactory()

    first = payload(gql(LINES_ADD, {"lines": [add_line(pan, 1)]}), "cartLinesAdd")
    second = payload(gql(LINES_ADD, {"lines": [add_line(pan, 1)]}), "cartLinesAdd")

    assert first["token"] != second["token"]
    assert Cart.objects.count() == 2


def test_a_customer_without_a_token_reuses_their_one_active_cart(customer_gql, customer):
    pan = ProductVariantFactory(sku="PAN", stock_quantity=10)
    pot = ProductVariantFactory(sku="POT", stock_quantity=10)

    first = payload(customer_gql(LINES_ADD, {"lines": [add_line(pan, 1)]}), "cartLinesAdd")
    second = payload(
        customer_gql(LINES_ADD, {"lines": [add_line(pan, 2), add_line(pot, 1)]}), "cartLinesAdd"
    )

    cart = Cart.objects.get()
    assert first["token"] == second["token"] == str(cart.token)
    assert cart.user == customer
    assert skus(cart) == [("PAN", 3), ("POT", 1)]


def test_a_customer_adds_to_their_cart_by_its_token(customer_gql, customer):
    cart = CartFactory(user=customer)
    pan = ProductVariantFactory(sku="PAN")

    response = customer_gql(LINES_ADD, {"cartToken": str(cart.token), "lines": [add_line(pan, 1)]})

    assert payload(response, "cartLinesAdd")["token"] == str(cart.token)
    assert skus(cart) == [("PAN", 1)]


def test_a_customer_with_a_bearer_token_adds_to_their_cart(db, customer):
    cart = CartFactory(user=customer)
    pan = ProductVariantFactory(sku="PAN")
    client = GraphQLClient()
    client.token = payload(
        client(TOKEN_CREATE, {"email": customer.email, "password": DEFAULT_PASSWORD}),
        "tokenCreate",
    )["token"]

    response = client(LINES_ADD, {"lines": [add_line(pan, 2)]})

    assert payload(response, "cartLinesAdd")["token"] == str(cart.token)
    assert skus(cart) == [("PAN", 2)]


@pytest.mark.parametrize("caller", ["guest", "other customer"])
def test_a_customers_cart_cannot_be_changed_by_anyone_else(gql, customer, caller):
    line = CartLineFactory(cart__user=customer, variant__stock_quantity=10, quantity=1)
    client = gql if caller == "guest" else other_gql()
    token = str(line.cart.token)
    before = cart_snapshot()

    added = client(LINES_ADD, {"cartToken": token, "lines": [add_line(line.variant, 1)]})
    updated = client(
        LINES_UPDATE, {"cartToken": token, "lines": [{"lineId": line_id(line), "quantity": 5}]}
    )
    removed = client(LINES_REMOVE, {"cartToken": token, "lineIds": [line_id(line)]})

    assert messages(added, "cartLinesAdd") == not_found_cart()
    assert messages(updated, "cartLinesUpdate") == not_found_cart()
    assert messages(removed, "cartLinesRemove") == not_found_cart()
    assert cart_snapshot() == before


@pytest.mark.parametrize("status", [Cart.Status.CONVERTED, Cart.Status.MERGED, None])
def test_an_unknown_or_closed_cart_token_is_not_found(gql, status):
    line = CartLineFactory(variant__stock_quantity=10, quantity=1)
    if status is None:
        token = str(uuid.uuid4())
    else:
        Cart.objects.filter(pk=line.cart_id).update(status=status)
        token = str(line.cart.token)
    before = cart_snapshot()

    added = gql(LINES_ADD, {"cartToken": token, "lines": [add_line(line.variant, 1)]})
    updated = gql(
        LINES_UPDATE, {"cartToken": token, "lines": [{"lineId": line_id(line), "quantity": 5}]}
    )
    removed = gql(LINES_REMOVE, {"cartToken": token, "lineIds": [line_id(line)]})

    assert messages(added, "cartLinesAdd") == not_found_cart()
    assert messages(updated, "cartLinesUpdate") == not_found_cart()
    assert messages(removed, "cartLinesRemove") == not_found_cart()
    assert cart_snapshot() == before


@pytest.mark.parametrize("quantity", [0, -1, 1001, 10**9])
def test_add_refuses_a_quantity_outside_1_to_1000(customer_gql, customer, quantity):
    cart = CartLineFactory(cart__user=customer, quantity=1).cart
    pan = ProductVariantFactory(stock_quantity=5000)
    pot = ProductVariantFactory(stock_quantity=5000)
    before = cart_snapshot()

    response = customer_gql(
        LINES_ADD,
        {"cartToken": str(cart.token), "lines": [add_line(pan, 1), add_line(pot, quantity)]},
    )

    assert messages(response, "cartLinesAdd") == error(
        "lines.1.quantity", "The quantity must be between 1 and 1000.", "invalid"
    )
    assert cart_snapshot() == before


@pytest.mark.parametrize("quantity", [0, 1001])
def test_a_guest_refused_on_quantity_gets_no_cart(gql, quantity):
    pan = ProductVariantFactory(stock_quantity=5000)
    before = cart_snapshot()

    response = gql(LINES_ADD, {"lines": [add_line(pan, quantity)]})

    assert messages(response, "cartLinesAdd")[0]["code"] == "invalid"
    assert cart_snapshot() == before
    assert Cart.objects.count() == 0


def test_a_quantity_beyond_graphql_int_is_a_request_error(gql):
    pan = ProductVariantFactory(stock_quantity=5000)
    before = cart_snapshot()

    response = gql(LINES_ADD, {"lines": [add_line(pan, 2**31)]})

    assert response.body.get("data") is None
    assert len(response.errors) == 1
    assert cart_snapshot() == before


def test_add_refuses_more_than_the_stock(gql):
    line = CartLineFactory(variant__sku="PAN", variant__stock_quantity=5, quantity=3)
    pot = ProductVariantFactory(sku="POT", stock_quantity=10)
    before = cart_snapshot()

    response = gql(
        LINES_ADD,
        {"cartToken": str(line.cart.token), "lines": [add_line(pot, 1), add_line(line.variant, 3)]},
    )

    assert messages(response, "cartLinesAdd") == error(
        "lines.1.quantity", "Only 5 of PAN available.", "insufficient_stock"
    )
    assert cart_snapshot() == before


def test_add_refuses_more_than_the_stock_for_a_new_guest_cart(gql):
    pan = ProductVariantFactory(sku="PAN", stock_quantity=0)
    before = cart_snapshot()

    response = gql(LINES_ADD, {"lines": [add_line(pan, 1)]})

    assert messages(response, "cartLinesAdd") == error(
        "lines.0.quantity", "Only 0 of PAN available.", "insufficient_stock"
    )
    assert cart_snapshot() == before


@pytest.mark.parametrize("which", ["inactive variant", "inactive product", "unknown", "other type"])
def test_add_answers_not_found_for_a_variant_that_cannot_be_bought(gql, which):
    cart = CartLineFactory(quantity=1).cart
    pan = ProductVariantFactory(stock_quantity=10)
    hidden = ProductVariantFactory(stock_quantity=10)
    if which == "inactive variant":
        ProductVariant.objects.filter(pk=hidden.pk).update(is_active=False)
        bad = global_id(hidden)
    elif which == "inactive product":
        hidden.product.is_active = False
        hidden.product.save()
        bad = global_id(hidden)
    elif which == "unknown":
        bad = to_base64("ProductVariant", hidden.pk + 1000)
    else:
        bad = global_id(hidden.product)
    before = cart_snapshot()

    response = gql(
        LINES_ADD,
        {
            "cartToken": str(cart.token),
            "lines": [add_line(pan, 1), {"variantId": bad, "quantity": 1}],
        },
    )

    assert messages(response, "cartLinesAdd") == no_variant(1)
    assert cart_snapshot() == before


def test_staff_cannot_add_an_inactive_variant_either(admin_gql):
    hidden = ProductVariantFactory(is_active=False, stock_quantity=10)
    before = cart_snapshot()

    response = admin_gql(LINES_ADD, {"lines": [add_line(hidden, 1)]})

    assert messages(response, "cartLinesAdd") == no_variant(0)
    assert cart_snapshot() == before


def test_add_refuses_an_empty_list_of_lines(gql, customer_gql):
    guest_cart = CartFactory()
    before = cart_snapshot()

    as_guest = gql(LINES_ADD, {"cartToken": str(guest_cart.token), "lines": []})
    as_customer = customer_gql(LINES_ADD, {"lines": []})

    expected = error("lines", "Give at least one line.", "required")
    assert messages(as_guest, "cartLinesAdd") == expected
    assert messages(as_customer, "cartLinesAdd") == expected
    assert cart_snapshot() == before


# --- cartLinesUpdate ---------------------------------------------------------------------------


def test_update_sets_quantities_and_0_removes(gql):
    cart = CartFactory()
    pan = CartLineFactory(cart=cart, variant__sku="PAN", variant__stock_quantity=10, quantity=1)
    pot = CartLineFactory(cart=cart, variant__sku="POT", quantity=2)

    response = gql(
        LINES_UPDATE,
        {
            "cartToken": str(cart.token),
            "lines": [
                {"lineId": line_id(pan), "quantity": 10},
                {"lineId": line_id(pot), "quantity": 0},
            ],
        },
    )

    result = payload(response, "cartLinesUpdate")
    assert result["__typename"] == "Cart"
    assert result["totalQuantity"] == 10
    assert [(line["id"], line["quantity"]) for line in result["lines"]] == [(line_id(pan), 10)]
    assert skus(cart) == [("PAN", 10)]


def test_a_customer_updates_their_cart_without_a_token(customer_gql, customer):
    line = CartLineFactory(cart__user=customer, quantity=1)

    response = customer_gql(LINES_UPDATE, {"lines": [{"lineId": line_id(line), "quantity": 4}]})

    assert payload(response, "cartLinesUpdate")["lines"][0]["quantity"] == 4
    line.refresh_from_db()
    assert line.quantity == 4


def test_update_refuses_more_than_the_stock(gql):
    line = CartLineFactory(variant__sku="PAN", variant__stock_quantity=3, quantity=1)
    before = cart_snapshot()

    response = gql(
        LINES_UPDATE,
        {"cartToken": str(line.cart.token), "lines": [{"lineId": line_id(line), "quantity": 4}]},
    )

    assert messages(response, "cartLinesUpdate") == error(
        "lines.0.quantity", "Only 3 of PAN available.", "insufficient_stock"
    )
    assert cart_snapshot() == before


@pytest.mark.parametrize("quantity", [-1, 1001, 10**9])
def test_update_refuses_a_quantity_outside_0_to_1000(gql, quantity):
    line = CartLineFactory(variant__stock_quantity=5000, quantity=1)
    before = cart_snapshot()

    response = gql(
        LINES_UPDATE,
        {
            "cartToken": str(line.cart.token),
            "lines": [{"lineId": line_id(line), "quantity": quantity}],
        },
    )

    assert messages(response, "cartLinesUpdate") == error(
        "lines.0.quantity", "The quantity must be between 0 and 1000.", "invalid"
    )
    assert cart_snapshot() == before


@pytest.mark.parametrize("which", ["other cart", "unknown", "other type"])
def test_update_answers_not_found_for_a_line_not_in_the_cart(gql, which):
    mine = CartLineFactory(quantity=1)
    theirs = CartLineFactory(quantity=1)
    bad = {
        "other cart": line_id(theirs),
        "unknown": to_base64("CartLine", theirs.pk + 1000),
        "other type": global_id(theirs.variant),
    }[which]
    before = cart_snapshot()

    response = gql(
        LINES_UPDATE,
        {
            "cartToken": str(mine.cart.token),
            "lines": [{"lineId": line_id(mine), "quantity": 2}, {"lineId": bad, "quantity": 2}],
        },
    )

    assert messages(response, "cartLinesUpdate") == error(
        "lines.1.lineId", "No such line in this cart.", "not_found"
    )
    assert cart_snapshot() == before


def test_update_without_a_cart_is_not_found(gql, customer_gql):
    line = CartLineFactory(quantity=1)
    before = cart_snapshot()
    variables = {"lines": [{"lineId": line_id(line), "quantity": 2}]}

    assert messages(gql(LINES_UPDATE, variables), "cartLinesUpdate") == not_found_cart()
    assert messages(customer_gql(LINES_UPDATE, variables), "cartLinesUpdate") == not_found_cart()
    assert cart_snapshot() == before


# --- cartLinesRemove ---------------------------------------------------------------------------


def test_remove_deletes_lines(gql):
    cart = CartFactory()
    pan = CartLineFactory(cart=cart, variant__sku="PAN", quantity=2)
    pot = CartLineFactory(cart=cart, variant__sku="POT", quantity=3)

    response = gql(LINES_REMOVE, {"cartToken": str(cart.token), "lineIds": [line_id(pan)]})

    result = payload(response, "cartLinesRemove")
    assert result["totalQuantity"] == 3
    assert [line["id"] for line in result["lines"]] == [line_id(pot)]
    assert list(cart.lines.all()) == [pot]


def test_remove_takes_an_unavailable_line_out_of_the_cart(customer_gql, customer):
    line = CartLineFactory(cart__user=customer, variant__is_active=False, quantity=2)

    response = customer_gql(LINES_REMOVE, {"lineIds": [line_id(line)]})

    assert payload(response, "cartLinesRemove")["lines"] == []
    assert CartLine.objects.count() == 0


@pytest.mark.parametrize("which", ["other cart", "unknown", "other type"])
def test_remove_answers_not_found_for_a_line_not_in_the_cart(gql, which):
    mine = CartLineFactory(quantity=1)
    theirs = CartLineFactory(quantity=1)
    bad = {
        "other cart": line_id(theirs),
        "unknown": to_base64("CartLine", theirs.pk + 1000),
        "other type": global_id(theirs.variant),
    }[which]
    before = cart_snapshot()

    response = gql(
        LINES_REMOVE, {"cartToken": str(mine.cart.token), "lineIds": [line_id(mine), bad]}
    )

    assert messages(response, "cartLinesRemove") == error(
        "lineIds.1", "No such line in this cart.", "not_found"
    )
    assert cart_snapshot() == before


def test_remove_without_a_cart_is_not_found(gql):
    line = CartLineFactory(quantity=1)
    before = cart_snapshot()

    response = gql(LINES_REMOVE, {"lineIds": [line_id(line)]})

    assert messages(response, "cartLinesRemove") == not_found_cart()
    assert cart_snapshot() == before


# --- Merge at sign-in --------------------------------------------------------------------------


def _sign_in(gql, mutation: str, customer, cart_token) -> dict:
    name = "login" if mutation == "login" else "tokenCreate"
    response = gql(
        LOGIN if mutation == "login" else TOKEN_CREATE,
        {"email": customer.email, "password": DEFAULT_PASSWORD, "cartToken": cart_token},
    )
    result = payload(response, name)
    assert result["__typename"] == ("User" if mutation == "login" else "AuthToken"), result
    return result


def _signed_in(gql, mutation: str, result: dict) -> GraphQLClient:
    if mutation == "tokenCreate":
        client = GraphQLClient()
        client.token = result["token"]
        return client
    return gql


@pytest.mark.parametrize("mutation", ["login", "tokenCreate"])
def test_sign_in_hands_the_guest_cart_to_a_customer_without_one(gql, customer, mutation):
    guest = CartLineFactory(variant__sku="PAN", quantity=2).cart

    result = _sign_in(gql, mutation, customer, str(guest.token))

    guest.refresh_from_db()
    assert guest.user == customer
    assert guest.status == Cart.Status.ACTIVE
    assert skus(guest) == [("PAN", 2)]
    client = _signed_in(gql, mutation, result)
    assert client(CART).data == {"cart": {"token": str(guest.token), "totalQuantity": 2}}
    assert GraphQLClient()(CART, {"token": str(guest.token)}).data == {"cart": None}


@pytest.mark.parametrize("mutation", ["login", "tokenCreate"])
def test_sign_in_merges_the_guest_cart_into_the_customers_cart(gql, customer, mutation):
    own = CartFactory(user=customer)
    guest = CartFactory()
    both = ProductVariantFactory(sku="BOTH", stock_quantity=10)
    capped = ProductVariantFactory(sku="CAPPED", stock_quantity=6)
    bulk = ProductVariantFactory(sku="BULK", stock_quantity=5000)
    new = ProductVariantFactory(sku="NEW", stock_quantity=10)
    for variant, quantity in [(both, 1), (capped, 4), (bulk, 999)]:
        CartLineFactory(cart=own, variant=variant, quantity=quantity)
    for variant, quantity in [(both, 2), (capped, 4), (bulk, 5), (new, 3)]:
        CartLineFactory(cart=guest, variant=variant, quantity=quantity)
    stock = list(ProductVariant.objects.order_by("pk").values_list("stock_quantity", flat=True))

    result = _sign_in(gql, mutation, customer, str(guest.token))

    assert skus(own) == [("BOTH", 3), ("BULK", 1000), ("CAPPED", 6), ("NEW", 3)]
    guest.refresh_from_db()
    assert guest.status == Cart.Status.MERGED
    assert guest.user is None
    assert (
        list(ProductVariant.objects.order_by("pk").values_list("stock_quantity", flat=True))
        == stock
    )
    client = _signed_in(gql, mutation, result)
    assert client(CART).data == {"cart": {"token": str(own.token), "totalQuantity": 1012}}
    # The guest token reaches nothing any more, for the customer or anyone else.
    assert client(CART, {"token": str(guest.token)}).data == {"cart": None}
    assert GraphQLClient()(CART, {"token": str(guest.token)}).data == {"cart": None}
    guest_add = GraphQLClient()(
        LINES_ADD, {"cartToken": str(guest.token), "lines": [add_line(new, 1)]}
    )
    assert messages(guest_add, "cartLinesAdd") == not_found_cart()
    assert skus(guest) == [("BOTH", 2), ("BULK", 5), ("CAPPED", 4), ("NEW", 3)]


@pytest.mark.parametrize("mutation", ["login", "tokenCreate"])
@pytest.mark.parametrize("whose", ["another customer", "unknown", "own"])
def test_sign_in_with_a_token_that_is_no_guest_cart_changes_no_cart(gql, customer, mutation, whose):
    own = CartLineFactory(cart__user=customer, variant__sku="MINE", quantity=1).cart
    theirs = CartLineFactory(cart__user=UserFactory(), variant__sku="THEIRS", quantity=2).cart
    token = {"another customer": theirs.token, "unknown": uuid.uuid4(), "own": own.token}[whose]
    before = cart_snapshot()

    _sign_in(gql, mutation, customer, str(token))

    assert cart_snapshot() == before


@pytest.mark.parametrize("mutation", ["login", "tokenCreate"])
def test_a_failed_sign_in_merges_nothing(gql, customer, mutation):
    CartLineFactory(cart__user=customer, quantity=1)
    guest = CartLineFactory(quantity=2).cart
    before = cart_snapshot()
    name = "login" if mutation == "login" else "tokenCreate"

    response = gql(
        LOGIN if mutation == "login" else TOKEN_CREATE,
        {"email": customer.email, "password": "wrong-password-1", "cartToken": str(guest.token)},
    )

    assert messages(response, name)[0]["code"] == "invalid_credentials"
    assert cart_snapshot() == before
    assert AuthToken.objects.count() == 0


# --- Query counts ------------------------------------------------------------------------------


def _variants(count: int) -> list[ProductVariant]:
    variants = ProductVariantFactory.create_batch(count, stock_quantity=10)
    for variant in variants:
        ProductImageFactory(product=variant.product)
    return variants


# cart_for, the variants, a savepoint, the lock, the existing lines, the insert or the update,
# the touch, its release; then the payload: the cart, its lines with variants and products,
# the images, the totals
ADD_QUERIES = 12


@pytest.mark.parametrize("count", [1, 10])
def test_cart_lines_add_of_new_lines_runs_a_fixed_number_of_queries(
    gql, django_assert_num_queries, count
):
    cart = CartFactory()
    lines = [add_line(variant, 1) for variant in _variants(count)]

    with django_assert_num_queries(ADD_QUERIES):
        response = gql(LINES_ADD_DETAIL, {"cartToken": str(cart.token), "lines": lines})

    result = payload(response, "cartLinesAdd")
    assert result["totalQuantity"] == count
    assert all(len(line["variant"]["product"]["images"]) == 1 for line in result["lines"])


@pytest.mark.parametrize("count", [1, 10])
def test_cart_lines_add_to_existing_lines_runs_a_fixed_number_of_queries(
    customer_gql, customer, django_assert_num_queries, count
):
    cart = CartFactory(user=customer)
    variants = _variants(count)
    for variant in variants:
        CartLineFactory(cart=cart, variant=variant, quantity=1)
    lines = [add_line(variant, 2) for variant in variants]

    # the session, the user and their permissions (the catalog's visibility rule) first
    with django_assert_num_queries(ADD_QUERIES + 4):
        response = customer_gql(LINES_ADD_DETAIL, {"lines": lines})

    result = payload(response, "cartLinesAdd")
    assert result["totalQuantity"] == 3 * count
    assert all(len(line["variant"]["product"]["images"]) == 1 for line in result["lines"])
