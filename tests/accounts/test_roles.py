"""Staff roles are groups made by migrations; each may do its own work and nothing else."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from strawberry.relay import to_base64

from apps.catalog.models import Product, ProductVariant, StockMovement
from apps.orders.models import Order, OrderEvent, OrderStatus
from tests.accounts.factories import UserFactory
from tests.catalog.factories import CategoryFactory, ProductVariantFactory, global_id
from tests.conftest import GraphQLClient, GraphQLResponse
from tests.reports.factories import make_order, utc

COMMERCE_APPS = [
    "accounts",
    "catalog",
    "bookings",
    "cart",
    "orders",
    "payments",
    "notifications",
    "delivery",
    "reports",
]
ORDER_MANAGER_EXTRAS = {
    "payments.view_payment",
    "accounts.view_user",
    "accounts.view_address",
    "cart.view_cart",
    "catalog.view_product",
    "catalog.view_productvariant",
    # Dispatching the deliveries and taking the couriers' cash in.
    "delivery.view_delivery",
    "delivery.change_delivery",
    "delivery.view_deliveryagent",
    "delivery.view_cashhandin",
    "delivery.add_cashhandin",
    # The sales report they had with orders.view_order, and the dashboard.
    "reports.view_reports",
}

ERRORS = "... on OperationInfo { messages { kind code field message } }"
PRODUCT_CREATE = f"""
mutation($input: ProductCreateInput!) {{
  result: productCreate(input: $input) {{ __typename ... on Product {{ name }} {ERRORS} }}
}}
"""
STOCK_UPDATE = f"""
mutation($variantId: ID!, $quantity: Int) {{
  result: stockUpdate(variantId: $variantId, quantity: $quantity, reason: "Count") {{
    __typename ... on ProductVariant {{ quantityAvailable }} {ERRORS}
  }}
}}
"""
ORDER_STATUS_UPDATE = f"""
mutation($id: ID!) {{
  result: orderStatusUpdate(id: $id, status: PAID) {{
    __typename ... on Order {{ status }} {ERRORS}
  }}
}}
"""
SALES_REPORT = """
{ salesReport(start: "2025-03-01T00:00:00Z", end: "2025-04-01T00:00:00Z") { orderCount } }
"""
USERS = "{ users { totalCount } }"
REFUSED = [
    {
        "kind": "PERMISSION",
        "code": "permission_denied",
        "field": None,
        "message": "You do not have permission to do this.",
    }
]


def perms(group_name: str) -> set[str]:
    group = Group.objects.get(name=group_name)
    return {
        f"{app}.{codename}"
        for app, codename in group.permissions.values_list("content_type__app_label", "codename")
    }


def app_perms(*app_labels: str) -> set[str]:
    return {
        f"{app}.{codename}"
        for app, codename in Permission.objects.filter(
            content_type__app_label__in=app_labels
        ).values_list("content_type__app_label", "codename")
    }


def staff_in(group_name: str) -> GraphQLClient:
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group_name))
    return GraphQLClient().login(user)


def result(response: GraphQLResponse) -> dict:
    return response.data["result"]


@pytest.fixture
def world(db):
    """A category, a variant with 10 units and a customer's PENDING order, to act on."""
    variant = ProductVariantFactory(sku="MUG", price=Decimal("12.00"), stock_quantity=10)
    order = make_order(
        status=OrderStatus.PENDING,
        lines=[(variant, 1)],
        created_at=utc(2025, 3, 2),
        user=UserFactory(email="buyer@example.com"),
    )
    return {"category": CategoryFactory(), "variant": variant, "order": order}


def product_create(api: GraphQLClient, world: dict) -> GraphQLResponse:
    return api(
        PRODUCT_CREATE,
        {
            "input": {
                "name": "Desk Lamp",
                "categoryId": global_id(world["category"]),
                "variants": [{"sku": "LAMP-1", "price": "25.00", "stockQuantity": 3}],
            }
        },
    )


def stock_update(api: GraphQLClient, world: dict) -> GraphQLResponse:
    return api(STOCK_UPDATE, {"variantId": global_id(world["variant"]), "quantity": 4})


def order_status_update(api: GraphQLClient, world: dict) -> GraphQLResponse:
    return api(ORDER_STATUS_UPDATE, {"id": to_base64("Order", world["order"].pk)})


def snapshot() -> dict:
    return {
        "products": list(Product.objects.order_by("pk").values()),
        "variants": list(ProductVariant.objects.order_by("pk").values()),
        "movements": list(StockMovement.objects.order_by("pk").values()),
        "orders": list(Order.objects.order_by("pk").values()),
        "events": list(OrderEvent.objects.order_by("pk").values()),
    }


