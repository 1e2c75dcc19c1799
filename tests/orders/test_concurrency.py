"""Checkout under real concurrency: threads, each on its own PostgreSQL connection.

Every scenario commits for real (``transaction=True``): row locks, the unique idempotency
constraint and the stock CHECK only show their effect between separate transactions.
Waits are bounded, so a deadlock or a lost lock fails the test instead of hanging it.
"""

import json
import threading
from functools import partial
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F, Sum
from django.test import Client

from apps.cart.models import Cart, CartLine
from apps.catalog.models import ProductVariant, StockMovement
from apps.orders import services
from apps.orders.models import Order, OrderEvent, OrderLine
from apps.payments import services as payment_services
from apps.payments.models import Payment
from tests.accounts.factories import UserFactory
from tests.catalog.factories import ProductVariantFactory
from tests.orders.factories import world
from tests.threads import TIMEOUT, error_codes, run_together

GUEST_EMAIL = "guest@example.com"
ADDRESS = {
    "full_name": "Casey Buyer",
    "line1": "12 Rue de Rivoli",
    "line2": "",
    "city": "Paris",
    "region": "",
    "postal_code": "75001",
    "country": "FR",
    "phone": "",
}
ADDRESS_INPUT = {
    "fullName": "Casey Buyer",
    "line1": "12 Rue de Rivoli",
    "city": "Paris",
    "postalCode": "75001",
    "country": "FR",
}
CHECKOUT = """
mutation ($input: CheckoutInput!) {
  result: checkoutComplete(input: $input) {
    __typename
    ... on Order { id number }
    ... on OperationInfo { messages { kind code field message } }
  }
}
"""


# --- Helpers ----------------------------------------------------------------------------------


def new_buyer(kind: str):
    return UserFactory() if kind == "customer" else AnonymousUser()


def new_cart(*lines: tuple[ProductVariant, int], user=None) -> Cart:
    """An active cart whose lines are created (and so numbered) in the order given."""
    owner = user if user is not None and user.is_authenticated else None
    cart = Cart.objects.create(user=owner)
    for variant, quantity in lines:
        CartLine.objects.create(cart=cart, variant=variant, quantity=quantity)
    return cart


def checkout(*, cart: Cart, user, key: str) -> Order:
    return services.checkout_complete(
        cart=cart,
        user=user,
        payment_method="CASH_ON_DELIVERY",
        idempotency_key=key,
        email=None if user.is_authenticated else GUEST_EMAIL,
        shipping_address=ADDRESS,
    )


def unexpected(outcomes: list[Any], *expected: type) -> list[Any]:
    return [o for o in outcomes if not isinstance(o, expected)]


# --- 1. No overselling --------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("buyer_kind", ["customer", "guest"])
def test_twenty_buyers_racing_for_five_units_get_exactly_five_orders(buyer_kind):
    variant = ProductVariantFactory(stock_quantity=5)
    buyers = [new_buyer(buyer_kind) for _ in range(20)]
    carts = [new_cart((variant, 1), user=buyer) for buyer in buyers]

    outcomes = run_together(
        [
            partial(checkout, cart=cart, user=buyer, key=f"race-{n}")
            for n, (cart, buyer) in enumerate(zip(carts, buyers, strict=True))
        ]
    )

    assert unexpected(outcomes, Order, ValidationError) == []
    orders = [o for o in outcomes if isinstance(o, Order)]
    failures = [o for o in outcomes if isinstance(o, ValidationError)]
    assert len(orders) == 5
    assert len(failures) == 15
    assert [error_codes(f) for f in failures] == [["insufficient_stock"]] * 15

    variant.refresh_from_db()
    assert variant.stock_quantity == 0
    assert Order.objects.count() == 5
    assert set(Order.objects.values_list("pk", flat=True)) == {o.pk for o in orders}
    assert OrderLine.objects.filter(variant=variant).aggregate(n=Sum("quantity"))["n"] == 5
    sales = StockMovement.objects.filter(variant=variant, kind=StockMovement.Kind.SALE)
    assert sales.count() == 5
    assert set(sales.values_list("delta", flat=True)) == {-1}
    assert sorted(sales.values_list("quantity_after", flat=True)) == [0, 1, 2, 3, 4]
    assert StockMovement.objects.exclude(kind=StockMovement.Kind.SALE).count() == 0
    converted = Cart.objects.filter(status=Cart.Status.CONVERTED)
    assert set(converted.values_list("pk", flat=True)) == {o.cart_id for o in orders}
    assert Cart.objects.filter(status=Cart.Status.ACTIVE).count() == 15
    assert Payment.objects.count() == 5
    assert len(mail.outbox) == 5


