from datetime import datetime

import strawberry

from api.fields import django_field, django_type
from api.types import Money

from .models import Payment, PaymentMethod, PaymentStatus

PaymentMethodEnum = strawberry.enum(PaymentMethod, name="PaymentMethod")
PaymentStatusEnum = strawberry.enum(PaymentStatus, name="PaymentStatus")


@django_type(Payment, name="Payment")
class PaymentType:
    reference: str
    created_at: datetime

    @django_field(only=["method"])
    def method(self) -> PaymentMethodEnum:
        return PaymentMethod(self.method)

    @django_field(only=["status"])
    def status(self) -> PaymentStatusEnum:
        return PaymentStatus(self.status)

    @django_field(only=["amount"])
    def amount(self) -> Money:
        return Money.of(self.amount)
