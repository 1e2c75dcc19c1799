import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.cart import services
from apps.cart.models import Cart, CartLine
from tests.accounts.factories import UserFactory
from tests.cart.factories import CartFactory, CartLineFactory, cart_snapshot
from tests.catalog.factories import ProductVariantFactory

GUEST = AnonymousUser()


def codes(error: pytest.ExceptionInfo) -> dict[str, list[str]]:
    return {field: [e.code for e in errors] for field, errors in error.value.error_dict.items()}


def messages(error: pytest.ExceptionInfo) -> dict[str, list[str]]:
    return error.value.message_dict


def lines_of(cart: Cart) -> list[tuple[str, int]]:
    return [(line.variant.sku, line.quantity) for line in cart.lines.order_by("variant__sku")]


def age(cart: Cart, days: int) -> None:
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now() - timedelta(days=days))


# --- cart_for ----------------------------------------------------------------------------------


def test_cart_for_reaches_a_guest_cart_by_its_token(db, customer):
    cart = CartFactory()

    assert services.cart_for(token=cart.token, user=GUEST) == cart
    # A signed-in customer holding a guest cart's token reaches it too (e.g. before a merge).
    assert services.cart_for(token=cart.token, user=customer) == cart


def test_cart_for_reaches_a_customers_cart_only_by_that_customer(db, customer):
    cart = CartFactory(user=customer)
    other = UserFactory()
    before = cart_snapshot()

    assert services.cart_for(token=cart.token, user=customer) == cart
    assert services.cart_for(token=None, user=customer) == cart
    assert services.cart_for(token=cart.token, user=other) is None
    assert services.cart_for(token=cart.token, user=GUEST) is None
    assert services.cart_for(token=None, user=other) is None
    assert cart_snapshot() == before


def test_cart_for_answers_none_without_a_reachable_active_cart(db, customer):
    converted = CartFactory(status=Cart.Status.CONVERTED)
    merged = CartFactory(status=Cart.Status.MERGED)
    old = CartFactory(user=customer, status=Cart.Status.CONVERTED)
    before = cart_snapshot()

    assert services.cart_for(token=uuid.uuid4(), user=GUEST) is None
    assert services.cart_for(token=uuid.uuid4(), user=customer) is None
    assert services.cart_for(token=None, user=GUEST) is None
    assert services.cart_for(token=converted.token, user=GUEST) is None
    assert services.cart_for(token=merged.token, user=GUEST) is None
    assert services.cart_for(token=old.token, user=customer) is None
    assert services.cart_for(token=None, user=customer) is None
    assert cart_snapshot() == before


def test_a_customer_has_at_most_one_active_cart(db, customer):
    CartFactory(user=customer)
    CartFactory(user=customer, status=Cart.Status.CONVERTED)
    CartFactory(user=customer, status=Cart.Status.MERGED)
    before = cart_snapshot()

    with pytest.raises(IntegrityError), transaction.atomic():
        CartFactory(user=customer)

    assert cart_snapshot() == before


@pytest.mark.parametrize("quantity", [0, 1001])
def test_the_database_keeps_line_quantities_within_1_to_1000(db, quantity):
    CartLineFactory(quantity=5)
    before = cart_snapshot()

    with pytest.raises(IntegrityError), transaction.atomic():
        CartLine.objects.update(quantity=quantity)

    assert cart_snapshot() == before


# --- cart_lines_add ----------------------------------------------------------------------------


def test_add_for_a_guest_without_a_cart_creates_one(db):
    pan = ProductVariantFactory(sku="PAN", stock_quantity=5)

    cart = services.cart_lines_add(cart=None, user=GUEST, lines=[(pan, 2)])

    assert cart.user is None
    assert cart.status == Cart.Status.ACTIVE
    assert lines_of(cart) == [("PAN", 2)]
    assert Cart.objects.count() == 1


def test_add_for_a_customer_without_a_cart_creates_then_reuses_their_cart(db, customer):
    pan = ProductVariantFactory(sku="PAN", stock_quantity=5)
    CartFactory(user=customer, status=Cart.Status.CONVERTED)

    first = services.cart_lines_add(cart=None, user=customer, lines=[(pan, 1)])
    second = services.cart_lines_add(cart=None, user=customer, lines=[(pan, 2)])

    assert first.pk == second.pk
    assert second.user == customer
    assert second.status == Cart.Status.ACTIVE
    assert lines_of(second) == [("PAN", 3)]
    assert Cart.objects.filter(user=customer, status=Cart.Status.ACTIVE).count() == 1


