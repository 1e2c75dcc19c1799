import uuid
from datetime import UTC, datetime

import pytest
from strawberry.relay import to_base64

from apps.catalog.models import ProductVariant
from apps.orders.models import Order, OrderStatus
from tests.accounts.factories import UserFactory
from tests.orders.factories import (
    BILLING_ADDRESS,
    advance,
    order_gid,
    place_order,
    variant,
)

ORDER = """
  id number token status email note
  user { email }
  lines { productName variantName sku quantity unitPrice { amount currency } lineTotal { amount } variant { sku } }
  subtotal { amount currency } shippingTotal { amount } total { amount }
  shippingAddress { fullName line1 line2 city region postalCode country phone }
  billingAddress { fullName country }
  payment { method status amount { amount } reference }
  events { type fromStatus toStatus note actor { email } }
"""
ORDER_BY_ID = f"query($id: ID!) {{ order(id: $id) {{ {ORDER} }} }}"
ORDER_BY_TOKEN = f"query($token: UUID!) {{ orderByToken(token: $token) {{ {ORDER} }} }}"
NODE = "query($id: ID!) { node(id: $id) { ... on Order { number } } }"
MY_ORDERS = """
query($filters: OrderFilter) {
  me { orders(first: 20, filters: $filters) { totalCount edges { node { number status } } } }
}
"""


def at(day: int) -> datetime:
    return datetime(2025, 3, day, 12, 0, tzinfo=UTC)


def placed_on(order: Order, day: int) -> Order:
    Order.objects.filter(pk=order.pk).update(created_at=at(day))
    return order


def numbers(response) -> list[str]:
    return [edge["node"]["number"] for edge in response.data["me"]["orders"]["edges"]]


# --- order(id) --------------------------------------------------------------------------------


def test_a_customer_reads_their_order(customer_gql, customer):
    shoe = variant(price="40.00", name="EU 42", product__name="Runner", sku="RUN-42")
    order = place_order(
        user=customer, lines=[(shoe, 2)], note="Ring twice", billing=BILLING_ADDRESS
    )

    response = customer_gql(ORDER_BY_ID, {"id": order_gid(order)})

    assert response.data["order"] == {
        "id": order_gid(order),
        "number": order.number,
        "token": str(order.token),
        "status": "PENDING",
        "email": "casey@example.com",
        "note": "Ring twice",
        "user": {"email": "casey@example.com"},
        "lines": [
            {
                "productName": "Runner",
                "variantName": "EU 42",
                "sku": "RUN-42",
                "quantity": 2,
                "unitPrice": {"amount": "40.00", "currency": "USD"},
                "lineTotal": {"amount": "80.00"},
                "variant": {"sku": "RUN-42"},
            }
        ],
        "subtotal": {"amount": "80.00", "currency": "USD"},
        "shippingTotal": {"amount": "5.00"},
        "total": {"amount": "85.00"},
        "shippingAddress": {
            "fullName": "Casey Buyer",
            "line1": "12 Rue de Rivoli",
            "line2": "Apt 4",
            "city": "Paris",
            "region": "",
            "postalCode": "75001",
            "country": "FR",
            "phone": "",
        },
        "billingAddress": {"fullName": "Casey Accounts", "country": "US"},
        "payment": {
            "method": "CARD_PLACEHOLDER",
            "status": "PENDING",
            "amount": {"amount": "85.00"},
            "reference": order.payment.reference,
        },
        "events": [
            {
                "type": "PLACED",
                "fromStatus": None,
                "toStatus": "PENDING",
                "note": "",
                "actor": {"email": "casey@example.com"},
            }
        ],
    }


def test_staff_read_any_order(admin_gql, store_admin):
    order = advance(
        place_order(user=UserFactory(email="buyer@example.com")), "PAID", actor=store_admin
    )

    response = admin_gql(ORDER_BY_ID, {"id": order_gid(order)})

    data = response.data["order"]
    assert (data["number"], data["status"], data["user"]) == (
        order.number,
        "PAID",
        {"email": "buyer@example.com"},
    )
    assert data["payment"]["status"] == "CAPTURED"
    assert [(e["type"], e["fromStatus"], e["toStatus"], e["actor"]) for e in data["events"]] == [
        ("PLACED", None, "PENDING", {"email": "buyer@example.com"}),
        ("STATUS_CHANGED", "PENDING", "PAID", {"email": "admin@example.com"}),
    ]


