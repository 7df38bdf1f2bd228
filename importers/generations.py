"""Writing passages and vectors that come from elsewhere as one new generation of a document.

The same contract as `documents.services.document_process` (read its module docstring): the passages
and vectors are written as generation g+1 beside the live one; `active_generation` switches to it in
one transaction only once the store holds every vector; then the older generations are removed.
Readers never see a mix, and a failure keeps the previous version searchable.

Kept here until the documents pipeline exposes this step as a reusable function
(`documents/services/processing.py`); then this module should call that one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from django.db import transaction
from django.utils import timezone

from bots.services import bot_bump_index_version
from documents.models import Chunk, Document, DocumentStatus
from integrations.vectors.base import VectorItem, VectorStore

logger = logging.getLogger(__name__)

UPSERT_BATCH = 256


@dataclass(frozen=True)
class ImportedPassage:
    """One passage with its unit-length float32 vector."""

    text: str
    vector: np.ndarray
    page_start: int | None = None
    page_end: int | None = None
    heading_path: list[str] = field(default_factory=list)


class GenerationSuperseded(Exception):
    """Another (re)index of the document started after this one and owns it now."""


def _claim(document: Document, total: int) -> int:
    with transaction.atomic():
        current = Document.objects.for_org(document.org_id).select_for_update().get(pk=document.pk)
        current.generation += 1
        current.status = DocumentStatus.PROCESSING
        current.attempts += 1
        current.error = ""
        current.chunks_total = total
        current.chunks_embedded = 0
        current.processing_started_at = timezone.now()
        current.save()
        return current.generation


def _drop(document: Document, generation: int, store: VectorStore) -> None:
    store.delete_document(
        org_id=str(document.org_id),
        bot_id=str(document.bot_id),
        document_id=str(document.pk),
        generation=generation,
    )
    Chunk.objects.for_org(document.org_id).filter(document_id=document.pk, generation=generation).delete()


def document_generation_write(
    *,
    document: Document,
    passages: Sequence[ImportedPassage],
    embedding_model: str,
    store: VectorStore,
    on_batch: Callable[[int, int], None] | None = None,
    on_activate: Callable[[Document], None] | None = None,
) -> Document:
    """Index `passages` as the document's new live generation; returns the document, `ready`.

    `on_activate(document)` runs inside the transaction that switches the generation live, so
    bookkeeping that must agree with it (the importer's record) commits with it or not at all.
    Raises on failure after removing the partial generation and marking the document failed (its
    previous version stays searchable); `GenerationSuperseded` when a newer re-index took over.
    """
    if not passages:
        raise ValueError("a generation needs at least one passage")
    total = len(passages)
    generation = _claim(document, total)
    try:
        rows = Chunk.objects.bulk_create(
            [
                Chunk(
                    org_id=document.org_id,
                    bot_id=document.bot_id,
                    document_id=document.pk,
                    generation=generation,
                    ordinal=ordinal,
                    text=p.text,
                    page_start=p.page_start,
                    page_end=p.page_end,
                    heading_path=list(p.heading_path),
                    char_start=0,
                    char_end=len(p.text),
                )
                for ordinal, p in enumerate(passages)
            ],
            batch_size=500,
        )
        done = 0
        for start in range(0, total, UPSERT_BATCH):
            batch = rows[start : start + UPSERT_BATCH]
            store.upsert(
                org_id=str(document.org_id),
                bot_id=str(document.bot_id),
                document_id=str(document.pk),
                generation=generation,
                items=[
                    VectorItem(
                        chunk_id=str(c.pk),
                        document_id=str(document.pk),
                        ordinal=c.ordinal,
                        vector=np.asarray(p.vector, dtype=np.float32),
                        text=c.text,
                        metadata={
                            "page_start": c.page_start,
                            "page_end": c.page_end,
                            "heading_path": c.heading_path,
                            "title": document.title,
                        },
                    )
                    for c, p in zip(batch, passages[start : start + UPSERT_BATCH], strict=True)
                ],
            )
            done += len(batch)
            Document.objects.for_org(document.org_id).filter(pk=document.pk).update(
                chunks_embedded=done, updated_at=timezone.now()
            )
            if on_batch:
                on_batch(done, total)
        stored = store.count(
            org_id=str(document.org_id), bot_id=str(document.bot_id), document_id=str(document.pk)
        )
        if stored < total:
            raise RuntimeError(f"the vector store holds {stored} of {total} vectors after writing")
        pages = [p for p in (x.page_end or x.page_start for x in passages) if p]
        return _activate(
            document, generation, total, max(pages) if pages else None, embedding_model, store, on_activate
        )
    except GenerationSuperseded:
        raise
    except Exception as exc:
        _fail(document, generation, f"Import failed: {type(exc).__name__}: {str(exc)[:300]}", store)
        raise


def _activate(document, generation, total, page_count, model_name, store, on_activate) -> Document:
    with transaction.atomic():
        current = Document.objects.for_org(document.org_id).select_for_update().filter(pk=document.pk).first()
        superseded = current is None or current.generation != generation
        if not superseded:
            current.active_generation = generation
            current.status = DocumentStatus.READY
            current.chunk_count = current.chunks_total = current.chunks_embedded = total
            current.page_count = page_count
            current.embedding_model = model_name
            current.error = ""
            current.processed_at = timezone.now()
            current.save()
            bot_bump_index_version(bot=current.bot)
            if on_activate:
                on_activate(current)
    if superseded:
        _drop(document, generation, store)
        raise GenerationSuperseded(f"document {document.pk} was deleted or re-indexed during the import")
    # Every older generation is now garbage: the one live before, and any left half-written by an
    # interrupted run (its chunks were committed before its vectors, so the chunk table lists it).
    # Newer ones belong to a re-index that started after ours and are left alone.
    stale = set(
        Chunk.objects.for_org(document.org_id)
        .filter(document_id=document.pk, generation__lt=generation)
        .values_list("generation", flat=True)
        .distinct()
    )
    for old in sorted(stale):
        _drop(document, old, store)
    return current


def _fail(document: Document, generation: int, reason: str, store: VectorStore) -> None:
    try:
        _drop(document, generation, store)
    except Exception:  # the store may be what failed; the next run or a re-index cleans up
        logger.exception("could not remove a failed generation", extra={"document_id": str(document.pk)})
    with transaction.atomic():
        current = Document.objects.for_org(document.org_id).select_for_update().filter(pk=document.pk).first()
        if current is None or current.generation != generation:
            return
        if current.active_generation is not None:
            reason += " The previously indexed version stays searchable."
        current.status = DocumentStatus.FAILED
        current.error = reason
        current.processed_at = timezone.now()
        current.save()
