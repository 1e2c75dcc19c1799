"""Every Node type has its visibility rule: ``node(id:)`` never hands out another's object.

The test walks every type of the schema that implements ``Node``: each needs an entry below
that makes an object belonging to one customer (or, for the catalog, one hidden from shoppers);
anonymous callers and another customer must get ``null`` for it, its owner the object. A new
Node type fails here until it has a rule and an entry.
"""

import pytest
from graphql import GraphQLObjectType
from strawberry.relay import to_base64

from schema.schema import schema
from tests.accounts.factories import AddressFactory, UserFactory
from tests.bookings.factories import ResourceFactory, TimeOffFactory
from tests.cart.factories import CartFactory, CartLineFactory
from tests.catalog.factories import (
    ProductFactory,
    ProductImageFactory,
    ProductVariantFactory,
)
from tests.conftest import GraphQLClient
from tests.orders.factories import place_order


def _order(owner):
    return place_order(user=owner)


def _booking(owner):
    from tests.bookings.factories import book_confirmed
    from tests.catalog.factories import service_variant

    return book_confirmed(service_variant(), user=owner)


def _delivery(owner):
    from tests.delivery.factories import card_order, delivery_of

    return delivery_of(card_order(user=owner))


def _agent(owner):
    from apps.delivery.services import agent_create

    return agent_create(user=owner, phone="+33 6 12 34 56 78", vehicle="Bicycle")


def _notification(owner):
    from apps.notifications.models import Notification

    return Notification.objects.create(user=owner, kind="GENERAL", title="Yours")


# type name -> (make an object of that type for ``owner``, whether its owner sees it)
PRIVATE = {
    "Address": (lambda owner: AddressFactory(user=owner), True),
    "Booking": (_booking, True),
    "Delivery": (_delivery, True),  # to its buyer (its courier: tests/delivery/test_access.py)
    "DeliveryAgent": (_agent, True),  # to the courier themself
    "CartLine": (lambda owner: CartLineFactory(cart=CartFactory(user=owner)), True),
    "Notification": (_notification, True),
    "Order": (_order, True),
    "OrderLine": (lambda owner: _order(owner).lines.first(), True),
    "User": (lambda owner: owner, True),
    # The catalog belongs to no customer: what is hidden is what is not on sale.
    "Product": (lambda owner: ProductFactory(is_active=False), False),
    "ProductVariant": (lambda owner: ProductVariantFactory(is_active=False), False),
    "ProductImage": (lambda owner: ProductImageFactory(product__is_active=False), False),
    # Resources belong to no customer either: an inactive one is hidden; time off is staff's.
    "Resource": (lambda owner: ResourceFactory(is_active=False), False),
    "TimeOff": (lambda owner: TimeOffFactory(), False),
}
PUBLIC = {"Category"}  # every category is public


def node_types() -> set[str]:
    return {
        name
        for name, type_ in schema._schema.type_map.items()
        if isinstance(type_, GraphQLObjectType) and any(i.name == "Node" for i in type_.interfaces)
    }


def test_every_node_type_has_a_visibility_entry_here():
    missing = node_types() - set(PRIVATE) - PUBLIC
    assert not missing, (
        f"Node types without a visibility test: {sorted(missing)}. Give each a get_queryset "
        "that calls apps.core.visibility.visible_to, and an entry in PRIVATE or PUBLIC here."
    )


NODE = "query($id: ID!) { node(id: $id) { __typename id } }"


@pytest.mark.parametrize("type_name", sorted(PRIVATE))
def test_another_s_object_is_null_for_anonymous_callers_and_other_customers(db, type_name):
    make, owner_sees = PRIVATE[type_name]
    owner, stranger = UserFactory(), UserFactory()
    gid = to_base64(type_name, make(owner).pk)

    for client in (GraphQLClient(), GraphQLClient().login(stranger)):
        assert client(NODE, {"id": gid}).data == {"node": None}, client
    seen = GraphQLClient().login(owner)(NODE, {"id": gid}).data["node"]
    assert seen == ({"__typename": type_name, "id": gid} if owner_sees else None)
