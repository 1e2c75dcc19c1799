import uuid
from decimal import Decimal

import pytest

from apps.accounts import services as account_services
from apps.cart.models import Cart
from apps.catalog.models import Product, ProductVariant
from tests.accounts.factories import UserFactory
from tests.cart.factories import CartFactory, CartLineFactory, cart_snapshot, line_id
from tests.catalog.factories import ProductImageFactory, global_id
from tests.conftest import GraphQLClient

CART = """
query Cart($token: UUID) {
  cart(token: $token) {
    token
    totalQuantity
    subtotal { amount currency }
    lines {
      id quantity available
      unitPrice { amount currency }
      lineTotal { amount currency }
      variant { id sku }
    }
  }
}
"""

CART_TOKEN = "query Cart($token: UUID) { cart(token: $token) { token } }"

CART_DETAIL = """
query Cart($token: UUID) {
  cart(token: $token) {
    lines {
      variant { sku product { name images { url } } }
      unitPrice { amount }
      lineTotal { amount }
      available
    }
    totalQuantity
    subtotal { amount }
  }
}
"""


def money(amount: str) -> dict:
    return {"amount": amount, "currency": "USD"}


def cart_data(response) -> dict | None:
    return response.data["cart"]


# --- Who reaches which cart --------------------------------------------------------------------


def test_a_guest_reaches_a_guest_cart_by_its_token(gql):
    line = CartLineFactory(
        variant__sku="PAN", variant__price=Decimal("24.50"), variant__stock_quantity=5, quantity=2
    )
    cart = line.cart

    response = gql(CART, {"token": str(cart.token)})

    assert cart_data(response) == {
        "token": str(cart.token),
        "totalQuantity": 2,
        "subtotal": money("49.00"),
        "lines": [
            {
                "id": line_id(line),
                "quantity": 2,
                "available": True,
                "unitPrice": money("24.50"),
                "lineTotal": money("49.00"),
                "variant": {"id": global_id(line.variant), "sku": "PAN"},
            }
        ],
    }


def test_a_guest_without_a_token_gets_no_cart(gql):
    CartLineFactory()
    before = cart_snapshot()

    assert cart_data(gql(CART)) is None
    assert cart_snapshot() == before


def test_an_unknown_token_gets_no_cart(gql, customer_gql, customer):
    CartLineFactory()
    CartFactory(user=customer)
    before = cart_snapshot()

    assert cart_data(gql(CART, {"token": str(uuid.uuid4())})) is None
    assert cart_data(customer_gql(CART, {"token": str(uuid.uuid4())})) is None
    assert cart_snapshot() == before


def test_a_customer_without_a_token_gets_their_active_cart(customer_gql, customer):
    CartFactory(user=customer, status=Cart.Status.CONVERTED)
    CartFactory()
    cart = CartLineFactory(cart__user=customer, variant__sku="PAN", quantity=3).cart

    response = customer_gql(CART)

    assert cart_data(response)["token"] == str(cart.token)
    assert cart_data(response)["totalQuantity"] == 3


def test_a_customer_reaches_their_cart_by_its_token(customer_gql, customer):
    cart = CartFactory(user=customer)

    assert cart_data(customer_gql(CART_TOKEN, {"token": str(cart.token)})) == {
        "token": str(cart.token)
    }


def test_a_customer_signed_in_with_a_bearer_token_gets_their_cart(db, customer):
    cart = CartFactory(user=customer)
    client = GraphQLClient()
    _, client.token = account_services.token_create(user=customer)

    assert cart_data(client(CART_TOKEN)) == {"token": str(cart.token)}


def test_a_customer_without_an_active_cart_gets_none(customer_gql, customer):
    CartFactory(user=customer, status=Cart.Status.CONVERTED)
    CartFactory(user=customer, status=Cart.Status.MERGED)
    before = cart_snapshot()

    assert cart_data(customer_gql(CART)) is None
    assert cart_snapshot() == before


def test_a_customers_cart_is_hidden_from_everyone_else(gql, admin_gql, customer):
    cart = CartLineFactory(cart__user=customer, quantity=2).cart
    other_gql = GraphQLClient().login(UserFactory())
    before = cart_snapshot()

    assert cart_data(other_gql(CART, {"token": str(cart.token)})) is None
    assert cart_data(other_gql(CART)) is None
    assert cart_data(gql(CART, {"token": str(cart.token)})) is None
    assert cart_data(admin_gql(CART, {"token": str(cart.token)})) is None
    assert cart_snapshot() == before


