import re
import uuid
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db.models import ProtectedError
from django.utils import timezone

from apps.cart.models import Cart
from apps.catalog.models import ProductVariant, StockMovement
from apps.notifications.models import Notification
from apps.orders import services
from apps.orders.messages import STATUS_MESSAGES
from apps.orders.models import Order, OrderEvent, OrderLine, OrderStatus, next_statuses
from apps.payments import services as payment_services
from apps.payments.models import Payment, PaymentStatus
from tests.accounts.factories import AddressFactory, UserFactory
from tests.orders.factories import (
    ADDRESS,
    BILLING_ADDRESS,
    GUEST,
    advance,
    cart_with,
    place_order,
    variant,
    world,
)

NUMBER = re.compile(r"SC-[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{8}")
REFERENCE = re.compile(r"placeholder-[0-9a-f]{16}")
ALLOWED = [
    (before, after)
    for before in OrderStatus
    for after in OrderStatus
    if after in next_statuses(before, requires_shipping=True)
]
FORBIDDEN = [
    (before, after)
    for before in OrderStatus
    for after in OrderStatus
    if after not in next_statuses(before, requires_shipping=True)
]
EMAILED = {"PAID", "SHIPPED", "DELIVERED", "CANCELLED", "REFUNDED"}


def codes(error: pytest.ExceptionInfo) -> dict[str | None, list[str]]:
    """The codes of a ValidationError by field (``None`` for an error of the whole input)."""
    value = error.value
    if hasattr(value, "error_dict"):
        return {field: [e.code for e in errors] for field, errors in value.error_dict.items()}
    return {None: [e.code for e in value.error_list]}


def stock(*variants: ProductVariant) -> list[int]:
    return [ProductVariant.objects.get(pk=v.pk).stock_quantity for v in variants]


def checkout(cart: Cart, *, user=GUEST, key: str = "key-1", **kwargs) -> Order:
    arguments = {
        "payment_method": "CASH_ON_DELIVERY",
        "email": "guest@example.com" if not user.is_authenticated else None,
        "shipping_address": ADDRESS,
    }
    arguments.update(kwargs)
    return services.checkout_complete(cart=cart, user=user, idempotency_key=key, **arguments)


# --- checkout_complete: the order it places ---------------------------------------------------


def test_checkout_as_a_guest_places_the_order_from_the_cart(db):
    mug = variant(price="12.50", stock=5, name="Blue", product__name="Mug", sku="MUG-BLUE")
    tee = variant(price="20.00", stock=3, name="Large", product__name="Tee", sku="TEE-L")
    cart = cart_with((tee, 1), (mug, 2))

    order = checkout(cart, email="Guest@Example.com", note="  Leave it at the door  ")

    order.refresh_from_db()
    assert NUMBER.fullmatch(order.number)
    assert order.status == OrderStatus.PENDING
    assert order.user is None
    assert order.email == "guest@example.com"
    assert order.currency == "USD"
    assert order.note == "Leave it at the door"
    assert order.cart == cart
    assert order.buyer_key == f"cart:{cart.token}"
    assert order.idempotency_key == "key-1"
    assert order.paid_at is None
    assert [
        (
            line.product_name,
            line.variant_name,
            line.sku,
            line.quantity,
            line.unit_price,
            line.line_total,
            line.variant,
        )
        for line in order.lines.all()
    ] == [
        ("Tee", "Large", "TEE-L", 1, Decimal("20.00"), Decimal("20.00"), tee),
        ("Mug", "Blue", "MUG-BLUE", 2, Decimal("12.50"), Decimal("25.00"), mug),
    ]
    assert order.subtotal == Decimal("45.00")
    assert order.shipping_total == Decimal("5.00")
    assert order.total == Decimal("50.00")
    assert order.shipping_address == ADDRESS
    assert order.billing_address == ADDRESS
    cart.refresh_from_db()
    assert cart.status == Cart.Status.CONVERTED
    assert stock(mug, tee) == [3, 2]
    assert list(
        StockMovement.objects.order_by("variant_id").values_list(
            "variant_id", "kind", "delta", "quantity_after", "reason", "actor"
        )
    ) == [
        (mug.pk, "sale", -2, 3, f"Order {order.number}", None),
        (tee.pk, "sale", -1, 2, f"Order {order.number}", None),
    ]
    payment = order.payment
    assert (payment.method, payment.status, payment.amount, payment.currency) == (
        "CASH_ON_DELIVERY",
        PaymentStatus.PENDING,
        Decimal("50.00"),
        "USD",
    )
    assert REFERENCE.fullmatch(payment.reference)
    assert list(order.events.values_list("type", "from_status", "to_status", "note", "actor")) == [
        ("PLACED", "", "PENDING", "", None)
    ]
    # A guest has no account to hold an in-app notification.
    assert Notification.objects.count() == 0