def test_add_takes_a_batch_and_adds_up_the_same_variant(db):
    pan = ProductVariantFactory(sku="PAN", stock_quantity=10)
    pot = ProductVariantFactory(sku="POT", stock_quantity=10)
    cart = CartFactory()

    services.cart_lines_add(cart=cart, user=GUEST, lines=[(pan, 2), (pot, 1), (pan, 3)])

    assert lines_of(cart) == [("PAN", 5), ("POT", 1)]


def test_add_to_an_existing_line_adds_up(db):
    line = CartLineFactory(variant__sku="PAN", variant__stock_quantity=10, quantity=4)

    services.cart_lines_add(cart=line.cart, user=GUEST, lines=[(line.variant, 3)])

    assert lines_of(line.cart) == [("PAN", 7)]
    assert CartLine.objects.count() == 1


def test_add_up_to_stock_and_to_1000_is_allowed(db):
    few = ProductVariantFactory(sku="FEW", stock_quantity=3)
    many = ProductVariantFactory(sku="MANY", stock_quantity=5000)
    cart = CartFactory()

    services.cart_lines_add(cart=cart, user=GUEST, lines=[(few, 3), (many, 1000)])

    assert lines_of(cart) == [("FEW", 3), ("MANY", 1000)]


def test_add_does_not_take_stock_and_touches_the_cart(db):
    pan = ProductVariantFactory(stock_quantity=5)
    cart = CartFactory()
    age(cart, days=3)
    before = Cart.objects.get(pk=cart.pk).updated_at

    services.cart_lines_add(cart=cart, user=GUEST, lines=[(pan, 2)])

    pan.refresh_from_db()
    assert pan.stock_quantity == 5
    assert Cart.objects.get(pk=cart.pk).updated_at > before


@pytest.mark.parametrize("quantity", [0, -1, 1001, 10**9])
def test_add_refuses_a_quantity_outside_1_to_1000(db, quantity):
    pan = ProductVariantFactory(stock_quantity=5000)
    pot = ProductVariantFactory(stock_quantity=5000)
    before = cart_snapshot()

    with pytest.raises(ValidationError) as error:
        services.cart_lines_add(cart=None, user=GUEST, lines=[(pan, 1), (pot, quantity)])

    assert codes(error) == {"lines.1.quantity": ["invalid"]}
    assert messages(error) == {"lines.1.quantity": ["The quantity must be between 1 and 1000."]}
    assert cart_snapshot() == before


def test_add_refuses_a_line_that_would_hold_more_than_1000(db):
    line = CartLineFactory(variant__stock_quantity=5000, quantity=900)
    before = cart_snapshot()

    with pytest.raises(ValidationError) as error:
        services.cart_lines_add(cart=line.cart, user=GUEST, lines=[(line.variant, 101)])

    assert messages(error) == {"lines.0.quantity": ["A line holds at most 1000 items."]}
    assert codes(error) == {"lines.0.quantity": ["invalid"]}
    assert cart_snapshot() == before


def test_add_refuses_more_than_the_stock(db):
    pan = ProductVariantFactory(sku="PAN", stock_quantity=10)
    pot = ProductVariantFactory(sku="POT", stock_quantity=3)
    cart = CartFactory()
    before = cart_snapshot()

    with pytest.raises(ValidationError) as error:
        services.cart_lines_add(cart=cart, user=GUEST, lines=[(pan, 1), (pot, 4)])

    assert codes(error) == {"lines.1.quantity": ["insufficient_stock"]}
    assert messages(error) == {"lines.1.quantity": ["Only 3 of POT available."]}
    assert cart_snapshot() == before


def test_add_counts_the_existing_line_against_the_stock(db):
    line = CartLineFactory(variant__sku="PAN", variant__stock_quantity=5, quantity=4)
    before = cart_snapshot()

    with pytest.raises(ValidationError) as error:
        services.cart_lines_add(cart=line.cart, user=GUEST, lines=[(line.variant, 2)])

    assert codes(error) == {"lines.0.quantity": ["insufficient_stock"]}
    assert cart_snapshot() == before


