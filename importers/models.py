"""What was imported from where: one row per source row, so a re-run updates instead of duplicating.

Source ids live here rather than in extra columns on users, bots and documents: those models stay
ignorant of where their rows came from, and one table answers "which Supabase bot became this?".
"""

from __future__ import annotations

from django.db import models

from tenants.models import TenantScopedModel


class Kind(models.TextChoices):
    USER = "user", "User"
    ORG = "org", "Organisation"
    BOT = "bot", "Bot"
    DOCUMENT = "document", "Document"
    VECTORS = "vectors", "Vectors of a document"


class ImportedRecord(TenantScopedModel):
    """One source row (`source`, `kind`, `source_id`) and the Botwright row it became (`target_id`).

    `org` is the organisation the target belongs to (a user's: the org the import made them a member
    of). `checksum` is a digest of the source row as last imported: an equal checksum on a later run
    means nothing changed and nothing is written.
    """

    source = models.CharField(max_length=64, help_text="supabase, qdrant")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    source_id = models.CharField(max_length=255)
    target_id = models.CharField(max_length=64)
    checksum = models.CharField(max_length=64, blank=True)
    source_updated_at = models.DateTimeField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["source", "kind", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["source", "kind", "source_id"], name="uniq_imported_source_row")
        ]
        indexes = [models.Index(fields=["org", "kind"]), models.Index(fields=["kind", "target_id"])]

    def __str__(self) -> str:
        return f"{self.source} {self.kind} {self.source_id} → {self.target_id}"