# --- 2. Idempotency under a race -------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("buyer_kind", ["customer", "guest"])
def test_same_key_twice_at_once_places_one_order_and_returns_it_to_both(buyer_kind):
    variant = ProductVariantFactory(stock_quantity=50)
    buyer = new_buyer(buyer_kind)
    rounds = 5
    for n in range(rounds):
        cart = new_cart((variant, 2), user=buyer)
        call = partial(checkout, cart=cart, user=buyer, key=f"same-key-{n}")

        first, second = run_together([call, call])

        assert isinstance(first, Order), first
        assert isinstance(second, Order), second
        assert first.pk == second.pk
        assert first.number == second.number
        assert Order.objects.filter(cart=cart).count() == 1

    variant.refresh_from_db()
    assert variant.stock_quantity == 50 - 2 * rounds
    assert Order.objects.count() == rounds
    assert StockMovement.objects.filter(kind=StockMovement.Kind.SALE).count() == rounds
    assert OrderLine.objects.count() == rounds
    assert Payment.objects.count() == rounds
    assert OrderEvent.objects.count() == rounds
    assert len(mail.outbox) == rounds


def _graphql_checkout(client: Client, variables: dict) -> dict:
    response = client.post(
        "/graphql/",
        data=json.dumps({"query": CHECKOUT, "variables": variables}),
        content_type="application/json",
    )
    body = response.json()
    assert response.status_code == 200, body
    assert "errors" not in body, body["errors"]
    return body["data"]["result"]


def _graphql_buyer(buyer_kind: str, variant: ProductVariant, key: str):
    """A cart with a line, and a function that posts its checkout from a fresh client."""
    buyer = new_buyer(buyer_kind)
    cart = new_cart((variant, 2), user=buyer)
    checkout_input = {
        "shippingAddress": ADDRESS_INPUT,
        "paymentMethod": "CASH_ON_DELIVERY",
        "idempotencyKey": key,
    }
    if buyer_kind == "guest":
        checkout_input |= {"cartToken": str(cart.token), "email": GUEST_EMAIL}

    def post() -> dict:
        client = Client()
        if buyer.is_authenticated:
            client.force_login(buyer)
        return _graphql_checkout(client, {"input": checkout_input})

    return cart, post


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("buyer_kind", ["customer", "guest"])
def test_same_key_twice_at_once_through_the_api_answers_one_order(buyer_kind):
    variant = ProductVariantFactory(stock_quantity=10)
    cart, post = _graphql_buyer(buyer_kind, variant, "api-same-key")

    first, second = run_together([post, post])

    assert first["__typename"] == "Order", first
    assert second["__typename"] == "Order", second
    assert first["id"] == second["id"]
    assert Order.objects.get().cart_id == cart.pk
    variant.refresh_from_db()
    assert variant.stock_quantity == 8
    assert StockMovement.objects.filter(kind=StockMovement.Kind.SALE).count() == 1
    assert len(mail.outbox) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("buyer_kind", ["customer", "guest"])
def test_same_key_arriving_after_the_first_commit_answers_the_same_order(buyer_kind):
    """The late end of the race: the duplicate starts once the first call has committed (a
    client retrying after a lost response); the cart is converted by then."""
    variant = ProductVariantFactory(stock_quantity=10)
    _cart, post = _graphql_buyer(buyer_kind, variant, "api-late-key")

    (first,) = run_together([post])
    (second,) = run_together([post])

    assert first["__typename"] == "Order", first
    assert second["__typename"] == "Order", second
    assert first["id"] == second["id"]
    assert Order.objects.count() == 1
    variant.refresh_from_db()
    assert variant.stock_quantity == 8
    assert len(mail.outbox) == 1


# --- 3. No deadlock between carts holding the same variants ------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_carts_with_the_same_variants_in_opposite_orders_never_deadlock():
    v1 = ProductVariantFactory(stock_quantity=100)
    v2 = ProductVariantFactory(stock_quantity=100)
    rounds = 10
    for n in range(rounds):
        buyer_a, buyer_b = AnonymousUser(), AnonymousUser()
        cart_a = new_cart((v1, 1), (v2, 2), user=buyer_a)
        cart_b = new_cart((v2, 3), (v1, 4), user=buyer_b)
        assert [line.variant_id for line in cart_a.lines.order_by("pk")] == [v1.pk, v2.pk]
        assert [line.variant_id for line in cart_b.lines.order_by("pk")] == [v2.pk, v1.pk]

        outcomes = run_together(
            [
                partial(checkout, cart=cart_a, user=buyer_a, key=f"a-{n}"),
                partial(checkout, cart=cart_b, user=buyer_b, key=f"b-{n}"),
            ]
        )

        deadlocks = [o for o in outcomes if isinstance(o, OperationalError)]
        assert deadlocks == [], f"round {n}: {deadlocks}"
        assert unexpected(outcomes, Order) == [], f"round {n}"
        assert {o.cart_id for o in outcomes} == {cart_a.pk, cart_b.pk}

    v1.refresh_from_db()
    v2.refresh_from_db()
    assert v1.stock_quantity == 100 - (1 + 4) * rounds
    assert v2.stock_quantity == 100 - (2 + 3) * rounds
    assert Order.objects.count() == 2 * rounds
    assert StockMovement.objects.filter(kind=StockMovement.Kind.SALE).count() == 4 * rounds