def test_a_guest_order_has_no_user(admin_gql):
    order = place_order(email="guest@example.com")

    response = admin_gql(ORDER_BY_ID, {"id": order_gid(order)})

    assert response.data["order"]["user"] is None
    assert response.data["order"]["email"] == "guest@example.com"
    assert response.data["order"]["events"][0]["actor"] is None


@pytest.mark.parametrize("client", ["gql", "customer_gql"])
def test_an_order_of_someone_else_is_null(db, request, client):
    api = request.getfixturevalue(client)
    others = place_order(user=UserFactory())
    guests = place_order()

    for order in (others, guests):
        assert api(ORDER_BY_ID, {"id": order_gid(order)}).data == {"order": None}
        assert api(NODE, {"id": order_gid(order)}).data == {"node": None}


@pytest.mark.parametrize(
    "gid",
    [to_base64("Order", 999999), to_base64("Product", 1), to_base64("Order", "abc")],
)
def test_an_unknown_order_id_is_null(admin_gql, gid):
    place_order()

    assert admin_gql(ORDER_BY_ID, {"id": gid}).data == {"order": None}


def test_a_customer_sees_a_deactivated_variant_as_null_and_keeps_the_line(
    customer_gql, admin_gql, customer
):
    shoe = variant(name="EU 42", product__name="Runner", sku="RUN-42")
    order = place_order(user=customer, lines=[(shoe, 1)])
    ProductVariant.objects.filter(pk=shoe.pk).update(is_active=False, sku="RUN-42-OLD", name="Gone")

    as_customer = customer_gql(ORDER_BY_ID, {"id": order_gid(order)}).data["order"]["lines"]
    as_staff = admin_gql(ORDER_BY_ID, {"id": order_gid(order)}).data["order"]["lines"]

    assert [
        (li["productName"], li["variantName"], li["sku"], li["variant"]) for li in as_customer
    ] == [("Runner", "EU 42", "RUN-42", None)]
    assert as_staff[0]["variant"] == {"sku": "RUN-42-OLD"}


# --- orderByToken -----------------------------------------------------------------------------


def test_a_guest_reads_their_order_by_its_token(gql):
    order = place_order(email="guest@example.com")

    response = gql(ORDER_BY_TOKEN, {"token": str(order.token)})

    data = response.data["orderByToken"]
    assert (data["id"], data["number"], data["token"], data["email"], data["user"]) == (
        order_gid(order),
        order.number,
        str(order.token),
        "guest@example.com",
        None,
    )
    assert data["total"] == {"amount": "44.98"}


def test_the_token_link_of_a_customer_order_hides_the_account(gql, customer):
    order = place_order(user=customer)

    data = gql(ORDER_BY_TOKEN, {"token": str(order.token)}).data["orderByToken"]

    assert data["number"] == order.number
    assert data["user"] is None
    assert data["events"][0]["actor"] is None


@pytest.mark.parametrize("client", ["gql", "customer_gql", "admin_gql"])
def test_a_wrong_token_reads_nothing(db, request, client):
    api = request.getfixturevalue(client)
    order = place_order()

    assert api(ORDER_BY_TOKEN, {"token": str(uuid.uuid4())}).data == {"orderByToken": None}
    assert api(ORDER_BY_TOKEN, {"token": str(order.cart.token)}).data == {"orderByToken": None}


def test_a_malformed_token_is_an_error_of_its_field(gql):
    place_order()

    response = gql(ORDER_BY_TOKEN, {"token": "not-a-uuid"})

    assert response.body["data"] == {"orderByToken": None}
    (error,) = response.errors
    assert (error["path"], error["extensions"]["code"]) == (["orderByToken"], "invalid")


# --- me.orders --------------------------------------------------------------------------------


def test_my_orders_are_mine_newest_first(customer_gql, customer):
    first = placed_on(place_order(user=customer, key="a"), 1)
    second = placed_on(place_order(user=customer, key="b"), 2)
    place_order(user=UserFactory(), key="a")
    place_order(key="a")

    response = customer_gql(MY_ORDERS)

    assert response.data["me"]["orders"]["totalCount"] == 2
    assert numbers(response) == [second.number, first.number]


def test_anonymous_has_no_orders(gql):
    place_order()

    assert gql(MY_ORDERS).data == {"me": None}


