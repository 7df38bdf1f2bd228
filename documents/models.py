"""Knowledge-base documents and their passages (chunks).

Re-indexing writes a new *generation* of chunks/vectors beside the live one; the document's
`active_generation` switches only when the new generation is complete, so searches never see a
mix and a document never counts as searchable with missing vectors.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tenants.models import TenantScopedModel


class DocumentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class Document(TenantScopedModel):
    bot = models.ForeignKey("bots.Bot", on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(max_length=300)
    filename = models.CharField(max_length=255, blank=True)
    kind = models.CharField(max_length=16, blank=True, help_text="Sniffed type: pdf, docx, text, markdown.")
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    storage_key = models.CharField(max_length=500, blank=True)
    status = models.CharField(
        max_length=16, choices=DocumentStatus.choices, default=DocumentStatus.PENDING, db_index=True
    )
    error = models.TextField(blank=True)
    page_count = models.PositiveIntegerField(null=True, blank=True)
    chunk_count = models.PositiveIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_embedded = models.PositiveIntegerField(default=0)
    embedding_model = models.CharField(max_length=200, blank=True)
    generation = models.PositiveIntegerField(default=0, help_text="Latest generation started.")
    active_generation = models.PositiveIntegerField(
        null=True, blank=True, help_text="Generation live for search."
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    upload_method = models.CharField(max_length=16, default="api")
    processing_started_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["bot", "sha256"], condition=~models.Q(sha256=""), name="uniq_document_bytes_per_bot"
            )
        ]
        indexes = [models.Index(fields=["bot", "status"])]

    def __str__(self) -> str:
        return self.title

    @property
    def progress(self) -> float:
        if self.status == DocumentStatus.READY:
            return 1.0
        return round(self.chunks_embedded / self.chunks_total, 4) if self.chunks_total else 0.0


class Chunk(TenantScopedModel):
    """One passage of a document generation, with where it came from."""

    bot = models.ForeignKey("bots.Bot", on_delete=models.CASCADE, related_name="+")
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks")
    generation = models.PositiveIntegerField()
    ordinal = models.PositiveIntegerField()
    text = models.TextField()
    page_start = models.PositiveIntegerField(null=True, blank=True)
    page_end = models.PositiveIntegerField(null=True, blank=True)
    heading_path = models.JSONField(default=list, blank=True)
    char_start = models.PositiveIntegerField(default=0)
    char_end = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["document", "generation", "ordinal"]
        constraints = [
            models.UniqueConstraint(fields=["document", "generation", "ordinal"], name="uniq_chunk_position")
        ]

    def __str__(self) -> str:
        return f"{self.document_id}#{self.generation}:{self.ordinal}"