def test_checkout_as_a_customer_uses_their_email_and_notifies_them(db):
    customer = UserFactory(email="casey@example.com")
    shoe = variant(price="30.00", stock=4)
    cart = cart_with((shoe, 1), user=customer)

    order = checkout(cart, user=customer, payment_method="CARD_PLACEHOLDER")

    assert order.user == customer
    assert order.email == "casey@example.com"
    assert order.buyer_key == f"user:{customer.pk}"
    assert order.payment.method == "CARD_PLACEHOLDER"
    assert list(order.events.values_list("type", "to_status", "actor")) == [
        ("PLACED", "PENDING", customer.pk)
    ]
    assert StockMovement.objects.get().actor == customer
    assert list(
        Notification.objects.values_list("user", "target_id", "kind", "title", "body", "read_at")
    ) == [
        (
            customer.pk,
            order.pk,
            "ORDER_PLACED",
            "Order received",
            f"Thank you! We received order {order.number}.",
            None,
        )
    ]


def test_a_customer_may_give_another_email_for_the_order(db, customer):
    cart = cart_with((variant(), 1), user=customer)

    order = checkout(cart, user=customer, email="  Casey.Work@Example.com ")

    assert order.email == "casey.work@example.com"


def test_checkout_ships_to_an_entry_of_the_address_book(db, customer):
    address = AddressFactory(
        user=customer, full_name="Casey Home", line2="Floor 2", phone="+14155550100"
    )
    cart = cart_with((variant(), 1), user=customer)

    order = checkout(cart, user=customer, shipping_address=None, saved_address=address)

    expected = {
        "full_name": "Casey Home",
        "line1": "1 Market Street",
        "line2": "Floor 2",
        "city": "San Francisco",
        "region": "CA",
        "postal_code": "94105",
        "country": "US",
        "phone": "+14155550100",
    }
    assert order.shipping_address == expected
    assert order.billing_address == expected


def test_checkout_keeps_a_separate_billing_address(db):
    order = checkout(cart_with((variant(), 1)), billing_address=BILLING_ADDRESS)

    assert order.shipping_address == ADDRESS
    assert order.billing_address == BILLING_ADDRESS


@pytest.mark.parametrize(
    ("price", "quantity", "shipping", "total"),
    [
        ("99.99", 1, "5.00", "104.99"),  # just below the threshold: the flat fee
        ("100.00", 1, "0.00", "100.00"),  # the threshold itself ships free
        ("50.00", 3, "0.00", "150.00"),
        ("0.50", 1, "5.00", "5.50"),
    ],
)
def test_shipping_is_a_flat_fee_below_the_threshold_and_free_from_it(
    db, price, quantity, shipping, total
):
    order = checkout(cart_with((variant(price=price), quantity)))

    assert order.subtotal == Decimal(price) * quantity
    assert order.shipping_total == Decimal(shipping)
    assert order.total == Decimal(total)
    assert order.payment.amount == Decimal(total)


def test_shipping_follows_the_settings(db, settings):
    settings.SHIPPING_FLAT_FEE = Decimal("7.50")
    settings.FREE_SHIPPING_THRESHOLD = Decimal("30.00")

    below = checkout(cart_with((variant(price="29.99"), 1)))
    above = checkout(cart_with((variant(price="30.00"), 1)))

    assert (below.shipping_total, below.total) == (Decimal("7.50"), Decimal("37.49"))
    assert (above.shipping_total, above.total) == (Decimal("0.00"), Decimal("30.00"))