def test_a_closed_cart_is_reached_by_no_one(gql, customer_gql, customer):
    converted = CartFactory(user=customer, status=Cart.Status.CONVERTED)
    merged = CartFactory(status=Cart.Status.MERGED)
    guest_converted = CartFactory(status=Cart.Status.CONVERTED)
    before = cart_snapshot()

    assert cart_data(customer_gql(CART, {"token": str(converted.token)})) is None
    assert cart_data(gql(CART, {"token": str(merged.token)})) is None
    assert cart_data(gql(CART, {"token": str(guest_converted.token)})) is None
    assert cart_snapshot() == before


def test_a_signed_in_customer_reaches_a_guest_cart_by_its_token(customer_gql, customer):
    CartFactory(user=customer)
    guest = CartFactory()

    assert cart_data(customer_gql(CART_TOKEN, {"token": str(guest.token)})) == {
        "token": str(guest.token)
    }


def test_a_malformed_token_is_an_error_of_its_field(gql):
    CartLineFactory()
    before = cart_snapshot()

    response = gql(CART, {"token": "not-a-uuid"})

    assert response.body["data"] == {"cart": None}
    (error,) = response.errors
    assert (error["path"], error["extensions"]["code"]) == (["cart"], "invalid")
    assert cart_snapshot() == before


# --- Lines, money and availability -------------------------------------------------------------


def test_money_is_a_string_with_two_decimals(gql):
    cart = CartFactory()
    dime = CartLineFactory(cart=cart, variant__price=Decimal("0.10"), quantity=3)
    round_price = CartLineFactory(cart=cart, variant__price=Decimal("10"), quantity=1)
    odd = CartLineFactory(cart=cart, variant__price=Decimal("19.99"), quantity=7)

    lines = cart_data(gql(CART, {"token": str(cart.token)}))

    assert [(line["unitPrice"], line["lineTotal"]) for line in lines["lines"]] == [
        (money("0.10"), money("0.30")),
        (money("10.00"), money("10.00")),
        (money("19.99"), money("139.93")),
    ]
    assert [line["id"] for line in lines["lines"]] == [
        line_id(dime),
        line_id(round_price),
        line_id(odd),
    ]
    assert lines["subtotal"] == money("150.23")
    assert lines["totalQuantity"] == 11


def test_an_empty_cart_totals_zero(gql):
    cart = CartFactory()

    assert cart_data(gql(CART, {"token": str(cart.token)})) == {
        "token": str(cart.token),
        "totalQuantity": 0,
        "subtotal": money("0.00"),
        "lines": [],
    }


def test_a_line_shows_the_current_price(gql):
    line = CartLineFactory(variant__price=Decimal("5.00"), quantity=2)
    ProductVariant.objects.filter(pk=line.variant_id).update(price=Decimal("6.25"))

    data = cart_data(gql(CART, {"token": str(line.cart.token)}))

    assert data["lines"][0]["unitPrice"] == money("6.25")
    assert data["lines"][0]["lineTotal"] == money("12.50")
    assert data["subtotal"] == money("12.50")


@pytest.mark.parametrize("deactivate", ["variant", "product"])
def test_a_line_whose_variant_was_deactivated_stays_visible_as_unavailable(gql, deactivate):
    cart = CartFactory()
    kept = CartLineFactory(
        cart=cart, variant__sku="KEPT", variant__price=Decimal("2.50"), quantity=2
    )
    gone = CartLineFactory(
        cart=cart,
        variant__sku="GONE",
        variant__price=Decimal("9.00"),
        variant__product__name="Old Kettle",
        quantity=3,
    )
    ProductImageFactory(product=gone.variant.product)
    if deactivate == "variant":
        ProductVariant.objects.filter(pk=gone.variant_id).update(is_active=False)
    else:
        Product.objects.filter(pk=gone.variant.product_id).update(is_active=False)
    before = cart_snapshot()

    response = gql(CART_DETAIL, {"token": str(cart.token)})

    assert response.errors == []
    gone_images = [{"url": "http://testserver" + gone.variant.product.images.get().image.url}]
    assert cart_data(response) == {
        "lines": [
            {
                "variant": {
                    "sku": "KEPT",
                    "product": {"name": kept.variant.product.name, "images": []},
                },
                "unitPrice": {"amount": "2.50"},
                "lineTotal": {"amount": "5.00"},
                "available": True,
            },
            {
                "variant": {
                    "sku": "GONE",
                    "product": {
                        "name": "Old Kettle",
                        # images follow the catalog's rule: hidden with an inactive product
                        "images": gone_images if deactivate == "variant" else [],
                    },
                },
                "unitPrice": {"amount": "9.00"},
                "lineTotal": {"amount": "27.00"},
                "available": False,
            },
        ],
        "totalQuantity": 2,
        "subtotal": {"amount": "5.00"},
    }
    assert cart_snapshot() == before


