"""The `Store admin` group: every permission of the commerce apps."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

COMMERCE_APPS = ["accounts", "catalog", "cart", "orders", "payments", "notifications"]


def create_store_admin(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Store admin")
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label__in=COMMERCE_APPS)
    )


def remove_store_admin(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Store admin").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_store_admin, remove_store_admin)]