def test_add_counts_a_variant_given_twice_against_the_stock_at_its_last_line(db):
    pan = ProductVariantFactory(sku="PAN", stock_quantity=10)
    pot = ProductVariantFactory(sku="POT", stock_quantity=10)
    cart = CartFactory()
    before = cart_snapshot()

    with pytest.raises(ValidationError) as error:
        services.cart_lines_add(cart=cart, user=GUEST, lines=[(pan, 6), (pot, 1), (pan, 5)])

    assert codes(error) == {"lines.2.quantity": ["insufficient_stock"]}
    assert messages(error) == {"lines.2.quantity": ["Only 10 of PAN available."]}
    assert cart_snapshot() == before


def test_add_names_the_input_line_of_a_failure_after_a_repeated_variant(db):
    pan = ProductVariantFactory(sku="PAN", stock_quantity=10)
    pot = ProductVariantFactory(sku="POT", stock_quantity=1)
    cart = CartFactory()
    before = cart_snapshot()

    with pytest.raises(ValidationError) as error:
        services.cart_lines_add(cart=cart, user=GUEST, lines=[(pan, 1), (pan, 1), (pot, 2)])

    assert codes(error) == {"lines.2.quantity": ["insufficient_stock"]}
    assert cart_snapshot() == before


def test_add_refuses_an_empty_batch(db, customer):
    before = cart_snapshot()

    with pytest.raises(ValidationError) as error:
        services.cart_lines_add(cart=None, user=customer, lines=[])

    assert codes(error) == {"lines": ["required"]}
    assert cart_snapshot() == before


def test_a_failed_add_for_a_guest_creates_no_cart(db):
    pan = ProductVariantFactory(stock_quantity=1)

    with pytest.raises(ValidationError):
        services.cart_lines_add(cart=None, user=GUEST, lines=[(pan, 2)])

    assert Cart.objects.count() == 0
    assert CartLine.objects.count() == 0


# --- cart_lines_update -------------------------------------------------------------------------


def test_update_sets_quantities_and_0_removes_a_line(db):
    cart = CartFactory()
    pan = CartLineFactory(cart=cart, variant__sku="PAN", variant__stock_quantity=10, quantity=2)
    pot = CartLineFactory(cart=cart, variant__sku="POT", quantity=1)
    lid = CartLineFactory(cart=cart, variant__sku="LID", quantity=4)

    services.cart_lines_update(cart=cart, lines=[(pan.pk, 10), (pot.pk, 0), (lid.pk, 1)])

    assert lines_of(cart) == [("LID", 1), ("PAN", 10)]
    assert not CartLine.objects.filter(pk=pot.pk).exists()


def test_update_refuses_more_than_the_stock(db):
    line = CartLineFactory(variant__sku="PAN", variant__stock_quantity=3, quantity=1)
    before = cart_snapshot()

    with pytest.raises(ValidationError) as error:
        services.cart_lines_update(cart=line.cart, lines=[(line.pk, 4)])

    assert codes(error) == {"lines.0.quantity": ["insufficient_stock"]}
    assert messages(error) == {"lines.0.quantity": ["Only 3 of PAN available."]}
    assert cart_snapshot() == before


def test_update_may_lower_a_quantity_that_the_stock_no_longer_covers(db):
    line = CartLineFactory(variant__stock_quantity=2, quantity=5)

    services.cart_lines_update(cart=line.cart, lines=[(line.pk, 3)])

    line.refresh_from_db()
    assert line.quantity == 3


@pytest.mark.parametrize("quantity", [-1, 1001])
def test_update_refuses_a_quantity_outside_0_to_1000(db, quantity):
    line = CartLineFactory(variant__stock_quantity=5000, quantity=2)
    before = cart_snapshot()

    with pytest.raises(ValidationError) as error:
        services.cart_lines_update(cart=line.cart, lines=[(line.pk, quantity)])

    assert codes(error) == {"lines.0.quantity": ["invalid"]}
    assert messages(error) == {"lines.0.quantity": ["The quantity must be between 0 and 1000."]}
    assert cart_snapshot() == before


