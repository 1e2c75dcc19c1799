"""Payment providers. A real gateway is one class implementing ``PaymentProvider``.

The provider is chosen per payment method by ``settings.PAYMENT_PROVIDERS`` (method → dotted
path); both v1 methods use ``PlaceholderProvider``, which moves no money.
"""

import uuid
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from .models import Payment


class PaymentProvider(Protocol):
    def create(self, *, payment: Payment) -> str:
        """Register the payment with the provider; return its reference."""

    def capture(self, *, payment: Payment) -> None:
        """Take the money (the order became PAID)."""

    def refund(self, *, payment: Payment) -> None:
        """Give the money back (the order was refunded or cancelled after payment)."""

    def void(self, *, payment: Payment) -> None:
        """Drop a payment that was never captured."""


class PlaceholderProvider:
    """Records payments without talking to anyone: cash on delivery, or a card stand-in."""

    def create(self, *, payment: Payment) -> str:
        return f"placeholder-{uuid.uuid4().hex[:16]}"

    def capture(self, *, payment: Payment) -> None:
        return None

    def refund(self, *, payment: Payment) -> None:
        return None

    def void(self, *, payment: Payment) -> None:
        return None


def get_provider(method: str) -> PaymentProvider:
    return import_string(settings.PAYMENT_PROVIDERS[method])()
