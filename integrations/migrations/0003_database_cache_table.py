"""The table of the database cache (rate limits), so that `migrate` alone prepares a working platform.

It is Django's own `createcachetable`, run for the database being migrated: the table follows
`settings.CACHES` (every `DatabaseCache` there, by its LOCATION) and an existing table is left as it is,
so databases prepared by hand before this migration existed migrate cleanly. With no database cache
configured (the tests use a local-memory cache) there is nothing to create.
"""

from django.conf import settings
from django.core.management import call_command
from django.db import migrations


def create_cache_tables(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


def drop_cache_tables(apps, schema_editor):
    quote = schema_editor.connection.ops.quote_name
    for cache in settings.CACHES.values():
        if cache["BACKEND"] == "django.core.cache.backends.db.DatabaseCache":
            schema_editor.execute(f"DROP TABLE IF EXISTS {quote(cache['LOCATION'])}")


class Migration(migrations.Migration):
    dependencies = [("integrations", "0002_copy_documents_storedvector")]

    operations = [migrations.RunPython(create_cache_tables, drop_cache_tables, elidable=False)]
