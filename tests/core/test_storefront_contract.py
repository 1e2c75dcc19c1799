"""What a storefront needs from the API, without hard-coding anything: what the cart will cost,
counts on every list, whether an order can be cancelled, the defaults of an address book, an
order found by number and email, nullable orderings; and a development server that lets the
default frontend origin in and links to the port it listens on."""

import uuid
from decimal import Decimal

import pytest
from strawberry.relay import to_base64

from tests.accounts.factories import AddressFactory, UserFactory
from tests.catalog.factories import service_variant
from tests.conftest import GraphQLClient
from tests.core.test_settings import run_django
from tests.orders.factories import advance, cart_with, place_order, variant

CART = """query($token: UUID) { cart(token: $token) {
  subtotal { amount } requiresShipping shippingTotal { amount } total { amount }
  freeShippingThreshold { amount } } }"""


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        # goods under the threshold: the flat fee
        (lambda: [(variant(price="30.00"), 1)], ("30.00", True, "5.00", "35.00")),
        # goods from the threshold up: free
        (lambda: [(variant(price="50.00"), 2)], ("100.00", True, "0.00", "100.00")),
        # a service of 200 beside 30 of goods: the threshold counts what ships
        (
            lambda: [(variant(price="30.00"), 1), (service_variant(price="200.00"), 1)],
            ("230.00", True, "5.00", "235.00"),
        ),
        # services only: nothing ships
        (lambda: [(service_variant(price="45.00"), 1)], ("45.00", False, "0.00", "45.00")),
    ],
    ids=["fee", "free", "mixed", "services"],
)
def test_the_cart_says_what_checkout_will_charge(gql, settings, lines, expected):
    settings.SHIPPING_FLAT_FEE = Decimal("5.00")
    settings.FREE_SHIPPING_THRESHOLD = Decimal("100.00")
    cart = cart_with(*lines())

    answer = gql(CART, {"token": str(cart.token)}).data["cart"]

    assert (
        answer["subtotal"]["amount"],
        answer["requiresShipping"],
        answer["shippingTotal"]["amount"],
        answer["total"]["amount"],
    ) == expected
    assert answer["freeShippingThreshold"] == {"amount": "100.00"}


def test_the_cart_s_total_is_what_checkout_charges(gql, settings):
    settings.SHIPPING_FLAT_FEE = Decimal("5.00")
    cart = cart_with((variant(price="12.50"), 2))
    total = gql(CART, {"token": str(cart.token)}).data["cart"]["total"]["amount"]

    order = place_order(cart=cart)

    assert str(order.total) == total


def test_every_connection_counts_its_nodes_as_a_non_null_int():
    from schema.schema import schema

    connections = [
        type_
        for name, type_ in schema._schema.type_map.items()
        if name.endswith("Connection") and hasattr(type_, "fields")
    ]
    assert connections
    assert {str(type_.fields["totalCount"].type) for type_ in connections} == {"Int!"}


ORDER = """query($id: ID!) { order(id: $id) { canCancel payment { status } } }"""


@pytest.mark.parametrize(
    ("status", "customer_may", "staff_may"),
    [("PENDING", True, True), ("PAID", True, True), ("PROCESSING", False, True)],
)
def test_can_cancel_says_what_order_cancel_would_do(
    db, store_admin, status, customer_may, staff_may
):
    customer = UserFactory()
    order = advance(place_order(user=customer), status)
    gid = to_base64("Order", order.pk)

    mine = GraphQLClient().login(customer)(ORDER, {"id": gid}).data["order"]
    staff = GraphQLClient().login(store_admin)(ORDER, {"id": gid}).data["order"]

    assert (mine["canCancel"], staff["canCancel"]) == (customer_may, staff_may)
    assert mine["payment"]["status"] == ("PENDING" if status == "PENDING" else "CAPTURED")


LOOKUP = """query($number: String!, $email: String!) { orderLookup(number: $number, email: $email)
{ number lines { sku } } }"""


def test_a_guest_finds_an_order_by_number_and_email(gql):
    order = place_order(email="guest@example.com")

    found = gql(LOOKUP, {"number": order.number.lower(), "email": " Guest@Example.com "})

    assert found.data["orderLookup"]["number"] == order.number
    assert len(found.data["orderLookup"]["lines"]) == 1


def test_a_wrong_pair_answers_exactly_as_an_unknown_number(gql):
    order = place_order(email="guest@example.com")

    wrong = gql(LOOKUP, {"number": order.number, "email": "someone@example.com"})
    unknown = gql(LOOKUP, {"number": "SC-NOPE0000", "email": "guest@example.com"})

    assert wrong.body == unknown.body == {"data": {"orderLookup": None}}


