from datetime import datetime

import strawberry
import strawberry_django

from api.types import Money

from .models import Payment, PaymentMethod, PaymentStatus

PaymentMethodEnum = strawberry.enum(PaymentMethod, name="PaymentMethod")
PaymentStatusEnum = strawberry.enum(PaymentStatus, name="PaymentStatus")


@strawberry_django.type(Payment, name="Payment")
class PaymentType:
    reference: str
    created_at: datetime

    @strawberry_django.field(only=["method"])
    def method(self) -> PaymentMethodEnum:
        return PaymentMethod(self.method)

    @strawberry_django.field(only=["status"])
    def status(self) -> PaymentStatusEnum:
        return PaymentStatus(self.status)

    @strawberry_django.field(only=["amount"])
    def amount(self) -> Money:
        return Money.of(self.amount)
