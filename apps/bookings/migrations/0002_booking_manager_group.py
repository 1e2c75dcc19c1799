"""The `Booking manager` role: every bookings permission (resources, their hours and time off,
how services are booked, the calendar and its actions), and a read-only view of the orders and of
the products and variants the bookings are of. `Store admin` also gets every bookings permission."""

from django.db import migrations

from apps.core.migration_operations import grant_app_permissions


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0001_initial"),
        ("accounts", "0002_roles"),
        ("orders", "0002_store_admin_permissions"),
        ("catalog", "0002_store_admin_group"),
    ]

    operations = [
        grant_app_permissions(
            "Booking manager",
            ["bookings"],
            permissions=[
                "orders.view_order",
                "catalog.view_product",
                "catalog.view_productvariant",
            ],
        ),
        grant_app_permissions("Store admin", ["bookings"]),
    ]
