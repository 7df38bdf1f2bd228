from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_lexical_index(sender, using, **kwargs):
    # SQLite drops a table's triggers whenever a later migration rebuilds documents_chunk; re-assert
    # the full-text index after every migrate so it can never silently stop following the chunks.
    from django.db import connections

    from .lexical import repair_index

    repair_index(connections[using])


class DocumentsConfig(AppConfig):
    name = "documents"

    def ready(self) -> None:
        from . import quotas, signals  # noqa: F401  (signals: the clean-up after bot and org deletions)

        quotas.register()

        post_migrate.connect(_ensure_lexical_index, sender=self, dispatch_uid="documents.lexical_index")
