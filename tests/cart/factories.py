import factory
from strawberry.relay import to_base64

from apps.cart.models import Cart, CartLine
from apps.catalog.models import ProductVariant
from tests.catalog.factories import ProductVariantFactory


class CartFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cart

    user = None
    status = Cart.Status.ACTIVE


class CartLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CartLine

    cart = factory.SubFactory(CartFactory)
    variant = factory.SubFactory(ProductVariantFactory)
    kind = factory.LazyAttribute(lambda line: line.variant.product.kind)
    quantity = 1


# --- Helpers shared by the cart tests ---------------------------------------------------------


def line_id(line: CartLine) -> str:
    """The Relay global id of a cart line, as the API shows it."""
    return to_base64("CartLine", line.pk)


def cart_snapshot() -> dict[str, list[dict]]:
    """Every cart, line and stock level, to assert that nothing changed."""
    return {
        "carts": list(Cart.objects.order_by("pk").values()),
        "lines": list(CartLine.objects.order_by("pk").values()),
        "stock": list(ProductVariant.objects.order_by("pk").values("pk", "stock_quantity")),
    }