@pytest.fixture
def history(customer):
    """Orders of the customer, one a day from March 1st to 5th 2025, in several statuses."""
    orders = {}
    for day, status in enumerate(
        [
            OrderStatus.PENDING,
            OrderStatus.PAID,
            OrderStatus.SHIPPED,
            OrderStatus.CANCELLED,
            OrderStatus.PAID,
        ],
        start=1,
    ):
        orders[day] = placed_on(advance(place_order(user=customer, key=f"day-{day}"), status), day)
    place_order(user=UserFactory(), key="other")  # never in the customer's lists
    return orders


@pytest.mark.parametrize(
    ("filters", "days"),
    [
        ({}, [5, 4, 3, 2, 1]),
        ({"status": ["PAID"]}, [5, 2]),
        ({"status": ["PAID", "CANCELLED"]}, [5, 4, 2]),
        ({"status": ["REFUNDED"]}, []),
        ({"status": []}, []),
        ({"createdAfter": "2025-03-03T12:00:00+00:00"}, [5, 4, 3]),
        ({"createdBefore": "2025-03-03T12:00:00+00:00"}, [2, 1]),
        (
            {"createdAfter": "2025-03-02T00:00:00Z", "createdBefore": "2025-03-04T23:00:00Z"},
            [4, 3, 2],
        ),
        ({"createdAfter": "2025-03-02T00:00:00Z", "status": ["PAID"]}, [5, 2]),
    ],
)
def test_my_orders_filter_by_status_and_date(customer_gql, history, filters, days):
    response = customer_gql(MY_ORDERS, {"filters": filters})

    assert numbers(response) == [history[day].number for day in days]
    assert response.data["me"]["orders"]["totalCount"] == len(days)


def test_my_orders_filter_by_number(customer_gql, history):
    wanted = history[3].number

    exact = customer_gql(MY_ORDERS, {"filters": {"number": wanted}})
    loose = customer_gql(MY_ORDERS, {"filters": {"number": f"  {wanted.lower()} "}})
    partial = customer_gql(MY_ORDERS, {"filters": {"number": wanted[:-1]}})
    someone_elses = customer_gql(
        MY_ORDERS, {"filters": {"number": Order.objects.get(idempotency_key="other").number}}
    )

    assert numbers(exact) == [wanted]
    assert numbers(loose) == [wanted]
    assert numbers(partial) == []
    assert numbers(someone_elses) == []


def test_my_orders_page_through(customer_gql, history):
    query = """
    query($after: String) {
      me { orders(first: 2, after: $after) { pageInfo { hasNextPage endCursor } edges { node { number } } } }
    }
    """
    seen, after = [], None
    while True:
        page = customer_gql(query, {"after": after}).data["me"]["orders"]
        seen += [edge["node"]["number"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert seen == [history[day].number for day in (5, 4, 3, 2, 1)]


# --- query counts -----------------------------------------------------------------------------

DEEP_ORDERS = """
{ me { orders(first: 10) { edges { node {
  lines { sku unitPrice { amount } variant { sku } } payment { status } events { type }
} } } } }
"""


def test_my_orders_with_lines_payment_and_events_run_a_fixed_number_of_queries(
    customer_gql, customer, django_assert_num_queries
):
    def order_with_history(n: int) -> None:
        order = place_order(user=customer, key=f"k{n}", lines=[(variant(), 1), (variant(), 2)])
        advance(order, OrderStatus.PAID)

    order_with_history(0)
    customer_gql("{ __typename }")  # the session is read once outside the count

    # session, user, user and group permissions (the user's visibility), orders joined to
    # their payment, lines, variants, events
    with django_assert_num_queries(8):
        one = customer_gql(DEEP_ORDERS)
    for n in range(1, 5):
        order_with_history(n)
    with django_assert_num_queries(8):
        five = customer_gql(DEEP_ORDERS)

    assert len(one.data["me"]["orders"]["edges"]) == 1
    edges = five.data["me"]["orders"]["edges"]
    assert len(edges) == 5
    assert all(len(edge["node"]["lines"]) == 2 for edge in edges)
    assert all(edge["node"]["payment"] == {"status": "CAPTURED"} for edge in edges)
    assert all(
        [event["type"] for event in edge["node"]["events"]] == ["PLACED", "STATUS_CHANGED"]
        for edge in edges
    )
    assert all(line["variant"] is not None for edge in edges for line in edge["node"]["lines"])