def test_order_lookups_are_rate_limited(gql, settings):
    settings.RATELIMIT_AUTH_IP = "100/d"
    settings.RATELIMIT_AUTH_ACCOUNT = "2/d"
    order = place_order(email="guest@example.com")
    for _ in range(2):
        gql(LOOKUP, {"number": order.number, "email": "wrong@example.com"})

    response = gql(LOOKUP, {"number": order.number, "email": "guest@example.com"})

    assert response.errors[0]["extensions"]["code"] == "rate_limited"


def test_my_orders_take_an_ordering(customer_gql, customer):
    cheap = place_order(user=customer, lines=[(variant(price="5.00"), 1)], key="a")
    dear = place_order(user=customer, lines=[(variant(price="90.00"), 1)], key="b")
    query = "query($o: [OrderOrder!]) { me { orders(ordering: $o) { edges { node { number } } } } }"

    def numbers(ordering):
        edges = customer_gql(query, {"o": ordering}).data["me"]["orders"]["edges"]
        return [edge["node"]["number"] for edge in edges]

    assert numbers([{"total": "ASC"}]) == [cheap.number, dear.number]
    assert numbers([{"total": "DESC"}]) == [dear.number, cheap.number]
    assert numbers(None) == [dear.number, cheap.number]  # newest first


SET_DEFAULT = """mutation($id: ID!, $shipping: Boolean, $billing: Boolean) {
  addressSetDefault(id: $id, shipping: $shipping, billing: $billing) { __typename
  ... on OperationInfo { messages { code } } } }"""
ME = "{ me { defaultShippingAddress { city } defaultBillingAddress { city } } }"


def test_an_address_becomes_a_default(customer_gql, customer):
    home = AddressFactory(user=customer, city="Lyon")
    work = AddressFactory(user=customer, city="Paris")
    customer.default_shipping_address = customer.default_billing_address = home
    customer.save()

    response = customer_gql(SET_DEFAULT, {"id": to_base64("Address", work.pk), "billing": True})

    assert response.data == {"addressSetDefault": {"__typename": "Address"}}
    assert customer_gql(ME).data["me"] == {
        "defaultShippingAddress": {"city": "Lyon"},
        "defaultBillingAddress": {"city": "Paris"},
    }


def test_another_s_address_cannot_become_my_default(customer_gql, customer):
    theirs = AddressFactory(city="Rome")

    response = customer_gql(SET_DEFAULT, {"id": to_base64("Address", theirs.pk), "shipping": True})

    assert response.data["addressSetDefault"]["messages"][0]["code"] == "not_found"
    customer.refresh_from_db()
    assert customer.default_shipping_address_id is None


def test_an_address_update_changes_only_the_fields_given(customer_gql, customer):
    address = AddressFactory(user=customer, city="Lyon", line2="Flat 3")
    update = """mutation($id: ID!, $changes: AddressUpdateInput!) {
      addressUpdate(id: $id, changes: $changes) { ... on Address { city line2 postalCode } } }"""

    response = customer_gql(
        update,
        {"id": to_base64("Address", address.pk), "changes": {"city": "Paris", "line2": None}},
    )

    assert response.data["addressUpdate"] == {
        "city": "Paris",
        "line2": "",
        "postalCode": address.postal_code,
    }


@pytest.mark.parametrize("connection", ["products", "orders", "users", "lowStockVariants"])
def test_ordering_null_is_as_if_it_were_left_out(admin_gql, connection):
    from schema.schema import schema

    field = schema._schema.query_type.fields[connection]
    if "ordering" not in field.args:
        pytest.skip(f"{connection} takes no ordering")
    response = admin_gql(f"{{ {connection}(ordering: null) {{ totalCount }} }}")

    assert response.data == {connection: {"totalCount": 0}}


def test_the_development_server_lets_the_default_frontend_in_and_links_to_its_port():
    result = run_django(
        {"DJANGO_SETTINGS_MODULE": "backend.settings.local", "SITE_URL": "http://127.0.0.1:9101"},
        "from django.conf import settings as s; print(s.CORS_ALLOWED_ORIGINS[0]); "
        "print(s.ORDER_URL_TEMPLATE.split('/graphql/')[0]); print(s.FRONTEND_URL)",
    )

    assert result.returncode == 0, result.stderr
    cors, link, frontend = result.stdout.split()
    assert (cors, link) == (frontend, "http://127.0.0.1:9101")


def test_a_preflight_from_the_development_frontend_is_allowed(client, settings):
    settings.CORS_ALLOWED_ORIGINS = [settings.FRONTEND_URL]

    response = client.options(
        "/graphql/",
        headers={
            "Origin": settings.FRONTEND_URL,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )

    assert response["Access-Control-Allow-Origin"] == settings.FRONTEND_URL


def test_an_unknown_random_token_is_not_an_order(gql):
    assert gql(
        "query($t: UUID!) { orderByToken(token: $t) { number } }", {"t": str(uuid.uuid4())}
    ).data == {"orderByToken": None}
