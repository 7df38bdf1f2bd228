"""The knowledge base's quotas (tenants.quotas): documents, storage bytes and passages (chunks).

Counters are registered when the app is ready. `document_quota_enforce` runs where a document row
is written and `chunk_quota_enforce` where a generation is written and switched live, both after the
org's row is locked (`tenants.quotas.org_lock_for_quota`) when they must be exact.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Sum

from tenants.errors import QuotaExceeded
from tenants.quotas import quota_enforce, register_counter

from .extract import ExtractionError
from .models import Document


def documents_count(*, org_id: Any, **window: Any) -> int:
    return Document.objects.for_org(org_id).count()


def storage_bytes_used(*, org_id: Any, exclude_id: Any = None, **window: Any) -> int:
    documents = Document.objects.for_org(org_id)
    if exclude_id is not None:
        documents = documents.exclude(pk=exclude_id)
    return documents.aggregate(total=Sum("size_bytes"))["total"] or 0


def chunks_used(*, org_id: Any, exclude_id: Any = None, **window: Any) -> int:
    """Live passages of the org's documents (a document's `chunk_count` is its live generation's)."""
    documents = Document.objects.for_org(org_id)
    if exclude_id is not None:
        documents = documents.exclude(pk=exclude_id)
    return documents.aggregate(total=Sum("chunk_count"))["total"] or 0


def register() -> None:
    register_counter("documents", documents_count)
    register_counter("storage_bytes", storage_bytes_used)
    register_counter("chunks", chunks_used)


def document_quota_enforce(*, org: Any, size: int, new_document: bool = True, replacing: Any = None) -> None:
    """Refuse a document the org has no room for: one more document (`new_document`) and `size` more
    bytes (`replacing`: the document whose recorded size these bytes replace)."""
    if new_document:
        quota_enforce(org=org, name="documents")
    used = storage_bytes_used(org_id=org.pk, exclude_id=replacing)
    quota_enforce(org=org, name="storage_bytes", adding=size, used=used, what="this file")


class ChunkQuotaExceeded(ExtractionError):
    """The document's passages do not fit the org's chunk quota: the document fails with this reason
    (an ExtractionError, so processing removes the partial generation and keeps the previous one)."""


def chunk_quota_enforce(*, org: Any, document: Document, chunks: int) -> None:
    """Refuse a generation of `chunks` passages that would take the org past its chunk quota. The
    document's own live passages do not count: the new generation replaces them."""
    used = chunks_used(org_id=org.pk, exclude_id=document.pk)
    try:
        quota_enforce(org=org, name="chunks", adding=chunks, used=used, what="this document")
    except QuotaExceeded as exc:
        raise ChunkQuotaExceeded(exc.message) from exc
