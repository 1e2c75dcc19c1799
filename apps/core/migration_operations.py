"""Migration operations that only touch PostgreSQL (the state is the same on every database)."""

from django.db import migrations


class AddIndexOnPostgres(migrations.AddIndex):
    """An index PostgreSQL alone can build (GIN over a tsvector); skipped on SQLite."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
