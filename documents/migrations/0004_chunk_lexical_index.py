"""Full-text index over chunk text: SQLite FTS5 + triggers, PostgreSQL tsvector column + GIN index.

See documents/lexical.py. Existing chunks are indexed by the migration itself (the SQLite backfill,
PostgreSQL's generated column).
"""

from django.db import migrations


def create_index(apps, schema_editor):
    from documents.lexical import ensure_index

    ensure_index(schema_editor.connection)


def drop_index(apps, schema_editor):
    from documents.lexical import drop_index

    drop_index(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("documents", "0003_move_vectors_to_integrations"),
    ]

    operations = [migrations.RunPython(create_index, drop_index)]