# --- 4. A failure after the stock was taken rolls everything back ------------------------------


def _fail_order_lines(monkeypatch, spy):
    monkeypatch.setattr(OrderLine.objects, "bulk_create", spy)


def _fail_payment(monkeypatch, spy):
    monkeypatch.setattr(payment_services, "payment_create", spy)


def _fail_after_confirmation_queued(monkeypatch, spy):
    from apps.orders.services import checkout

    notify = checkout.notify_order_placed

    def notify_then_fail(*, order):
        notify(order=order)
        spy()

    monkeypatch.setattr(checkout, "notify_order_placed", notify_then_fail)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "inject",
    [_fail_order_lines, _fail_payment, _fail_after_confirmation_queued],
    ids=["order-lines", "payment", "after-confirmation-queued"],
)
def test_a_failure_after_the_stock_was_taken_leaves_everything_as_before(monkeypatch, inject):
    customer = UserFactory()
    v1 = ProductVariantFactory(stock_quantity=5)
    v2 = ProductVariantFactory(stock_quantity=7)
    cart = new_cart((v1, 2), (v2, 3), user=customer)
    before = world()
    seen_stock = []

    def boom(*args, **kwargs):
        # Inside the checkout's transaction: the stock is already taken at this point.
        seen_stock.append(
            dict(
                ProductVariant.objects.filter(pk__in=[v1.pk, v2.pk]).values_list(
                    "pk", "stock_quantity"
                )
            )
        )
        raise RuntimeError("injected failure")

    inject(monkeypatch, boom)
    with pytest.raises(RuntimeError, match="injected failure"):
        checkout(cart=cart, user=customer, key="fail-once")

    assert seen_stock == [{v1.pk: 3, v2.pk: 4}]
    assert world() == before
    assert not connection.in_atomic_block

    # Nothing half-done blocks a retry with the same key.
    monkeypatch.undo()
    order = checkout(cart=cart, user=customer, key="fail-once")
    assert Order.objects.get().pk == order.pk
    assert list(ProductVariant.objects.order_by("pk").values_list("stock_quantity", flat=True)) == [
        3,
        4,
    ]
    assert len(mail.outbox) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_checkout_waiting_for_the_cart_sees_the_lines_a_cart_mutation_committed():
    cup = ProductVariantFactory(stock_quantity=5)
    saucer = ProductVariantFactory(stock_quantity=5)
    cart = new_cart((cup, 1))
    holding, release = threading.Event(), threading.Event()

    def add_a_line_slowly():
        # What cartLinesAdd does: lock the cart, change its lines, commit.
        with transaction.atomic():
            Cart.objects.select_for_update().get(pk=cart.pk)
            holding.set()
            release.wait(timeout=TIMEOUT)
            CartLine.objects.create(cart=cart, variant=saucer, quantity=2)
            line = CartLine.objects.get(cart=cart, variant=cup)
            line.quantity = 3
            line.save()

    def checkout_while_the_cart_is_held():
        holding.wait(timeout=TIMEOUT)
        release_later = threading.Timer(0.5, release.set)  # once the checkout waits for the lock
        release_later.start()
        return services.checkout_complete(
            cart_token=cart.token,
            user=AnonymousUser(),
            payment_method="CASH_ON_DELIVERY",
            idempotency_key="late-lines",
            email=GUEST_EMAIL,
            shipping_address=ADDRESS,
        )

    mutation, order = run_together([add_a_line_slowly, checkout_while_the_cart_is_held])

    assert mutation is None
    assert isinstance(order, Order), order
    lines = dict(OrderLine.objects.filter(order=order).values_list("variant_id", "quantity"))
    assert lines == {cup.pk: 3, saucer.pk: 2}
    assert list(ProductVariant.objects.order_by("pk").values_list("stock_quantity", flat=True)) == [
        2,
        3,
    ]


# --- 5. The database guard -----------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_negative_stock():
    variant = ProductVariantFactory(stock_quantity=3)
    rows = ProductVariant.objects.filter(pk=variant.pk)

    with (
        pytest.raises(IntegrityError, match="catalog_variant_stock_not_negative"),
        transaction.atomic(),
    ):
        rows.update(stock_quantity=F("stock_quantity") - 10)

    variant.refresh_from_db()
    assert variant.stock_quantity == 3
    # Down to exactly zero is allowed.
    assert rows.update(stock_quantity=F("stock_quantity") - 3) == 1
    variant.refresh_from_db()
    assert variant.stock_quantity == 0
