from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.cart.models import Cart, CartLine
from tests.cart.factories import CartFactory, CartLineFactory, cart_snapshot


def age(cart: Cart, days: int) -> None:
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now() - timedelta(days=days))


def test_purge_carts_deletes_stale_guest_and_merged_carts(db, customer):
    stale_guest = CartLineFactory(quantity=2).cart
    stale_merged = CartLineFactory(cart__status=Cart.Status.MERGED, quantity=1).cart
    recent_guest = CartLineFactory(quantity=1).cart
    recent_merged = CartFactory(status=Cart.Status.MERGED)
    stale_customer = CartLineFactory(cart__user=customer, quantity=1).cart
    stale_converted = CartLineFactory(cart__status=Cart.Status.CONVERTED, quantity=1).cart
    stale_customer_converted = CartFactory(user=customer, status=Cart.Status.CONVERTED)
    for cart in [stale_guest, stale_merged, stale_customer, stale_converted]:
        age(cart, days=31)
    age(stale_customer_converted, days=365)
    age(recent_guest, days=29)
    age(recent_merged, days=1)
    out = StringIO()

    call_command("purge_carts", "--days", "30", stdout=out)

    assert out.getvalue() == "Deleted 2 carts older than 30 days.\n"
    assert set(Cart.objects.values_list("pk", flat=True)) == {
        recent_guest.pk,
        recent_merged.pk,
        stale_customer.pk,
        stale_converted.pk,
        stale_customer_converted.pk,
    }
    assert set(CartLine.objects.values_list("cart_id", flat=True)) == {
        recent_guest.pk,
        stale_customer.pk,
        stale_converted.pk,
    }


def test_purge_carts_defaults_to_30_days(db):
    stale = CartFactory()
    recent = CartFactory()
    age(stale, days=31)
    age(recent, days=29)
    out = StringIO()

    call_command("purge_carts", stdout=out)

    assert out.getvalue() == "Deleted 1 carts older than 30 days.\n"
    assert list(Cart.objects.all()) == [recent]


def test_purge_carts_with_nothing_to_delete_says_so(db):
    CartFactory()
    before = cart_snapshot()
    out = StringIO()

    call_command("purge_carts", "--days", "30", stdout=out)

    assert out.getvalue() == "Deleted 0 carts older than 30 days.\n"
    assert cart_snapshot() == before


@pytest.mark.parametrize("days", ["0", "-1"])
def test_purge_carts_refuses_fewer_than_one_day(db, days):
    stale = CartLineFactory(quantity=1).cart
    age(stale, days=31)
    CartFactory()
    before = cart_snapshot()

    with pytest.raises(CommandError, match=r"^--days must be at least 1\.$"):
        call_command("purge_carts", "--days", days)

    assert cart_snapshot() == before
