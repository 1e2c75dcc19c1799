"""A cart mutation racing the checkout of the same cart, with real threads on PostgreSQL:
an added line is either in the order or refused, never accepted and lost."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError

from apps.cart import services as cart_services
from apps.cart.models import Cart
from apps.orders import services as order_services
from apps.orders.models import OrderLine
from tests.catalog.factories import ProductVariantFactory
from tests.orders.test_concurrency import ADDRESS, GUEST_EMAIL, new_cart, run_together


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(6))
def test_a_line_added_during_checkout_is_in_the_order_or_refused(attempt):
    cup, saucer = ProductVariantFactory(stock_quantity=50), ProductVariantFactory(stock_quantity=50)
    cart = new_cart((cup, 1))
    stale = Cart.objects.get(pk=cart.pk)  # what cartLinesAdd resolved before it locks

    def add():
        return cart_services.cart_lines_add(cart=stale, user=AnonymousUser(), lines=[(saucer, 2)])

    def checkout():
        return order_services.checkout_complete(
            cart_token=cart.token,
            user=AnonymousUser(),
            payment_method="CASH_ON_DELIVERY",
            idempotency_key=f"race-{attempt}",
            email=GUEST_EMAIL,
            shipping_address=ADDRESS,
        )

    added, order = run_together([add, checkout])

    lines = dict(OrderLine.objects.filter(order=order).values_list("variant_id", "quantity"))
    if isinstance(added, ValidationError):  # the checkout came first: the add is refused
        assert added.error_dict["cartToken"][0].code == "not_found"
        assert lines == {cup.pk: 1}
    else:  # the add came first: its line is in the order
        assert isinstance(added, Cart), added
        assert lines == {cup.pk: 1, saucer.pk: 2}
