"""`reports.view_reports` (the `salesReport` query and the admin's dashboard) for the `Store
admin` and the `Order manager` groups."""

from django.db import migrations

from apps.core.migration_operations import grant_app_permissions


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
        ("accounts", "0002_roles"),
        ("catalog", "0002_store_admin_group"),
    ]

    operations = [
        grant_app_permissions("Store admin", [], permissions=["reports.view_reports"]),
        grant_app_permissions("Order manager", [], permissions=["reports.view_reports"]),
    ]