def test_the_order_keeps_its_snapshots_when_the_catalog_and_address_book_change(db, customer):
    shirt = variant(price="25.00", name="Red", product__name="Shirt", sku="SHIRT-RED")
    address = AddressFactory(user=customer, full_name="Casey Home")
    order = checkout(
        cart_with((shirt, 2), user=customer),
        user=customer,
        shipping_address=None,
        saved_address=address,
    )
    shipping = dict(order.shipping_address)

    shirt.product.name = "Renamed shirt"
    shirt.product.is_active = False
    shirt.product.save()
    shirt.name, shirt.sku, shirt.price, shirt.is_active = (
        "Crimson",
        "SHIRT-CRIMSON",
        Decimal("99.00"),
        False,
    )
    shirt.save()
    address.full_name = "Someone Else"
    address.save()
    address.delete()

    order = Order.objects.get(pk=order.pk)
    line = order.lines.get()
    assert (
        line.product_name,
        line.variant_name,
        line.sku,
        line.unit_price,
        line.line_total,
        line.quantity,
    ) == (
        "Shirt",
        "Red",
        "SHIRT-RED",
        Decimal("25.00"),
        Decimal("50.00"),
        2,
    )
    assert line.variant == shirt  # the link stays; the API hides it from customers
    assert order.shipping_address == shipping
    assert order.shipping_address["full_name"] == "Casey Home"
    assert order.subtotal == Decimal("50.00")


# --- checkout_complete: what it refuses --------------------------------------------------------


@pytest.mark.parametrize("email", [None, "", "   "])
def test_a_guest_must_give_an_email(db, email):
    cart = cart_with((variant(), 1))
    before = world()

    with pytest.raises(ValidationError) as error:
        checkout(cart, email=email)

    assert codes(error) == {"email": ["required"]}
    assert world() == before


@pytest.mark.parametrize("email", ["not-an-email", "casey@", "casey @example.com"])
def test_the_email_must_be_valid(db, customer, email):
    guest_cart = cart_with((variant(), 1))
    customer_cart = cart_with((variant(), 1), user=customer)
    before = world()

    with pytest.raises(ValidationError) as guest_error:
        checkout(guest_cart, email=email)
    with pytest.raises(ValidationError) as customer_error:
        checkout(customer_cart, user=customer, email=email)

    assert codes(guest_error) == {"email": ["invalid"]}
    assert codes(customer_error) == {"email": ["invalid"]}
    assert world() == before


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"country": "XX"}, "shippingAddress.country", "invalid"),
        ({"country": "France"}, "shippingAddress.country", "invalid"),
        ({"line1": "  "}, "shippingAddress.line1", "required"),
        ({"full_name": ""}, "shippingAddress.full_name", "required"),
        ({"city": None}, "shippingAddress.city", "required"),
        ({"postal_code": ""}, "shippingAddress.postal_code", "required"),
    ],
)
def test_the_shipping_address_is_validated(db, changes, field, code):
    cart = cart_with((variant(), 1))
    before = world()

    with pytest.raises(ValidationError) as error:
        checkout(cart, shipping_address={**ADDRESS, **changes})

    assert codes(error) == {field: [code]}
    assert world() == before


def test_the_billing_address_is_validated(db):
    cart = cart_with((variant(), 1))
    before = world()

    with pytest.raises(ValidationError) as error:
        checkout(cart, billing_address={**BILLING_ADDRESS, "country": "XX"})

    assert codes(error) == {"billingAddress.country": ["invalid"]}
    assert world() == before


def test_a_shipping_address_is_required(db):
    cart = cart_with((variant(), 1))
    before = world()

    with pytest.raises(ValidationError) as error:
        checkout(cart, shipping_address=None)

    assert codes(error) == {"shippingAddress": ["required"]}
    assert world() == before


@pytest.mark.parametrize("key", ["", "   ", "k" * 129])
def test_the_idempotency_key_must_have_1_to_128_characters(db, key):
    cart = cart_with((variant(), 1))
    before = world()

    with pytest.raises(ValidationError) as error:
        checkout(cart, key=key)

    assert codes(error) == {"idempotencyKey": ["invalid"]}
    assert world() == before


