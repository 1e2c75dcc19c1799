"""Carts, checkout and orders with lines of every kind: goods ship and take stock, services
neither; an order with nothing to ship needs no address, pays no shipping and never ships."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.bookings.models import Booking, BookingStatus
from apps.cart.models import CartLine
from apps.catalog.models import ProductKind, StockMovement
from apps.orders import services
from apps.orders.models import Order, OrderStatus
from apps.payments.models import Payment
from tests.bookings.factories import book, free_slot
from tests.cart.factories import CartFactory, CartLineFactory
from tests.catalog.factories import service_variant
from tests.orders.factories import (
    ADDRESS,
    ADDRESS_INPUT,
    NO_ADDRESS,
    advance,
    cart_with,
    place_order,
    variant,
    world,
)


def codes(error: ValidationError) -> dict:
    return {field: [e.code for e in errors] for field, errors in error.error_dict.items()}


# --- checkout -------------------------------------------------------------------------------


def test_a_cart_of_services_checks_out_without_an_address_and_pays_no_shipping(db):
    cut = service_variant(price="45.00")
    before = list(StockMovement.objects.values())

    order = place_order(lines=[(cut, 1)], shipping=NO_ADDRESS)

    order.refresh_from_db()
    assert (order.requires_shipping, order.shipping_address, order.billing_address) == (
        False,
        None,
        None,
    )
    assert (order.subtotal, order.shipping_total, order.total) == (
        Decimal("45.00"),
        Decimal("0.00"),
        Decimal("45.00"),
    )
    assert list(order.lines.values_list("kind", "sku", "quantity")) == [
        (ProductKind.SERVICE, cut.sku, 1)
    ]
    assert list(StockMovement.objects.values()) == before  # a service has no stock
    assert Payment.objects.get(order=order).amount == Decimal("45.00")


def test_a_billing_address_is_kept_even_when_nothing_ships(db):
    order = place_order(lines=[(service_variant(), 1)], shipping=NO_ADDRESS, billing=ADDRESS)

    order.refresh_from_db()
    assert order.shipping_address is None
    assert order.billing_address == ADDRESS


def test_shipping_is_charged_on_what_ships_only(db, settings):
    settings.SHIPPING_FLAT_FEE = Decimal("5.00")
    settings.FREE_SHIPPING_THRESHOLD = Decimal("100.00")
    mug, colour = variant(price="30.00"), service_variant(price="200.00")

    order = place_order(lines=[(mug, 1), (colour, 1)])

    # 230.00 in all, but only the 30.00 mug ships: under the threshold, the fee applies.
    assert (order.requires_shipping, order.subtotal, order.shipping_total, order.total) == (
        True,
        Decimal("230.00"),
        Decimal("5.00"),
        Decimal("235.00"),
    )
    assert order.shipping_address == ADDRESS
    assert list(order.lines.order_by("pk").values_list("kind", flat=True)) == [
        ProductKind.GOODS,
        ProductKind.SERVICE,
    ]


def test_goods_over_the_threshold_ship_free_beside_services(db, settings):
    settings.FREE_SHIPPING_THRESHOLD = Decimal("100.00")
    order = place_order(lines=[(variant(price="120.00"), 1), (service_variant(), 1)])

    assert order.shipping_total == Decimal("0.00")


def test_a_cart_with_goods_still_needs_a_shipping_address(db):
    cart = cart_with((variant(stock=5), 1), (service_variant(), 1))
    before = world()

    with pytest.raises(ValidationError) as raised:
        place_order(cart=cart, shipping=NO_ADDRESS)

    assert codes(raised.value) == {"shippingAddress": ["required"]}
    assert world() == before


def test_checkout_takes_stock_for_goods_only(db):
    mug, cut = variant(stock=5), service_variant(product__settings__seats_per_slot=3)

    order = place_order(lines=[(mug, 2), (cut, 3)])

    mug.refresh_from_db()
    cut.refresh_from_db()
    assert (mug.stock_quantity, cut.stock_quantity) == (3, 0)
    assert list(StockMovement.objects.values_list("variant", "delta")) == [(mug.pk, -2)]
    # what the service takes is its slot: three seats of it
    assert list(Booking.objects.values_list("order", "variant", "seats", "status")) == [
        (order.pk, cut.pk, 3, BookingStatus.CONFIRMED)
    ]


def test_a_service_line_that_holds_no_slot_is_refused_and_nothing_changes(db):
    cart = cart_with((variant(stock=5), 1))
    CartLineFactory(cart=cart, variant=service_variant(), quantity=1)  # its hold was let go
    before = world()

    with pytest.raises(ValidationError) as raised:
        place_order(cart=cart)

    assert raised.value.code == "slot_required"
    assert world() == before


def test_an_order_keeps_its_lines_in_the_cart_s_order_whatever_their_kinds(db):
    cut, mug, tea = service_variant(), variant(), variant()

    order = place_order(lines=[(cut, 1), (mug, 1), (tea, 1)])

    assert list(order.lines.order_by("pk").values_list("sku", flat=True)) == [
        cut.sku,
        mug.sku,
        tea.sku,
    ]


def test_the_database_refuses_an_order_that_ships_without_an_address(db):
    order = place_order()

    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=order.pk).update(shipping_address=None)


# --- the state machine ----------------------------------------------------------------------


def test_an_order_with_nothing_to_ship_goes_from_paid_to_delivered(db):
    order = advance(place_order(lines=[(service_variant(), 1)], shipping=NO_ADDRESS), "PAID")

    order = services.order_transition(order=order, status=OrderStatus.DELIVERED)

    assert order.status == OrderStatus.DELIVERED


@pytest.mark.parametrize("before", [OrderStatus.PAID, OrderStatus.PROCESSING])
def test_an_order_with_nothing_to_ship_never_ships(db, before):
    order = advance(place_order(lines=[(service_variant(), 1)], shipping=NO_ADDRESS), before)

    with pytest.raises(ValidationError) as raised:
        services.order_transition(order=order, status=OrderStatus.SHIPPED)

    assert codes(raised.value) == {"status": ["invalid_transition"]}
    order.refresh_from_db()
    assert order.status == before


def test_an_order_with_goods_cannot_skip_shipping(db):
    order = advance(place_order(lines=[(variant(), 1), (service_variant(), 1)]), "PAID")

    with pytest.raises(ValidationError) as raised:
        services.order_transition(order=order, status=OrderStatus.DELIVERED)

    assert codes(raised.value) == {"status": ["invalid_transition"]}


def test_cancelling_a_mixed_order_returns_the_goods_to_stock_and_nothing_else(db):
    mug, cut = variant(stock=5), service_variant()
    order = place_order(lines=[(mug, 2), (cut, 1)])

    services.order_transition(order=order, status=OrderStatus.CANCELLED)

    mug.refresh_from_db()
    cut.refresh_from_db()
    assert (mug.stock_quantity, cut.stock_quantity) == (5, 0)
    assert list(StockMovement.objects.order_by("pk").values_list("variant", "kind", "delta")) == [
        (mug.pk, "sale", -2),
        (mug.pk, "return", 2),
    ]


# --- carts ----------------------------------------------------------------------------------


def test_a_cart_may_hold_several_lines_of_one_service_but_one_line_per_goods_variant(db):
    cart = CartFactory()
    cut, mug = service_variant(), variant()
    first = book(cut, cart=cart)
    second = book(cut, cart=cart)  # another slot, later
    CartLineFactory(cart=cart, variant=mug)

    with pytest.raises(IntegrityError), transaction.atomic():
        CartLineFactory(cart=cart, variant=mug)

    assert list(CartLine.objects.order_by("pk").values_list("kind", flat=True)) == [
        "SERVICE",
        "SERVICE",
        "GOODS",
    ]
    assert first.end <= second.start  # the next free slot


# --- the API ---------------------------------------------------------------------------------

ADD = """
mutation($lines: [CartLineInput!]!) { cartLinesAdd(lines: $lines) {
  __typename
  ... on Cart { token lines { kind quantity variant { sku inStock quantityAvailable } } }
  ... on OperationInfo { messages { code field } }
} }
"""

CHECKOUT = """
mutation($input: CheckoutInput!) { checkoutComplete(input: $input) {
  __typename
  ... on Order {
    requiresShipping shippingAddress { city } billingAddress { city }
    subtotal { amount } shippingTotal { amount } total { amount }
    lines { kind sku quantity }
  }
  ... on OperationInfo { messages { code field } }
} }
"""


def test_a_guest_books_a_service_and_checks_out_with_an_email_only(gql):
    from strawberry.relay import to_base64

    cut = service_variant(price="45.00", product__settings__seats_per_slot=2)
    start = free_slot(cut)

    added = gql(
        ADD,
        {
            "lines": [
                {
                    "variantId": to_base64("ProductVariant", cut.pk),
                    "quantity": 2,
                    "slot": {"start": start.isoformat()},
                }
            ]
        },
    )
    cart = added.data["cartLinesAdd"]
    assert cart["lines"] == [
        {
            "kind": "SERVICE",
            "quantity": 2,
            # a service has no stock, yet it can be bought: its slots are what it sells
            "variant": {"sku": cut.sku, "inStock": True, "quantityAvailable": 0},
        }
    ]

    placed = gql(
        CHECKOUT,
        {
            "input": {
                "cartToken": cart["token"],
                "email": "guest@example.com",
                "paymentMethod": "CARD_PLACEHOLDER",
                "idempotencyKey": "one",
            }
        },
    )

    assert placed.data["checkoutComplete"] == {
        "__typename": "Order",
        "requiresShipping": False,
        "shippingAddress": None,
        "billingAddress": None,
        "subtotal": {"amount": "90.00"},
        "shippingTotal": {"amount": "0.00"},
        "total": {"amount": "90.00"},
        "lines": [{"kind": "SERVICE", "sku": cut.sku, "quantity": 2}],
    }
    assert list(Booking.objects.values_list("start", "seats", "status")) == [
        (start, 2, BookingStatus.CONFIRMED)
    ]


def test_a_mixed_cart_without_an_address_is_refused_and_nothing_changes(gql):
    cart = cart_with((variant(), 1), (service_variant(), 1))
    before = world()

    response = gql(
        CHECKOUT,
        {
            "input": {
                "cartToken": str(cart.token),
                "email": "guest@example.com",
                "paymentMethod": "CARD_PLACEHOLDER",
                "idempotencyKey": "one",
            }
        },
    )

    assert response.data["checkoutComplete"] == {
        "__typename": "OperationInfo",
        "messages": [{"code": "required", "field": "shippingAddress"}],
    }
    assert world() == before


def test_a_mixed_cart_ships_its_goods(gql):
    cart = cart_with((variant(price="30.00"), 1), (service_variant(price="50.00"), 1))

    response = gql(
        CHECKOUT,
        {
            "input": {
                "cartToken": str(cart.token),
                "email": "guest@example.com",
                "shippingAddress": ADDRESS_INPUT,
                "paymentMethod": "CARD_PLACEHOLDER",
                "idempotencyKey": "one",
            }
        },
    )

    order = response.data["checkoutComplete"]
    assert (order["requiresShipping"], order["shippingAddress"], order["billingAddress"]) == (
        True,
        {"city": "Paris"},
        {"city": "Paris"},
    )
    assert order["total"] == {"amount": "85.00"}
