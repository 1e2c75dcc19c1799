from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.orders.models import Order, OrderStatus
from tests.accounts.factories import UserFactory
from tests.orders.factories import advance, place_order, variant

ORDERS = """
query ($filters: OrderFilter, $ordering: [OrderOrder!], $first: Int) {
  orders(filters: $filters, ordering: $ordering, first: $first) {
    totalCount
    edges { node { number email status total { amount } user { email }
      lines { sku quantity } payment { status } } }
  }
}
"""


def numbers(result) -> list[str]:
    return [edge["node"]["number"] for edge in result.data["orders"]["edges"]]


@pytest.fixture
def three_orders(db):
    buyer = UserFactory(email="Maria.Lopez@example.com")
    guest = place_order(email="guest.one@example.com", lines=[(variant("10.00"), 1)], key="a")
    mine = place_order(user=buyer, lines=[(variant("30.00"), 2)], key="b")
    other = place_order(email="someone@else.org", lines=[(variant("20.00"), 1)], key="c")
    advance(mine, OrderStatus.SHIPPED)
    Order.objects.filter(pk=guest.pk).update(created_at=timezone.now() - timedelta(days=10))
    return guest, Order.objects.get(pk=mine.pk), other


def test_staff_see_every_order_newest_first(admin_gql, three_orders):
    guest, mine, other = three_orders
    result = admin_gql(ORDERS)
    assert result.data["orders"]["totalCount"] == 3
    assert numbers(result) == [other.number, mine.number, guest.number]


def test_staff_filter_by_status_date_range_and_customer_email(admin_gql, three_orders):
    guest, mine, other = three_orders
    shipped = admin_gql(ORDERS, {"filters": {"status": ["SHIPPED"]}})
    assert numbers(shipped) == [mine.number]
    recent = admin_gql(
        ORDERS, {"filters": {"createdAfter": (timezone.now() - timedelta(days=1)).isoformat()}}
    )
    assert numbers(recent) == [other.number, mine.number]
    older = admin_gql(
        ORDERS, {"filters": {"createdBefore": (timezone.now() - timedelta(days=1)).isoformat()}}
    )
    assert numbers(older) == [guest.number]
    by_account_email = admin_gql(ORDERS, {"filters": {"customerEmail": "maria.lopez"}})
    assert numbers(by_account_email) == [mine.number]
    by_order_email = admin_gql(ORDERS, {"filters": {"customerEmail": " GUEST.one "}})
    assert numbers(by_order_email) == [guest.number]


def test_staff_order_by_total(admin_gql, three_orders):
    guest, mine, other = three_orders
    ascending = admin_gql(ORDERS, {"ordering": [{"total": "ASC"}]})
    assert numbers(ascending) == [guest.number, other.number, mine.number]
    totals = [Decimal(e["node"]["total"]["amount"]) for e in ascending.data["orders"]["edges"]]
    assert totals == sorted(totals)


@pytest.mark.parametrize("api", ["gql", "customer_gql"])
def test_customers_and_anonymous_get_no_orders(request, three_orders, api):
    result = request.getfixturevalue(api)(ORDERS)
    assert result.data["orders"] == {"totalCount": 0, "edges": []}


def test_staff_orders_run_a_fixed_number_of_queries(admin_gql, db):
    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_gql(ORDERS, {"first": 50}).status_code == 200
        return len(captured.captured_queries)

    place_order(key="one")
    one = count()
    for n in range(5):
        place_order(key=f"more-{n}", lines=[(variant(), 1), (variant(), 2)])
    assert count() == one


def test_a_date_without_offset_is_read_in_the_shop_time_zone(admin_gql, three_orders):
    guest, _mine, _other = three_orders
    naive = (timezone.now() - timedelta(days=1)).replace(tzinfo=None).isoformat()
    result = admin_gql(ORDERS, {"filters": {"createdBefore": naive}})
    assert numbers(result) == [guest.number]