def test_an_empty_cart_cannot_be_checked_out(db):
    cart = cart_with()
    before = world()

    with pytest.raises(ValidationError) as error:
        checkout(cart)

    assert codes(error) == {None: ["cart_empty"]}
    assert world() == before


@pytest.mark.parametrize("deactivate", ["variant", "product"])
def test_a_line_no_longer_on_sale_blocks_the_checkout(db, deactivate):
    on_sale = variant()
    gone = variant()
    target = gone if deactivate == "variant" else gone.product
    target.is_active = False
    target.save()
    cart = cart_with((on_sale, 1), (gone, 1))
    before = world()

    with pytest.raises(ValidationError) as error:
        checkout(cart)

    assert codes(error) == {None: ["variant_unavailable"]}
    assert gone.sku in error.value.messages[0]
    assert world() == before


def test_more_than_the_stock_is_refused(db):
    plenty = variant(stock=50)
    scarce = variant(stock=2, sku="SCARCE")
    cart = cart_with((plenty, 5), (scarce, 3))
    before = world()

    with pytest.raises(ValidationError) as error:
        checkout(cart)

    assert codes(error) == {None: ["insufficient_stock"]}
    assert error.value.messages == ["Only 2 of SCARCE left; 3 were asked for."]
    assert world() == before


def test_the_whole_stock_may_be_bought(db):
    last = variant(stock=2)

    checkout(cart_with((last, 2)))

    assert stock(last) == [0]


def test_a_converted_cart_cannot_be_checked_out_with_another_key(db):
    cart = cart_with((variant(), 1))
    checkout(cart, key="first")
    before = world()

    with pytest.raises(ValidationError) as error:
        checkout(cart, key="second")

    assert codes(error) == {"cartToken": ["not_found"]}
    assert world() == before


def test_a_converted_cart_with_the_same_key_returns_the_same_order(db):
    cart = cart_with((variant(), 1))
    order = checkout(cart, key="first")
    before = world()

    again = checkout(Cart.objects.get(pk=cart.pk), key="first")

    assert again == order
    assert world() == before


def test_without_a_reachable_cart_only_a_retry_succeeds(db, customer):
    guest_cart = cart_with((variant(), 1))
    guest_order = checkout(guest_cart, key="guest-key")
    customer_order = checkout(
        cart_with((variant(), 1), user=customer), user=customer, key="own-key"
    )
    before = world()

    assert (
        services.checkout_complete(
            cart=None,
            cart_token=guest_cart.token,
            user=GUEST,
            payment_method="CASH_ON_DELIVERY",
            idempotency_key="guest-key",
        )
        == guest_order
    )
    assert (
        services.checkout_complete(
            cart=None, user=customer, payment_method="CASH_ON_DELIVERY", idempotency_key="own-key"
        )
        == customer_order
    )
    for user, token, key, expected in [
        (GUEST, guest_cart.token, "other-key", {"cartToken": ["not_found"]}),
        (GUEST, uuid.uuid4(), "guest-key", {"cartToken": ["not_found"]}),
        (GUEST, None, "guest-key", {"cartToken": ["required"]}),
        (customer, None, "guest-key", {None: ["cart_empty"]}),
        (UserFactory(), None, "own-key", {None: ["cart_empty"]}),
    ]:
        with pytest.raises(ValidationError) as error:
            services.checkout_complete(
                cart=None,
                cart_token=token,
                user=user,
                payment_method="CASH_ON_DELIVERY",
                idempotency_key=key,
            )
        assert codes(error) == expected
    assert world() == before


# --- idempotency ------------------------------------------------------------------------------


def test_the_same_key_from_the_same_customer_returns_the_same_order(
    db, customer, django_capture_on_commit_callbacks
):
    shoe = variant(stock=5)
    with django_capture_on_commit_callbacks(execute=True):
        order = checkout(cart_with((shoe, 2), user=customer), user=customer, key="retry-me")
    other_cart = cart_with((variant(), 1))
    before = world()

    # A retry, even with another cart and another address, answers the order placed first.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = checkout(
            other_cart,
            user=customer,
            key=" retry-me ",
            shipping_address={**ADDRESS, "city": "Lyon"},
        )

    assert again == order
    assert callbacks == []
    assert world() == before
    assert stock(shoe) == [3]
    assert len(mail.outbox) == 1


