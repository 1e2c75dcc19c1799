"""Staff roles as groups: `Catalog manager` (catalog and stock) and `Order manager` (orders,
payments, customers read-only, the sales report). `Store admin` holds everything."""

from django.db import migrations

from apps.core.migration_operations import grant_app_permissions


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("orders", "0002_store_admin_permissions"),
    ]

    operations = [
        grant_app_permissions("Catalog manager", ["catalog"]),
        grant_app_permissions(
            "Order manager",
            ["orders"],
            permissions=[
                "payments.view_payment",
                "accounts.view_user",
                "accounts.view_address",
                "cart.view_cart",
                "catalog.view_product",
                "catalog.view_productvariant",
            ],
        ),
    ]
