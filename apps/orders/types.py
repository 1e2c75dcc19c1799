from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry
import strawberry_django
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q, QuerySet
from django.utils import timezone
from strawberry import auto, relay

from api.fields import django_field, django_type
from api.grants import granted
from api.types import Money, search_text
from apps.bookings.types import BookingType
from apps.catalog.types import ProductKindEnum
from apps.core.visibility import visible_to
from apps.payments.types import PaymentMethodEnum, PaymentType

from .models import CUSTOMER_CANCELLABLE, Order, OrderEvent, OrderLine, OrderStatus

if TYPE_CHECKING:
    from apps.accounts.types import AddressInput, UserType
    from apps.catalog.types import ProductVariantType
    from apps.delivery.types import DeliveryType

UserRef = Annotated["UserType", strawberry.lazy("apps.accounts.types")]
VariantRef = Annotated["ProductVariantType", strawberry.lazy("apps.catalog.types")]
DeliveryRef = Annotated["DeliveryType", strawberry.lazy("apps.delivery.types")]
OrderStatusEnum = strawberry.enum(OrderStatus, name="OrderStatus")
OrderEventTypeEnum = strawberry.enum(OrderEvent.Type, name="OrderEventType")


@strawberry.type(name="OrderAddress", description="The address as it was at checkout.")
class OrderAddress:
    full_name: str
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country: str
    phone: str

    @classmethod
    def of(cls, data: dict) -> "OrderAddress":
        fields = cls.__strawberry_definition__.fields
        return cls(**{f.python_name: data.get(f.python_name) or "" for f in fields})


@django_type(OrderLine, name="OrderLine")
class OrderLineType(relay.Node):
    id: relay.NodeID[int]
    kind: ProductKindEnum
    product_name: auto
    variant_name: auto
    sku: auto
    quantity: auto
    variant: VariantRef | None = django_field(
        description="The variant bought, while it is still visible; the line keeps its copies."
    )

    @django_field(only=["unit_price"])
    def unit_price(self) -> Money:
        return Money.of(self.unit_price)

    @django_field(only=["line_total"])
    def line_total(self) -> Money:
        return Money.of(self.line_total)

    booking_start: datetime | None = django_field(
        description="A service line: the start of the slot bought, as it was at checkout."
    )
    booking_end: datetime | None = django_field(
        description="A service line: the end of the slot bought, as it was at checkout."
    )

    @django_field(
        only=["resource_name"],
        description="A service line: who or what delivered it, as it was at checkout.",
    )
    def resource_name(self) -> str | None:
        return self.resource_name or None

    @django_field(
        select_related=["booking__resource"],
        description="A service line: its booking as it is now (it may have moved since).",
    )
    def booking(self) -> BookingType | None:
        try:
            return self.booking
        except ObjectDoesNotExist:
            return None

    @classmethod
    def get_queryset(cls, queryset: QuerySet[OrderLine], info: strawberry.Info, **kwargs):
        # The lines of the orders the caller may see: their own, by a secret link, or staff.
        return visible_to(
            info.context.request.user,
            queryset,
            owner="order__user",
            public=granted(info, Order, through="order__"),
            perm="orders.view_order",
        )


@django_type(OrderEvent, name="OrderEvent")
class OrderEventType:
    type: OrderEventTypeEnum
    note: str
    created_at: datetime
    actor: UserRef | None

    @django_field(only=["from_status"])
    def from_status(self) -> OrderStatusEnum | None:
        return OrderStatus(self.from_status) if self.from_status else None

    @django_field(only=["to_status"])
    def to_status(self) -> OrderStatusEnum | None:
        return OrderStatus(self.to_status) if self.to_status else None


def _aware(moment: datetime) -> datetime:
    """A date and time without an offset is read in the shop's time zone."""
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


