import re
from decimal import Decimal

import pytest

from apps.orders import services as order_services
from apps.orders.models import OrderStatus
from apps.payments import services
from apps.payments.models import Payment, PaymentStatus
from apps.payments.providers import PlaceholderProvider, get_provider
from tests.orders.factories import place_order, variant

REFERENCE = re.compile(r"placeholder-[0-9a-f]{16}")


class RecordingProvider:
    """A provider that records what it was asked to do."""

    calls: list[tuple[str, int | None, str]] = []

    def create(self, *, payment: Payment) -> str:
        self.calls.append(("create", payment.order_id, payment.status))
        return f"rec-{payment.order.number}"

    def capture(self, *, payment: Payment) -> None:
        self.calls.append(("capture", payment.order_id, payment.status))

    def refund(self, *, payment: Payment) -> None:
        self.calls.append(("refund", payment.order_id, payment.status))

    def void(self, *, payment: Payment) -> None:
        self.calls.append(("void", payment.order_id, payment.status))


@pytest.fixture
def recording(settings):
    """Card payments go through ``RecordingProvider``; cash on delivery stays a placeholder."""
    settings.PAYMENT_PROVIDERS = {
        "CASH_ON_DELIVERY": "apps.payments.providers.PlaceholderProvider",
        "CARD_PLACEHOLDER": f"{__name__}.RecordingProvider",
    }
    RecordingProvider.calls = []
    return RecordingProvider.calls


def with_status(payment: Payment, status: str) -> Payment:
    Payment.objects.filter(pk=payment.pk).update(status=status)
    return Payment.objects.get(pk=payment.pk)


# --- the placeholder provider -----------------------------------------------------------------


def test_the_placeholder_provider_makes_a_fresh_reference_and_moves_no_money(db):
    payment = place_order().payment
    provider = PlaceholderProvider()

    references = {provider.create(payment=payment) for _ in range(20)}

    assert len(references) == 20
    assert all(REFERENCE.fullmatch(reference) for reference in references)
    assert provider.capture(payment=payment) is None
    assert provider.refund(payment=payment) is None
    assert provider.void(payment=payment) is None


def test_both_methods_use_the_placeholder_provider_by_default():
    assert isinstance(get_provider("CASH_ON_DELIVERY"), PlaceholderProvider)
    assert isinstance(get_provider("CARD_PLACEHOLDER"), PlaceholderProvider)


def test_an_unknown_method_has_no_provider():
    with pytest.raises(KeyError):
        get_provider("BITCOIN")


# --- payment_create ---------------------------------------------------------------------------


def test_a_payment_is_created_pending_for_the_order_total(db):
    order = place_order(lines=[(variant(price="30.00"), 2)], method="CARD_PLACEHOLDER")

    payment = Payment.objects.get(order=order)

    assert (payment.method, payment.status, payment.amount, payment.currency) == (
        "CARD_PLACEHOLDER",
        PaymentStatus.PENDING,
        Decimal("65.00"),
        "USD",
    )
    assert REFERENCE.fullmatch(payment.reference)


# --- status moves -----------------------------------------------------------------------------


def test_capture_moves_a_pending_payment_to_captured(db):
    payment = place_order().payment

    services.payment_capture(payment=payment)

    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.CAPTURED


@pytest.mark.parametrize(
    "status", [PaymentStatus.CAPTURED, PaymentStatus.REFUNDED, PaymentStatus.VOIDED]
)
def test_capture_leaves_a_payment_that_is_not_pending(db, status):
    payment = with_status(place_order().payment, status)
    updated_at = payment.updated_at

    services.payment_capture(payment=payment)

    payment = Payment.objects.get(pk=payment.pk)
    assert (payment.status, payment.updated_at) == (status, updated_at)


@pytest.mark.parametrize(
    ("status", "after"),
    [
        (PaymentStatus.CAPTURED, PaymentStatus.REFUNDED),  # money taken: given back
        (PaymentStatus.PENDING, PaymentStatus.VOIDED),  # never taken: dropped
        (PaymentStatus.REFUNDED, PaymentStatus.REFUNDED),
        (PaymentStatus.VOIDED, PaymentStatus.VOIDED),
    ],
)
def test_refund_refunds_a_captured_payment_and_voids_a_pending_one(db, status, after):
    payment = with_status(place_order().payment, status)

    returned = services.payment_refund(payment=payment)

    assert returned.status == after
    assert Payment.objects.get(pk=payment.pk).status == after


# --- the provider is chosen by settings -------------------------------------------------------


def test_the_configured_provider_creates_and_captures_the_payment(db, recording):
    order = place_order(method="CARD_PLACEHOLDER")

    order_services.order_transition(order=order, status=OrderStatus.PAID)

    payment = Payment.objects.get(order=order)
    assert payment.reference == f"rec-{order.number}"
    assert payment.status == PaymentStatus.CAPTURED
    # The provider is asked before the status moves.
    assert recording == [("create", order.pk, "PENDING"), ("capture", order.pk, "PENDING")]


def test_the_configured_provider_refunds_after_capture(db, recording):
    order = place_order(method="CARD_PLACEHOLDER")
    order_services.order_transition(order=order, status=OrderStatus.PAID)

    order_services.order_transition(order=order, status=OrderStatus.REFUNDED)

    assert Payment.objects.get(order=order).status == PaymentStatus.REFUNDED
    assert recording[-1] == ("refund", order.pk, "CAPTURED")


def test_the_configured_provider_voids_a_cancelled_unpaid_order(db, recording):
    order = place_order(method="CARD_PLACEHOLDER")

    order_services.order_transition(order=order, status=OrderStatus.CANCELLED)

    assert Payment.objects.get(order=order).status == PaymentStatus.VOIDED
    assert recording == [("create", order.pk, "PENDING"), ("void", order.pk, "PENDING")]


def test_each_method_uses_its_own_provider(db, recording):
    cash = place_order(method="CASH_ON_DELIVERY", key="cash")
    card = place_order(method="CARD_PLACEHOLDER", key="card")

    order_services.order_transition(order=cash, status=OrderStatus.PAID)

    assert REFERENCE.fullmatch(cash.payment.reference)
    assert card.payment.reference == f"rec-{card.number}"
    assert recording == [("create", card.pk, "PENDING")]


def test_a_provider_that_fails_leaves_the_payment_as_it_was(db, recording, monkeypatch):
    order = place_order(method="CARD_PLACEHOLDER")

    def decline(self, *, payment):
        raise RuntimeError("card declined")

    monkeypatch.setattr(RecordingProvider, "capture", decline)
    with pytest.raises(RuntimeError):
        order_services.order_transition(order=order, status=OrderStatus.PAID)

    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert order.paid_at is None
    assert Payment.objects.get(order=order).status == PaymentStatus.PENDING
