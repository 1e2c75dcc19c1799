from decimal import Decimal

from django.contrib.auth.models import AnonymousUser
from django.core import mail
from strawberry.relay import to_base64

from apps.bookings.models import Booking, BookingEvent
from apps.cart.models import Cart, CartLine
from apps.catalog.models import ProductKind, ProductVariant, StockMovement
from apps.notifications.models import Notification
from apps.orders import services
from apps.orders.models import Order, OrderEvent, OrderLine, OrderStatus
from apps.payments.models import Payment
from tests.cart.factories import CartFactory, CartLineFactory
from tests.catalog.factories import ProductVariantFactory

GUEST = AnonymousUser()
NO_ADDRESS: dict = {}  # place_order(shipping=NO_ADDRESS): check out without a shipping address

# An address as a client sends it (AddressInput) and as the service takes it.
ADDRESS_INPUT = {
    "fullName": "Casey Buyer",
    "line1": "12 Rue de Rivoli",
    "line2": "Apt 4",
    "city": "Paris",
    "region": "",
    "postalCode": "75001",
    "country": "FR",
    "phone": "",
}
ADDRESS = {
    "full_name": "Casey Buyer",
    "line1": "12 Rue de Rivoli",
    "line2": "Apt 4",
    "city": "Paris",
    "region": "",
    "postal_code": "75001",
    "country": "FR",
    "phone": "",
}
BILLING_ADDRESS = {
    "full_name": "Casey Accounts",
    "line1": "1 Market Street",
    "line2": "",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94105",
    "country": "US",
    "phone": "",
}

# The statuses an order passes through to reach each status, from PENDING.
PATH_TO = {
    OrderStatus.PENDING: [],
    OrderStatus.PAID: [OrderStatus.PAID],
    OrderStatus.PROCESSING: [OrderStatus.PAID, OrderStatus.PROCESSING],
    OrderStatus.SHIPPED: [OrderStatus.PAID, OrderStatus.PROCESSING, OrderStatus.SHIPPED],
    OrderStatus.DELIVERED: [
        OrderStatus.PAID,
        OrderStatus.PROCESSING,
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
    ],
    OrderStatus.CANCELLED: [OrderStatus.CANCELLED],
    OrderStatus.REFUNDED: [OrderStatus.PAID, OrderStatus.REFUNDED],
}


def variant(price: str = "19.99", stock: int = 10, **kwargs) -> ProductVariant:
    return ProductVariantFactory(price=Decimal(price), stock_quantity=stock, **kwargs)


def cart_with(*lines: tuple[ProductVariant, int], user=None) -> Cart:
    """An active cart holding ``(variant, quantity)`` lines; a guest cart without ``user``.

    A service's line holds a slot, as the cart service places it: the first free one (two
    days ahead), ``quantity`` its seats (``tests.bookings.factories.book``).
    """
    from tests.bookings.factories import book

    cart = CartFactory(user=user)
    for line_variant, quantity in lines:
        if line_variant.product.kind == ProductKind.SERVICE:
            book(line_variant, seats=quantity, cart=cart, user=user)
        else:
            CartLineFactory(cart=cart, variant=line_variant, quantity=quantity)
    return cart


def place_order(
    *,
    user=None,
    cart: Cart | None = None,
    lines: list[tuple[ProductVariant, int]] | None = None,
    key: str = "key-1",
    email: str | None = "guest@example.com",
    shipping: dict | None = None,
    billing: dict | None = None,
    method: str = "CARD_PLACEHOLDER",
    note: str = "",
) -> Order:
    """An order placed through ``checkout_complete``: by ``user``, or a guest without one."""
    buyer = user or GUEST
    if cart is None:
        cart = cart_with(*(lines or [(variant(), 2)]), user=user)
    return services.checkout_complete(
        cart=cart,
        user=buyer,
        payment_method=method,
        idempotency_key=key,
        email=email if user is None else None,
        shipping_address=(shipping or ADDRESS) if shipping is not NO_ADDRESS else None,
        billing_address=billing,
        note=note,
    )


def advance(order: Order, status: str, *, actor=None) -> Order:
    """Walk a PENDING order along the state machine to ``status``."""
    for step in PATH_TO[status]:
        order = services.order_transition(order=order, status=step, actor=actor)
    return order


def order_gid(order: Order) -> str:
    return to_base64("Order", order.pk)


def world() -> dict[str, list]:
    """Every row an order write can touch, and the mail sent: to assert that nothing changed."""
    return {
        "stock": list(ProductVariant.objects.order_by("pk").values_list("pk", "stock_quantity")),
        "movements": list(StockMovement.objects.order_by("pk").values()),
        "carts": list(Cart.objects.order_by("pk").values()),
        "cart_lines": list(CartLine.objects.order_by("pk").values()),
        "orders": list(Order.objects.order_by("pk").values()),
        "order_lines": list(OrderLine.objects.order_by("pk").values()),
        "events": list(OrderEvent.objects.order_by("pk").values()),
        "payments": list(Payment.objects.order_by("pk").values()),
        "notifications": list(Notification.objects.order_by("pk").values()),
        "bookings": list(Booking.objects.order_by("pk").values()),
        "booking_events": list(BookingEvent.objects.order_by("pk").values()),
        "mail": [(message.subject, message.to) for message in mail.outbox],
    }
