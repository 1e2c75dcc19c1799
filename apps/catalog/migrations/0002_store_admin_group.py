"""The `Store admin` group: every permission of the commerce apps (accounts and catalog here)."""

from django.db import migrations

from apps.core.migration_operations import grant_app_permissions


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [grant_app_permissions("Store admin", ["accounts", "catalog"])]
