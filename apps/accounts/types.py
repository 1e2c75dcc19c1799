from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
import strawberry_django
from django.db.models import Q, QuerySet
from strawberry import auto, relay

from api.types import CountableConnection, StablyOrderedField, search_text
from apps.core.visibility import visible_to
from apps.notifications.types import NotificationType

from .models import Address, AuthToken, User

if TYPE_CHECKING:
    from apps.bookings.types import BookingFilter, BookingType
    from apps.orders.types import OrderFilter, OrderOrder, OrderType

# Orders are a layer above accounts: reached through strawberry.lazy only.
OrderRef = Annotated["OrderType", strawberry.lazy("apps.orders.types")]
OrderFilterRef = Annotated["OrderFilter", strawberry.lazy("apps.orders.types")]
OrderOrderRef = Annotated["OrderOrder", strawberry.lazy("apps.orders.types")]
BookingRef = Annotated["BookingType", strawberry.lazy("apps.bookings.types")]
BookingFilterRef = Annotated["BookingFilter", strawberry.lazy("apps.bookings.types")]


def _viewer(info: strawberry.Info):
    return info.context.request.user


@strawberry_django.type(Address, name="Address")
class AddressType(relay.Node):
    id: relay.NodeID[int]
    full_name: auto
    line1: auto
    line2: auto
    city: auto
    region: auto
    postal_code: auto
    country: str = strawberry_django.field(description="ISO 3166-1 alpha-2 code.")
    phone: auto

    @classmethod
    def get_queryset(cls, queryset: QuerySet[Address], info: strawberry.Info, **kwargs):
        return visible_to(_viewer(info), queryset, owner="user")


@strawberry_django.type(User, name="User")
class UserType(relay.Node):
    id: relay.NodeID[int]
    email: auto
    first_name: auto
    last_name: auto
    phone: auto
    date_joined: auto
    is_staff: auto
    addresses: list[AddressType]
    default_shipping_address: AddressType | None
    default_billing_address: AddressType | None

    @strawberry_django.connection(
        CountableConnection[OrderRef],
        filters=OrderFilterRef,
        ordering=OrderOrderRef,
        field_cls=StablyOrderedField,
        description="The user's orders, newest first unless `ordering` says otherwise.",
    )
    def orders(self) -> QuerySet:
        return self.orders.all()

    @strawberry_django.connection(
        CountableConnection[BookingRef],
        filters=BookingFilterRef,
        description="The bookings of the user's orders, soonest first.",
    )
    def bookings(self) -> QuerySet:
        return self.bookings.exclude(order=None).order_by("start", "pk")

    @strawberry_django.connection(
        CountableConnection[NotificationType], description="Newest first; yours only."
    )
    def notifications(self, unread_only: bool = False) -> QuerySet:
        queryset = self.notifications.all()
        return queryset.filter(read_at__isnull=True) if unread_only else queryset

    @strawberry_django.field(description="Your unread notifications (0 for another's account).")
    def unread_notification_count(self, info: strawberry.Info) -> int:
        unread = self.notifications.filter(read_at__isnull=True)
        return NotificationType.get_queryset(unread, info).count()

    @classmethod
    def get_queryset(cls, queryset: QuerySet[User], info: strawberry.Info, **kwargs):
        return visible_to(_viewer(info), queryset, owner="pk")


@strawberry_django.filter_type(User, name="UserFilter")
class UserFilter:
    @strawberry_django.filter_field(description="Part of the email, first or last name.")
    def search(self, queryset: QuerySet[User], value: str, prefix: str):
        value = search_text(value)
        return queryset, (
            Q(**{f"{prefix}email__icontains": value})
            | Q(**{f"{prefix}first_name__icontains": value})
            | Q(**{f"{prefix}last_name__icontains": value})
        )

    @strawberry_django.filter_field
    def is_staff(self, queryset: QuerySet[User], value: bool, prefix: str):
        return queryset, Q(**{f"{prefix}is_staff": value})


@strawberry.type(name="AuthToken")
class AuthTokenType:
    token: str = strawberry.field(description="Send as `Authorization: Bearer <token>`.")
    expires_at: datetime
    user: UserType

    @classmethod
    def of(cls, token: AuthToken, key: str) -> "AuthTokenType":
        return cls(token=key, expires_at=token.expires_at, user=token.user)


@strawberry.input(name="AccountRegisterInput")
class AccountRegisterInput:
    email: str
    password: str
    first_name: str | None = None
    last_name: str | None = None


@strawberry.input(name="AccountUpdateInput")
class AccountUpdateInput:
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None


@strawberry.input(name="AddressInput")
class AddressInput:
    full_name: str
    line1: str
    line2: str | None = None
    city: str
    region: str | None = None
    postal_code: str
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 code, e.g. US.")
    phone: str | None = None


@strawberry.input(
    name="AddressUpdateInput",
    description="The fields to change; a field left out keeps its value, `null` clears it.",
)
class AddressUpdateInput:
    full_name: str | None = strawberry.UNSET
    line1: str | None = strawberry.UNSET
    line2: str | None = strawberry.UNSET
    city: str | None = strawberry.UNSET
    region: str | None = strawberry.UNSET
    postal_code: str | None = strawberry.UNSET
    country: str | None = strawberry.field(
        default=strawberry.UNSET, description="ISO 3166-1 alpha-2 code, e.g. US."
    )
    phone: str | None = strawberry.UNSET
