"""Payment writes. They run inside the order's transaction; the provider does the talking.

Each is atomic on its own, and adds no savepoint inside the order's transaction: a failure
there rolls the whole order write back anyway.
"""

from django.db import transaction

from .models import Payment, PaymentStatus
from .providers import get_provider


@transaction.atomic(savepoint=False)
def payment_create(*, order, method: str) -> Payment:
    payment = Payment(order=order, method=method, amount=order.total, currency=order.currency)
    payment.reference = get_provider(method).create(payment=payment)
    payment.save()
    return payment


def _move(payment: Payment, status: str) -> Payment:
    payment.status = status
    payment.save(update_fields=["status", "updated_at"])
    return payment


@transaction.atomic(savepoint=False)
def payment_capture(*, payment: Payment) -> Payment:
    if payment.status != PaymentStatus.PENDING:
        return payment
    get_provider(payment.method).capture(payment=payment)
    return _move(payment, PaymentStatus.CAPTURED)


@transaction.atomic(savepoint=False)
def payment_refund(*, payment: Payment) -> Payment:
    """Refund a captured payment; a payment never captured is voided instead."""
    if payment.status == PaymentStatus.CAPTURED:
        get_provider(payment.method).refund(payment=payment)
        return _move(payment, PaymentStatus.REFUNDED)
    if payment.status == PaymentStatus.PENDING:
        get_provider(payment.method).void(payment=payment)
        return _move(payment, PaymentStatus.VOIDED)
    return payment
