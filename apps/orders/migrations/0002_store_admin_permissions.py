"""The `Store admin` group also holds every permission of carts, orders, payments, notifications."""

from django.db import migrations

from apps.core.migration_operations import grant_app_permissions


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0001_initial"),
        ("cart", "0001_initial"),
        ("payments", "0001_initial"),
        ("notifications", "0002_initial"),
        ("catalog", "0002_store_admin_group"),
    ]

    operations = [
        grant_app_permissions("Store admin", ["cart", "orders", "payments", "notifications"]),
    ]
