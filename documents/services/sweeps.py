"""Operator jobs across all orgs: recover stuck documents, re-index after a model change.

They work through the loudly named `all_orgs` escape hatch, then handle each document by id inside
its own org. What the sweep puts back in the queue is handed to `dispatch` — by default the
configured queue (the scheduled Lambda, the local worker); a management command passes a function
that processes the document inline, because its process is about to exit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from integrations.embeddings import get_embedder
from integrations.embeddings.base import Embedder

from ..models import Document, DocumentStatus
from ..tasks import enqueue_after_commit
from .lifecycle import queue_reindex

# A presigned POST is valid for 15 minutes; a day later the upload is not coming.
ABANDONED_UPLOAD = timedelta(days=1)

Dispatch = Callable[[Document], Any]


def documents_sweep_stuck(*, now=None, dispatch: Dispatch = enqueue_after_commit) -> dict[str, int]:
    """Retry documents stuck in `processing` (a killed Lambda, a crashed worker), bounded by
    DOCUMENT_MAX_ATTEMPTS; re-queue pending documents whose queue message was lost; fail direct
    uploads the browser never completed."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.DOCUMENT_STUCK_AFTER_S)
    result = {"retried": 0, "failed": 0, "requeued": 0}
    stuck = Document.all_orgs.filter(status=DocumentStatus.PROCESSING, processing_started_at__lt=cutoff)
    for document in stuck:
        in_org = Document.objects.for_org(document.org_id).filter(
            pk=document.pk, status=DocumentStatus.PROCESSING, generation=document.generation
        )
        if document.attempts >= settings.DOCUMENT_MAX_ATTEMPTS:
            reason = (
                f"Processing did not finish after {document.attempts} attempts "
                f"(each stopped after {settings.DOCUMENT_STUCK_AFTER_S} s). The file may be too large or "
                "complex; split it or re-index to try again."
            )
            if document.active_generation is not None:
                reason += " The previously indexed version stays searchable."
            result["failed"] += in_org.update(status=DocumentStatus.FAILED, error=reason, processed_at=now)
        elif in_org.update(status=DocumentStatus.PENDING, updated_at=now):
            # Only the sweep that flipped it dispatches it (two sweeps may overlap).
            dispatch(document)
            result["retried"] += 1
    # Pending documents whose queue message was lost (e.g. an async invocation that never ran).
    lost = Document.all_orgs.filter(status=DocumentStatus.PENDING, updated_at__lt=cutoff).exclude(sha256="")
    for document in lost:
        if (
            Document.objects.for_org(document.org_id)
            .filter(pk=document.pk, status=DocumentStatus.PENDING, updated_at=document.updated_at)
            .update(updated_at=now)
        ):
            dispatch(document)
            result["requeued"] += 1
    # Direct uploads the browser never completed: say so instead of staying pending forever.
    abandoned = Document.all_orgs.filter(
        status=DocumentStatus.PENDING,
        sha256="",
        upload_method="presigned",
        created_at__lt=now - ABANDONED_UPLOAD,
    )
    result["abandoned"] = abandoned.update(
        status=DocumentStatus.FAILED,
        error="The direct upload was never completed; upload the file again.",
        processed_at=now,
    )
    return result


def documents_requeue_stale_model(
    *, embedder: Embedder | None = None, limit: int = 200, dispatch: Dispatch = enqueue_after_commit
) -> int:
    """Queue a re-index of ready documents embedded by another model than the configured one.

    Until re-indexed they are left out of search (their vectors live in another space). Bounded per
    call so a model switch on a large platform is spread over several sweeps.
    """
    name = (embedder or get_embedder()).name
    stale = (
        Document.all_orgs.filter(status=DocumentStatus.READY)
        .exclude(embedding_model=name)
        .exclude(sha256="")
        .order_by("updated_at")[:limit]
    )
    count = 0
    for document in stale:
        queue_reindex(document, dispatch=dispatch)
        count += 1
    return count