@strawberry_django.filter_type(Order, name="OrderFilter")
class OrderFilter:
    @strawberry_django.filter_field
    def status(self, queryset: QuerySet[Order], value: list[OrderStatusEnum], prefix: str):
        return queryset, Q(**{f"{prefix}status__in": [OrderStatus(v).value for v in value]})

    @strawberry_django.filter_field(description="Placed at or after this moment.")
    def created_after(self, queryset: QuerySet[Order], value: datetime, prefix: str):
        return queryset, Q(**{f"{prefix}created_at__gte": _aware(value)})

    @strawberry_django.filter_field(description="Placed before this moment.")
    def created_before(self, queryset: QuerySet[Order], value: datetime, prefix: str):
        return queryset, Q(**{f"{prefix}created_at__lt": _aware(value)})

    @strawberry_django.filter_field
    def number(self, queryset: QuerySet[Order], value: str, prefix: str):
        return queryset, Q(**{f"{prefix}number__iexact": search_text(value, argument="number")})

    @strawberry_django.filter_field(description="Part of the order's or the customer's email.")
    def customer_email(self, queryset: QuerySet[Order], value: str, prefix: str):
        value = search_text(value, argument="customerEmail")
        return queryset, (
            Q(**{f"{prefix}email__icontains": value})
            | Q(**{f"{prefix}user__email__icontains": value})
        )


@strawberry_django.order_type(Order, name="OrderOrder")
class OrderOrder:
    created_at: auto
    total: auto
    number: auto
    status: auto


@django_type(Order, name="Order")
class OrderType(relay.Node):
    id: relay.NodeID[int]
    number: auto
    token: UUID = django_field(description="The secret of the guest order link.")
    email: auto
    user: UserRef | None
    lines: list[OrderLineType]
    events: list[OrderEventType]
    payment: PaymentType = django_field(description="Every order has one.")
    delivery: DeliveryRef | None = django_field(
        description="How its goods reach the buyer: its status, the courier's first name and, "
        "while on its way, their position. Null for an order of services only."
    )
    note: auto
    created_at: auto
    updated_at: auto

    @django_field(only=["status"])
    def status(self) -> OrderStatusEnum:
        return OrderStatus(self.status)

    @django_field(only=["subtotal"])
    def subtotal(self) -> Money:
        return Money.of(self.subtotal)

    @django_field(only=["shipping_total"])
    def shipping_total(self) -> Money:
        return Money.of(self.shipping_total)

    @django_field(only=["total"])
    def total(self) -> Money:
        return Money.of(self.total)

    @django_field(
        only=["shipping_address"],
        description="Where the goods go; null when nothing ships (an order of services only).",
    )
    def shipping_address(self) -> OrderAddress | None:
        return OrderAddress.of(self.shipping_address) if self.shipping_address else None

    @django_field(
        only=["billing_address"],
        description="The shipping address unless another was given; null when neither was.",
    )
    def billing_address(self) -> OrderAddress | None:
        return OrderAddress.of(self.billing_address) if self.billing_address else None

    @django_field(
        only=["status", "requires_shipping"],
        description="Whether you may cancel it now with `orderCancel`: its customer while it "
        "is PENDING or PAID, staff until it ships (a guest asks the shop).",
    )
    def can_cancel(self, info: strawberry.Info) -> bool:
        user = info.context.request.user
        if not user.is_authenticated or OrderStatus.CANCELLED not in self.next_statuses:
            return False
        return user.has_perm("orders.change_order") or self.status in CUSTOMER_CANCELLABLE

    requires_shipping: bool = django_field(
        description="Some line ships: the order goes through SHIPPED to DELIVERED."
    )

    @classmethod
    def get_queryset(cls, queryset: QuerySet[Order], info: strawberry.Info, **kwargs):
        return visible_to(
            info.context.request.user, queryset, owner="user", public=granted(info, Order)
        )


@strawberry.input(name="CheckoutInput")
class CheckoutInput:
    cart_token: UUID | None = strawberry.field(
        default=None, description="Guests: required. Customers: defaults to their cart."
    )
    email: str | None = strawberry.field(default=None, description="Guests: required.")
    shipping_address: Annotated["AddressInput", strawberry.lazy("apps.accounts.types")] | None = (
        None
    )
    shipping_address_id: relay.GlobalID | None = strawberry.field(
        default=None, description="An address of the customer's book, instead of shippingAddress."
    )
    billing_address: Annotated["AddressInput", strawberry.lazy("apps.accounts.types")] | None = (
        strawberry.field(default=None, description="Defaults to the shipping address.")
    )
    payment_method: PaymentMethodEnum
    idempotency_key: str = strawberry.field(
        description="A key the client makes per checkout attempt; retries return the same order."
    )
    note: str | None = strawberry.field(default=None, description="At most 2,000 characters.")
    expected_total: Decimal | None = strawberry.field(
        default=None,
        description="The total the buyer was shown; if prices changed since, the checkout is "
        "refused with `price_changed` and nothing changes.",
    )