def test_update_refuses_a_line_of_another_cart(db):
    mine = CartLineFactory(quantity=1)
    theirs = CartLineFactory(quantity=1)
    before = cart_snapshot()

    with pytest.raises(ValidationError) as error:
        services.cart_lines_update(cart=mine.cart, lines=[(mine.pk, 2), (theirs.pk, 3)])

    assert codes(error) == {"lines.1.lineId": ["not_found"]}
    assert messages(error) == {"lines.1.lineId": ["No such line in this cart."]}
    assert cart_snapshot() == before


# --- cart_lines_remove -------------------------------------------------------------------------


def test_remove_deletes_lines(db):
    cart = CartFactory()
    pan = CartLineFactory(cart=cart, variant__sku="PAN")
    pot = CartLineFactory(cart=cart, variant__sku="POT")
    lid = CartLineFactory(cart=cart, variant__sku="LID")

    services.cart_lines_remove(cart=cart, line_ids=[pan.pk, lid.pk])

    assert list(cart.lines.all()) == [pot]


def test_remove_refuses_a_line_of_another_cart(db):
    mine = CartLineFactory()
    theirs = CartLineFactory()
    before = cart_snapshot()

    with pytest.raises(ValidationError) as error:
        services.cart_lines_remove(cart=mine.cart, line_ids=[mine.pk, theirs.pk])

    assert codes(error) == {"lineIds.1": ["not_found"]}
    assert cart_snapshot() == before


# --- cart_merge --------------------------------------------------------------------------------


def test_merge_without_a_token_does_nothing(db, customer):
    CartLineFactory(cart__user=customer)
    before = cart_snapshot()

    assert services.cart_merge(token=None, user=customer) is None

    assert cart_snapshot() == before


def test_merge_hands_the_guest_cart_to_a_customer_without_one(db, customer):
    guest = CartFactory()
    CartLineFactory(cart=guest, variant__sku="PAN", quantity=2)
    CartFactory(user=customer, status=Cart.Status.CONVERTED)

    merged = services.cart_merge(token=guest.token, user=customer)

    assert merged.pk == guest.pk
    guest.refresh_from_db()
    assert guest.user == customer
    assert guest.status == Cart.Status.ACTIVE
    assert lines_of(guest) == [("PAN", 2)]
    assert services.cart_for(token=None, user=customer) == guest
    assert services.cart_for(token=guest.token, user=GUEST) is None


def test_merge_adds_the_guest_lines_to_the_customers_cart(db, customer):
    own = CartFactory(user=customer)
    guest = CartFactory()
    both = ProductVariantFactory(sku="BOTH", stock_quantity=10)
    capped = ProductVariantFactory(sku="CAPPED", stock_quantity=10)
    bulk = ProductVariantFactory(sku="BULK", stock_quantity=5000)
    kept = ProductVariantFactory(sku="KEPT", stock_quantity=2)
    new = ProductVariantFactory(sku="NEW", stock_quantity=10)
    scarce = ProductVariantFactory(sku="SCARCE", stock_quantity=2)
    gone = ProductVariantFactory(sku="GONE", stock_quantity=0)
    mine_only = ProductVariantFactory(sku="MINE", stock_quantity=10)
    for variant, quantity in [(both, 2), (capped, 6), (bulk, 700), (kept, 5), (mine_only, 1)]:
        CartLineFactory(cart=own, variant=variant, quantity=quantity)
    for variant, quantity in [
        (both, 3),
        (capped, 6),
        (bulk, 600),
        (kept, 1),
        (new, 4),
        (scarce, 5),
        (gone, 1),
    ]:
        CartLineFactory(cart=guest, variant=variant, quantity=quantity)
    stock = {v.pk: v.stock_quantity for v in [both, capped, bulk, kept, new, scarce, gone]}

    merged = services.cart_merge(token=guest.token, user=customer)

    assert merged == own
    assert lines_of(own) == [
        ("BOTH", 5),  # added up
        ("BULK", 1000),  # capped by the line limit
        ("CAPPED", 10),  # capped by the stock
        ("KEPT", 5),  # already above the stock: never lowered by a merge
        ("MINE", 1),
        ("NEW", 4),  # new variants join the cart
        ("SCARCE", 2),  # capped by the stock
    ]
    guest.refresh_from_db()
    assert guest.status == Cart.Status.MERGED
    assert guest.user is None
    assert services.cart_for(token=guest.token, user=GUEST) is None
    assert services.cart_for(token=guest.token, user=customer) is None
    assert services.cart_for(token=None, user=customer) == own
    assert Cart.objects.filter(user=customer, status=Cart.Status.ACTIVE).count() == 1
    for variant in [both, capped, bulk, kept, new, scarce, gone]:
        variant.refresh_from_db()
        assert variant.stock_quantity == stock[variant.pk]


