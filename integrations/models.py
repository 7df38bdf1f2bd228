"""The tables integrations own: the `database` vector store's rows.

Integrations sit below the apps (they import no app models), so these rows carry the ids they are
written with — org, bot, document, chunk — as plain values, exactly like the DynamoDB store's keys, and
are removed through the store's ``delete_document``/``delete_bot``, which document, bot and org deletion
call. Every query filters by ``org_id`` and ``bot_id`` first: a bot's rows are never read for another.
"""

from __future__ import annotations

from django.db import models


class ChunkVector(models.Model):
    """One chunk of a document generation in the `database` vector store.

    ``vector`` is float32 little-endian bytes; ``text`` and ``metadata`` are what a search hit returns
    (page range, heading path, title), so a search never reads another app's tables.
    """

    id = models.BigAutoField(primary_key=True)
    org_id = models.CharField(max_length=64)
    bot_id = models.CharField(max_length=64)
    document_id = models.CharField(max_length=64)
    generation = models.PositiveIntegerField()
    ordinal = models.PositiveIntegerField()
    chunk_id = models.CharField(max_length=64)
    vector = models.BinaryField()
    text = models.TextField()
    metadata = models.JSONField(default=dict)

    class Meta:
        indexes = [
            models.Index(
                fields=["org_id", "bot_id", "document_id", "generation"], name="chunkvector_live_idx"
            )
        ]
        constraints = [
            models.UniqueConstraint(fields=["org_id", "bot_id", "chunk_id"], name="uniq_chunkvector_chunk")
        ]

    def __str__(self) -> str:
        return f"{self.document_id}#{self.generation}:{self.ordinal}"
