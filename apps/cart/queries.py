from uuid import UUID

import strawberry
import strawberry_django
from django.db.models import Q
from strawberry_django.optimizer import optimize

from api.grants import grant

from . import services
from .models import Cart
from .types import CartType


@strawberry.type
class CartQuery:
    @strawberry_django.field(
        description="A cart by its token; without one, the signed-in customer's active cart."
    )
    def cart(self, info: strawberry.Info, token: UUID | None = None) -> CartType | None:
        cart = services.cart_for(token=token, user=info.context.request.user)
        if cart is None:
            return None
        grant(info, Cart, Q(pk=cart.pk))  # reached by its token or by its customer
        return optimize(Cart.objects.filter(pk=cart.pk), info).first()
