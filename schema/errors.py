"""``ErrorCode``: every error code of the API as one GraphQL enum, so that a generated client
can switch on codes exhaustively.

``OperationMessage.code`` and ``extensions.code`` stay strings on the wire (a code added later
does not break an older client); the enum names the codes that exist. It is the union of every
app's ``*ErrorCode`` enum (a test checks that none is left out).
"""

from enum import Enum, StrEnum

import strawberry

from apps.accounts.errors import AccountErrorCode
from apps.bookings.errors import BookingErrorCode
from apps.cart.errors import CartErrorCode
from apps.catalog.errors import CatalogErrorCode
from apps.core.errors import CoreErrorCode
from apps.delivery.errors import DeliveryErrorCode
from apps.orders.errors import OrderErrorCode

ERROR_CODE_ENUMS: tuple[type[StrEnum], ...] = (
    CoreErrorCode,
    AccountErrorCode,
    CartErrorCode,
    CatalogErrorCode,
    OrderErrorCode,
    BookingErrorCode,
    DeliveryErrorCode,
)


def all_codes() -> list[str]:
    """Every code, once, in the order of the enums above."""
    codes: dict[str, None] = {}
    for enum in ERROR_CODE_ENUMS:
        codes.update(dict.fromkeys(code.value for code in enum))
    return list(codes)


# The values are the codes as they are on the wire (lowercase, as GraphQL allows), so that a
# generated client compares them with the strings it receives.
ErrorCode = strawberry.enum(
    Enum("ErrorCode", {code: code for code in all_codes()}),
    name="ErrorCode",
    description="Every value `OperationMessage.code` and `extensions.code` take, as sent. They "
    "are strings on the wire: a client should treat an unknown code as a generic failure.",
)
