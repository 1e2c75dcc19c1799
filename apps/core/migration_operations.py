"""Migration operations that only touch PostgreSQL (the state is the same on every database)."""

from django.db import migrations


class AddIndexOnPostgres(migrations.AddIndex):
    """An index PostgreSQL alone can build (GIN over a tsvector); skipped on SQLite.

    It stays out of the migration state (and so out of the model's ``Meta.indexes``): SQLite
    rebuilds every index of the state whenever it remakes a table, and cannot build this one.
    """

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def grant_app_permissions(
    group_name: str, app_labels: list[str], permissions: list[str] = ()
) -> migrations.RunPython:
    """Give ``group_name`` (created if needed) every permission of ``app_labels`` plus the
    ``permissions`` named ``"app_label.codename"``.

    Permissions are normally created after migrations run; they are created here first so that
    a fresh database gets the group complete.
    """

    def forwards(apps, schema_editor):
        from django.contrib.auth.management import create_permissions
        from django.db.models import Q

        for app_config in apps.get_app_configs():
            app_config.models_module = True
            create_permissions(app_config, apps=apps, verbosity=0)
            app_config.models_module = None
        group, _ = apps.get_model("auth", "Group").objects.get_or_create(name=group_name)
        wanted = Q(content_type__app_label__in=app_labels)
        for name in permissions:
            app_label, codename = name.split(".")
            wanted |= Q(content_type__app_label=app_label, codename=codename)
        group.permissions.add(*apps.get_model("auth", "Permission").objects.filter(wanted))

    return migrations.RunPython(forwards, migrations.RunPython.noop)