# --- The groups -----------------------------------------------------------------------------


def test_the_catalog_manager_holds_every_catalog_permission_and_nothing_else(db):
    assert perms("Catalog manager") == app_perms("catalog")
    assert {"catalog.add_product", "catalog.change_productvariant"} <= perms("Catalog manager")


def test_the_order_manager_holds_the_order_permissions_and_read_access_around_them(db):
    assert perms("Order manager") == app_perms("orders") | ORDER_MANAGER_EXTRAS
    assert {"orders.view_order", "orders.change_order"} <= perms("Order manager")
    assert "catalog.add_product" not in perms("Order manager")
    assert "accounts.change_user" not in perms("Order manager")


def test_a_delivery_agent_may_carry_out_deliveries_and_nothing_of_the_back_office(db):
    assert perms("Delivery agent") == {"delivery.deliver"}


def test_the_store_admin_holds_every_commerce_permission(db):
    assert perms("Store admin") == app_perms(*COMMERCE_APPS)
    assert not any(name.startswith(("auth.", "admin.")) for name in perms("Store admin"))


def test_the_roles_are_not_empty(db):
    # A fresh database gets the groups complete (permissions are made inside the migrations).
    assert len(app_perms("catalog")) >= 20
    assert len(app_perms("orders")) >= 12
    assert len(perms("Store admin")) > len(perms("Order manager")) > len(ORDER_MANAGER_EXTRAS)


# --- Catalog manager ------------------------------------------------------------------------


def test_a_catalog_manager_may_create_products_and_set_stock(world):
    api = staff_in("Catalog manager")

    assert result(product_create(api, world)) == {"__typename": "Product", "name": "Desk Lamp"}
    assert result(stock_update(api, world)) == {
        "__typename": "ProductVariant",
        "quantityAvailable": 4,
    }
    assert ProductVariant.objects.get(sku="LAMP-1").stock_quantity == 3
    assert ProductVariant.objects.get(sku="MUG").stock_quantity == 4


def test_a_catalog_manager_may_not_change_an_order_status(world):
    api = staff_in("Catalog manager")
    before = snapshot()

    assert result(order_status_update(api, world)) == {
        "__typename": "OperationInfo",
        "messages": REFUSED,
    }
    assert snapshot() == before


def test_a_catalog_manager_may_not_read_the_sales_report_nor_the_accounts(world):
    api = staff_in("Catalog manager")

    response = api(SALES_REPORT)
    assert response.body["data"] is None
    assert [e["message"] for e in response.errors] == ["You do not have permission to do this."]
    assert api(USERS).data == {"users": {"totalCount": 0}}


# --- Order manager --------------------------------------------------------------------------


def test_an_order_manager_may_read_the_report_change_orders_and_list_accounts(world):
    api = staff_in("Order manager")

    assert api(SALES_REPORT).data == {"salesReport": {"orderCount": 0}}
    assert result(order_status_update(api, world)) == {"__typename": "Order", "status": "PAID"}
    assert Order.objects.get(pk=world["order"].pk).status == OrderStatus.PAID
    assert api(SALES_REPORT).data == {"salesReport": {"orderCount": 1}}
    assert api(USERS).data == {"users": {"totalCount": 2}}  # the buyer and the manager


def test_an_order_manager_may_not_create_products_nor_set_stock(world):
    api = staff_in("Order manager")
    before = snapshot()

    assert result(product_create(api, world)) == {
        "__typename": "OperationInfo",
        "messages": REFUSED,
    }
    assert result(stock_update(api, world)) == {
        "__typename": "OperationInfo",
        "messages": REFUSED,
    }
    assert snapshot() == before


# --- Store admin and staff without a role ---------------------------------------------------


def test_a_store_admin_may_do_all_of_it(world):
    api = staff_in("Store admin")

    assert result(product_create(api, world))["__typename"] == "Product"
    assert result(stock_update(api, world))["__typename"] == "ProductVariant"
    assert result(order_status_update(api, world)) == {"__typename": "Order", "status": "PAID"}
    assert api(SALES_REPORT).data == {"salesReport": {"orderCount": 1}}
    assert api(USERS).data == {"users": {"totalCount": 2}}


def test_staff_without_a_role_may_do_none_of_it(world):
    api = GraphQLClient().login(UserFactory(is_staff=True))
    before = snapshot()

    assert result(product_create(api, world))["messages"] == REFUSED
    assert result(stock_update(api, world))["messages"] == REFUSED
    assert result(order_status_update(api, world))["messages"] == REFUSED
    assert api(SALES_REPORT).body["data"] is None
    assert api(USERS).data == {"users": {"totalCount": 0}}
    assert snapshot() == before