def test_the_same_key_from_the_same_guest_cart_returns_the_same_order(
    db, django_capture_on_commit_callbacks
):
    cart = cart_with((variant(), 1))
    with django_capture_on_commit_callbacks(execute=True):
        order = checkout(cart, key="retry-me")
    before = world()

    with django_capture_on_commit_callbacks(execute=True):
        again = checkout(Cart.objects.get(pk=cart.pk), key="retry-me", email="other@example.com")

    assert again == order
    assert world() == before
    assert len(mail.outbox) == 1


def test_the_same_key_from_other_buyers_places_independent_orders(db, customer):
    other = UserFactory()
    shoe = variant(stock=10)

    orders = [
        checkout(cart_with((shoe, 1), user=customer), user=customer, key="same"),
        checkout(cart_with((shoe, 1), user=other), user=other, key="same"),
        checkout(cart_with((shoe, 1)), key="same"),
        checkout(cart_with((shoe, 1)), key="same"),
    ]

    assert len({order.pk for order in orders}) == 4
    assert [order.user for order in orders] == [customer, other, None, None]
    assert stock(shoe) == [6]
    assert Payment.objects.count() == 4


# --- a failure halfway rolls everything back --------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "target",
    [
        "apps.orders.services.checkout.OrderLine.objects.bulk_create",
        "apps.orders.services.checkout.payment_services.payment_create",
        "apps.orders.services.checkout.notify_order_placed",
    ],
)
def test_a_failure_after_the_stock_was_taken_changes_nothing(monkeypatch, target):
    customer = UserFactory()
    shoe = variant(stock=5)
    cart = cart_with((shoe, 2), user=customer)
    before = world()

    def fail(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(target, fail)
    with pytest.raises(RuntimeError):
        checkout(cart, user=customer)

    assert world() == before
    assert stock(shoe) == [5]
    assert Cart.objects.get(pk=cart.pk).status == Cart.Status.ACTIVE
    assert Order.objects.count() == 0
    assert mail.outbox == []

    monkeypatch.undo()
    order = checkout(cart, user=customer)  # the same request, retried, goes through

    assert stock(shoe) == [3]
    assert [message.subject for message in mail.outbox] == [f"Your SilkCart order {order.number}"]


# --- the state machine ------------------------------------------------------------------------


@pytest.mark.parametrize(("before", "after"), ALLOWED)
def test_every_allowed_transition_moves_the_order(
    db, store_admin, before, after, django_capture_on_commit_callbacks
):
    customer = UserFactory()
    order = advance(place_order(user=customer), before)
    Notification.objects.all().delete()

    with django_capture_on_commit_callbacks(execute=True):
        moved = services.order_transition(
            order=order, status=after, actor=store_admin, note="  Checked.  "
        )

    assert moved.status == after
    assert Order.objects.get(pk=order.pk).status == after
    event = OrderEvent.objects.filter(order=order).last()
    assert (event.type, event.from_status, event.to_status, event.note, event.actor) == (
        "CANCELLED" if after == OrderStatus.CANCELLED else "STATUS_CHANGED",
        before,
        after,
        "Checked.",
        store_admin,
    )
    title, body = STATUS_MESSAGES[after]
    assert list(Notification.objects.values_list("user", "target_id", "kind", "title", "body")) == [
        (customer.pk, order.pk, f"ORDER_{after}", title, body.format(number=order.number))
    ]
    expected_mail = (
        [(f"{title}: order {order.number}", [customer.email])] if after in EMAILED else []
    )
    assert [(message.subject, message.to) for message in mail.outbox] == expected_mail


@pytest.mark.parametrize(("before", "after"), FORBIDDEN)
def test_every_other_transition_is_refused(
    db, store_admin, before, after, django_capture_on_commit_callbacks
):
    order = advance(place_order(user=UserFactory()), before)
    snapshot = world()

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as error:
        services.order_transition(order=order, status=after, actor=store_admin)

    assert codes(error) == {"status": ["invalid_transition"]}
    assert error.value.messages == [f"An order cannot go from {before} to {after}."]
    assert world() == snapshot


def test_an_unknown_status_is_an_invalid_transition(db):
    order = place_order()
    before = world()

    with pytest.raises(ValidationError) as error:
        services.order_transition(order=order, status="LOST")

    assert codes(error) == {"status": ["invalid_transition"]}
    assert world() == before


def test_paid_stamps_the_order_and_captures_the_payment(db):
    order = place_order()
    start = timezone.now()

    services.order_transition(order=order, status=OrderStatus.PAID)

    order.refresh_from_db()
    assert start <= order.paid_at <= timezone.now()
    assert order.payment.status == PaymentStatus.CAPTURED
    assert order.events.last().actor is None


@pytest.mark.parametrize(
    ("before", "payment_status"),
    [
        (OrderStatus.PENDING, PaymentStatus.VOIDED),
        (OrderStatus.PAID, PaymentStatus.REFUNDED),
        (OrderStatus.PROCESSING, PaymentStatus.REFUNDED),
    ],
)
def test_cancelling_returns_the_stock_and_releases_the_payment(
    db, store_admin, before, payment_status
):
    mug, tee = variant(stock=5), variant(stock=4)
    order = advance(place_order(lines=[(mug, 2), (tee, 1)]), before)
    assert stock(mug, tee) == [3, 3]

    services.order_transition(
        order=order, status=OrderStatus.CANCELLED, actor=store_admin, note="Out of time"
    )

    assert stock(mug, tee) == [5, 4]
    assert list(
        StockMovement.objects.filter(kind="return")
        .order_by("variant_id")
        .values_list("variant_id", "delta", "quantity_after", "reason", "actor")
    ) == [
        (mug.pk, 2, 5, f"Order {order.number} cancelled", store_admin.pk),
        (tee.pk, 1, 4, f"Order {order.number} cancelled", store_admin.pk),
    ]
    assert Payment.objects.get(order=order).status == payment_status


def test_cancelling_returns_the_stock_of_a_variant_taken_off_sale(db):
    gone = variant(stock=3)
    order = place_order(lines=[(gone, 2)])
    ProductVariant.objects.filter(pk=gone.pk).update(is_active=False)

    services.order_transition(order=order, status=OrderStatus.CANCELLED)

    assert stock(gone) == [3]


@pytest.mark.parametrize(
    "before", [OrderStatus.PAID, OrderStatus.PROCESSING, OrderStatus.SHIPPED, OrderStatus.DELIVERED]
)
def test_refunding_refunds_the_payment_and_keeps_the_stock_out(db, before):
    mug = variant(stock=5)
    order = advance(place_order(lines=[(mug, 2)]), before)

    services.order_transition(order=order, status=OrderStatus.REFUNDED)

    assert Payment.objects.get(order=order).status == PaymentStatus.REFUNDED
    assert stock(mug) == [3]
    assert not StockMovement.objects.filter(kind="return").exists()


def test_a_guest_order_changes_without_notifications_but_with_emails(
    db, django_capture_on_commit_callbacks
):
    order = place_order(email="guest@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        services.order_transition(order=order, status=OrderStatus.PAID)
        services.order_transition(order=order, status=OrderStatus.PROCESSING)

    assert Notification.objects.count() == 0
    assert [(message.subject, message.to) for message in mail.outbox] == [
        (f"Payment received: order {order.number}", ["guest@example.com"])
    ]


def test_a_transition_that_fails_halfway_changes_nothing(db, monkeypatch):
    order = advance(place_order(), OrderStatus.PAID)
    before = world()

    def fail(*args, **kwargs):
        raise RuntimeError("the provider is down")

    monkeypatch.setattr(payment_services, "payment_refund", fail)
    with pytest.raises(RuntimeError):
        services.order_transition(order=order, status=OrderStatus.CANCELLED)

    assert world() == before


# --- order_cancel -----------------------------------------------------------------------------


@pytest.mark.parametrize("before", [OrderStatus.PENDING, OrderStatus.PAID])
def test_a_customer_cancels_their_pending_or_paid_order(db, customer, before):
    mug = variant(stock=5)
    order = advance(place_order(user=customer, lines=[(mug, 2)]), before)

    cancelled = services.order_cancel(order=order, actor=customer, reason="  Changed my mind ")

    assert cancelled.status == OrderStatus.CANCELLED
    assert stock(mug) == [5]
    event = order.events.last()
    assert (event.type, event.from_status, event.to_status, event.note, event.actor) == (
        "CANCELLED",
        before,
        "CANCELLED",
        "Changed my mind",
        customer,
    )


@pytest.mark.parametrize(
    "before",
    [
        OrderStatus.PROCESSING,
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
        OrderStatus.CANCELLED,
        OrderStatus.REFUNDED,
    ],
)
def test_a_customer_cannot_cancel_an_order_past_payment(db, customer, before):
    order = advance(place_order(user=customer), before)
    snapshot = world()

    with pytest.raises(ValidationError) as error:
        services.order_cancel(order=order, actor=customer)

    assert codes(error) == {None: ["invalid_transition"]}
    assert world() == snapshot


def test_staff_cancel_an_order_in_processing(db, store_admin):
    mug = variant(stock=5)
    order = advance(place_order(lines=[(mug, 1)]), OrderStatus.PROCESSING)

    services.order_cancel(order=order, actor=store_admin, as_staff=True)

    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED
    assert stock(mug) == [5]


@pytest.mark.parametrize(
    "before", [OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.CANCELLED]
)
def test_staff_cannot_cancel_a_shipped_or_closed_order(db, store_admin, before):
    order = advance(place_order(), before)
    snapshot = world()

    with pytest.raises(ValidationError) as error:
        services.order_cancel(order=order, actor=store_admin, as_staff=True)

    assert codes(error) == {None: ["invalid_transition"]}
    assert error.value.messages == [f"An order cannot go from {before} to CANCELLED."]
    assert world() == snapshot


def test_order_lines_are_never_deleted_with_their_variant(db):
    shoe = variant()
    place_order(lines=[(shoe, 1)])

    with pytest.raises(ProtectedError):
        shoe.delete()

    assert OrderLine.objects.get().variant == shoe


# --- what the buyer was shown, and free text --------------------------------------------------


def test_checkout_with_the_total_the_buyer_saw_places_the_order(db):
    mug = variant(price="12.50", stock=5)
    cart = cart_with((mug, 2))

    order = services.checkout_complete(
        cart=cart,
        user=GUEST,
        payment_method="CARD_PLACEHOLDER",
        idempotency_key="k",
        email="guest@example.com",
        shipping_address=ADDRESS,
        expected_total=Decimal("30.00"),  # 25.00 and 5.00 shipping
    )

    assert order.total == Decimal("30.00")


def test_checkout_after_a_price_change_is_refused_and_changes_nothing(db):
    mug = variant(price="12.50", stock=5)
    cart = cart_with((mug, 2))
    ProductVariant.objects.filter(pk=mug.pk).update(price=Decimal("14.00"))
    before = world()

    with pytest.raises(ValidationError) as raised:
        services.checkout_complete(
            cart=cart,
            user=GUEST,
            payment_method="CARD_PLACEHOLDER",
            idempotency_key="k",
            email="guest@example.com",
            shipping_address=ADDRESS,
            expected_total=Decimal("30.00"),
        )

    assert codes(raised) == {"expectedTotal": ["price_changed"]}
    assert "33.00" in raised.value.error_dict["expectedTotal"][0].message
    assert world() == before


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda order: services.order_cancel(order=order, actor=None, reason="x" * 2001), "reason"),
        (
            lambda order: services.order_transition(order=order, status="PAID", note="x" * 2001),
            "note",
        ),
    ],
    ids=["cancel-reason", "status-note"],
)
def test_notes_and_reasons_longer_than_2000_characters_are_refused(db, call, field):
    order = place_order()
    before = world()

    with pytest.raises(ValidationError) as raised:
        call(order)

    assert codes(raised) == {field: ["invalid"]}
    assert world() == before


def test_a_checkout_note_longer_than_2000_characters_is_refused(db):
    cart = cart_with((variant(), 1))
    before = world()

    with pytest.raises(ValidationError) as raised:
        place_order(cart=cart, note="x" * 2001)

    assert codes(raised) == {"note": ["invalid"]}
    assert world() == before