def test_merge_twice_adds_nothing_more(db, customer):
    own = CartLineFactory(cart__user=customer, variant__stock_quantity=10, quantity=1).cart
    guest = CartLineFactory(variant=own.lines.get().variant, quantity=2).cart
    services.cart_merge(token=guest.token, user=customer)
    before = cart_snapshot()

    assert services.cart_merge(token=guest.token, user=customer) == own

    assert cart_snapshot() == before
    assert own.lines.get().quantity == 3


@pytest.mark.parametrize("whose", ["other customer", "own", "unknown", "converted"])
def test_merge_ignores_a_token_that_is_not_an_active_guest_cart(db, customer, whose):
    own = CartLineFactory(cart__user=customer, variant__sku="MINE", quantity=1).cart
    other = CartLineFactory(cart__user=UserFactory(), variant__sku="THEIRS", quantity=2).cart
    converted = CartLineFactory(cart__status=Cart.Status.CONVERTED, quantity=2).cart
    token = {
        "other customer": other.token,
        "own": own.token,
        "unknown": uuid.uuid4(),
        "converted": converted.token,
    }[whose]
    before = cart_snapshot()

    assert services.cart_merge(token=token, user=customer) == own

    assert cart_snapshot() == before


def test_merge_of_a_foreign_token_for_a_customer_without_a_cart_does_nothing(db, customer):
    CartLineFactory(cart__user=UserFactory(), quantity=2)
    before = cart_snapshot()
    token = Cart.objects.get().token

    assert services.cart_merge(token=token, user=customer) is None

    assert cart_snapshot() == before


# --- purge_carts -------------------------------------------------------------------------------


def test_purge_deletes_stale_guest_and_merged_carts_only(db, customer):
    stale_guest = CartLineFactory(quantity=1).cart
    stale_merged = CartFactory(status=Cart.Status.MERGED)
    recent_guest = CartFactory()
    recent_merged = CartFactory(status=Cart.Status.MERGED)
    stale_customer = CartFactory(user=customer)
    stale_converted = CartFactory(status=Cart.Status.CONVERTED)
    stale_customer_converted = CartFactory(user=customer, status=Cart.Status.CONVERTED)
    for cart in [stale_guest, stale_merged, stale_customer, stale_converted]:
        age(cart, days=31)
    age(stale_customer_converted, days=400)
    age(recent_guest, days=29)
    age(recent_merged, days=29)

    assert services.purge_carts(days=30) == 2

    assert set(Cart.objects.values_list("pk", flat=True)) == {
        recent_guest.pk,
        recent_merged.pk,
        stale_customer.pk,
        stale_converted.pk,
        stale_customer_converted.pk,
    }
    assert CartLine.objects.count() == 0


def test_purge_keeps_the_variants_and_their_stock(db):
    line = CartLineFactory(variant__stock_quantity=7, variant__price=Decimal("3.00"))
    age(line.cart, days=90)

    assert services.purge_carts(days=30) == 1

    line.variant.refresh_from_db()
    assert line.variant.stock_quantity == 7


def test_update_cannot_raise_a_line_whose_variant_left_the_catalog(db):
    from django.core.exceptions import ValidationError

    from apps.cart import services
    from tests.cart.factories import CartLineFactory

    line = CartLineFactory(quantity=1)
    line.variant.is_active = False
    line.variant.save()
    with pytest.raises(ValidationError) as error:
        services.cart_lines_update(cart=line.cart, lines=[(line.pk, 2)])
    assert error.value.error_dict["lines.0.quantity"][0].code == "variant_unavailable"
    line.refresh_from_db()
    assert line.quantity == 1
    services.cart_lines_update(cart=line.cart, lines=[(line.pk, 0)])  # removing still works
    assert not line.cart.lines.exists()