def test_a_cart_of_only_unavailable_lines_totals_zero(customer_gql, customer):
    line = CartLineFactory(cart__user=customer, variant__is_active=False, quantity=4)

    data = cart_data(customer_gql(CART))

    assert data["totalQuantity"] == 0
    assert data["subtotal"] == money("0.00")
    assert data["lines"] == [
        {
            "id": line_id(line),
            "quantity": 4,
            "available": False,
            "unitPrice": money("19.99"),
            "lineTotal": money("79.96"),
            "variant": {"id": global_id(line.variant), "sku": line.variant.sku},
        }
    ]


def test_lines_come_in_the_order_they_were_added(gql):
    cart = CartFactory()
    skus = ["C", "A", "B"]
    for sku in skus:
        CartLineFactory(cart=cart, variant__sku=sku, variant__price=Decimal("1.00"))

    data = cart_data(gql(CART, {"token": str(cart.token)}))

    assert [line["variant"]["sku"] for line in data["lines"]] == skus


# --- Query counts ------------------------------------------------------------------------------


def _cart_of(lines: int, **kwargs) -> Cart:
    cart = CartFactory(**kwargs)
    for number in range(lines):
        line = CartLineFactory(cart=cart, quantity=number + 1)
        ProductImageFactory.create_batch(2, product=line.variant.product)
    # one line unavailable, to load both kinds
    ProductVariant.objects.filter(pk=line.variant_id).update(is_active=False)
    return cart


# cart_for, the cart, its lines with variants and products, the images, the totals
GUEST_CART_QUERIES = 5


@pytest.mark.parametrize("lines", [1, 10])
def test_the_cart_query_runs_a_fixed_number_of_queries(gql, django_assert_num_queries, lines):
    cart = _cart_of(lines)

    with django_assert_num_queries(GUEST_CART_QUERIES):
        response = gql(CART_DETAIL, {"token": str(cart.token)})

    data = cart_data(response)
    assert len(data["lines"]) == lines
    assert all(len(line["variant"]["product"]["images"]) == 2 for line in data["lines"])


@pytest.mark.parametrize("lines", [1, 10])
def test_a_customers_cart_query_runs_a_fixed_number_of_queries(
    customer_gql, customer, django_assert_num_queries, lines
):
    _cart_of(lines, user=customer)

    # the session, the user and their permissions (the catalog's visibility rule) first
    with django_assert_num_queries(GUEST_CART_QUERIES + 4):
        response = customer_gql(CART_DETAIL)

    assert len(cart_data(response)["lines"]) == lines


@pytest.mark.parametrize(
    ("selection", "queries"),
    [
        # cart_for, the cart, its lines (joined with what the field reads)
        ("available", 3),
        ("unitPrice { amount }", 3),
        ("lineTotal { amount }", 3),
        ("quantity variant { id }", 4),  # + the images the variant field prefetches
        ("variant { sku isActive price { amount } quantityAvailable inStock }", 4),
        ("variant { product { name isActive category { name } } }", 4),
    ],
)
@pytest.mark.parametrize("lines", [1, 10])
def test_each_line_field_alone_runs_a_fixed_number_of_queries(
    gql, django_assert_num_queries, selection, queries, lines
):
    cart = _cart_of(lines)

    with django_assert_num_queries(queries):
        response = gql(
            f"query($t: UUID) {{ cart(token: $t) {{ lines {{ {selection} }} }} }}",
            {"t": str(cart.token)},
        )

    assert len(cart_data(response)["lines"]) == lines