def test_merge_leaves_lines_no_longer_on_sale_behind(db, customer):
    from apps.cart import services
    from apps.cart.models import Cart
    from tests.cart.factories import CartFactory, CartLineFactory

    own = CartFactory(user=customer)
    guest_line = CartLineFactory(cart=CartFactory(), quantity=2)
    guest_line.variant.product.is_active = False
    guest_line.variant.product.save()
    merged = services.cart_merge(token=guest_line.cart.token, user=customer)
    assert merged.pk == own.pk
    assert list(own.lines.all()) == []
    assert Cart.objects.get(pk=guest_line.cart.pk).status == Cart.Status.MERGED


# --- services beside goods ------------------------------------------------------------------


def test_add_a_service_ignores_stock_and_marks_the_line_a_service(db):
    from tests.bookings.factories import free_slot
    from tests.catalog.factories import service_variant

    cut = service_variant(product__settings__seats_per_slot=3)
    start = free_slot(cut)

    cart = services.cart_lines_add(
        cart=None,
        user=AnonymousUser(),
        lines=[services.NewLine(variant=cut, quantity=3, slot=services.Slot(start=start))],
    )

    assert list(cart.lines.values_list("variant", "kind", "quantity")) == [(cut.pk, "SERVICE", 3)]
    assert list(cart.lines.values_list("booking__start", "booking__seats", "booking__status")) == [
        (start, 3, "HELD")
    ]


def test_add_a_service_without_a_slot_is_refused_and_changes_nothing(db):
    from tests.catalog.factories import service_variant

    cut, pan = service_variant(), ProductVariantFactory(stock_quantity=5)
    before = cart_snapshot()

    with pytest.raises(ValidationError) as error:
        services.cart_lines_add(cart=None, user=GUEST, lines=[(pan, 1), (cut, 1)])

    assert codes(error) == {"lines.1.slot": ["slot_required"]}
    assert cart_snapshot() == before


def test_merge_moves_service_lines_as_they_are_and_adds_up_goods(db, customer):
    from apps.bookings.models import Booking
    from tests.bookings.factories import book
    from tests.catalog.factories import service_variant

    cut, mug = (
        service_variant(product__settings__seats_per_slot=3),
        ProductVariantFactory(stock_quantity=10),
    )
    own = CartFactory(user=customer)
    CartLineFactory(cart=own, variant=mug, quantity=1)
    own_cut = book(cut, cart=own, user=customer).cart_line
    guest = CartFactory()
    guest_hold = book(cut, seats=2, cart=guest)
    CartLineFactory(cart=guest, variant=mug, quantity=2)

    merged = services.cart_merge(token=guest.token, user=customer)

    assert merged == own
    # the guest's service line is the same row, now in the customer's cart, and still holds
    # its slot; the goods add up in the customer's line
    assert sorted(own.lines.values_list("pk", "variant", "kind", "quantity")) == sorted(
        [
            (own.lines.get(variant=mug).pk, mug.pk, "GOODS", 3),
            (own_cut.pk, cut.pk, "SERVICE", 1),
            (guest_hold.cart_line_id, cut.pk, "SERVICE", 2),
        ]
    )
    assert dict(own.lines.filter(kind="SERVICE").values_list("pk", "booking__status")) == {
        own_cut.pk: "HELD",
        guest_hold.cart_line_id: "HELD",
    }
    assert Booking.objects.get(cart_line=guest_hold.cart_line_id) == guest_hold
    guest.refresh_from_db()
    assert guest.status == Cart.Status.MERGED


# --- a cart that was checked out meanwhile ----------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        lambda cart, line: services.cart_lines_add(
            cart=cart, user=AnonymousUser(), lines=[(line.variant, 1)]
        ),
        lambda cart, line: services.cart_lines_update(cart=cart, lines=[(line.pk, 3)]),
        lambda cart, line: services.cart_lines_remove(cart=cart, line_ids=[line.pk]),
    ],
    ids=["add", "update", "remove"],
)
def test_a_cart_converted_while_the_caller_held_it_refuses_changes(db, change):
    cart = CartFactory()
    line = CartLineFactory(cart=cart, quantity=1)
    # The mutation resolved the cart; then a checkout converted it before its lock was taken.
    Cart.objects.filter(pk=cart.pk).update(status=Cart.Status.CONVERTED)
    before = cart_snapshot()

    with pytest.raises(ValidationError) as raised:
        change(cart, line)

    assert {f: [e.code for e in errors] for f, errors in raised.value.error_dict.items()} == {
        "cartToken": ["not_found"]
    }
    assert cart_snapshot() == before
