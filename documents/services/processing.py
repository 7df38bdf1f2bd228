"""Processing a document: claim → read and extract → chunk → write chunks → embed and store →
verify → switch live. Each step is a named function below; `document_process` strings them together.

Contract (what readers can rely on):
- A document's chunks and vectors are written as a new *generation*; `active_generation` switches to
  it in one transaction only once every vector is stored. Search reads only active generations, so a
  re-index is atomic for readers and a `ready` document never has missing vectors.
- A failure of the document's own (unreadable, too large, no text) removes the partial generation and
  marks the document `failed` with a reason a person can act on; a previously indexed version stays
  searchable.
- A transient failure (a locked database, unreachable storage or vector store, a throttled provider)
  is retried with backoff at the step that hit it. If it outlasts the retries, the partial generation
  is removed and the document goes back to `pending` — not `failed` — for a worker or the sweep to
  take up again; that attempt does not count against the document.
- Anything else is a bug, not the document's fault: the document fails with a message that says so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from integrations import storage
from integrations.embeddings import get_embedder
from integrations.embeddings.base import Embedder
from integrations.metrics import MILLISECONDS, Metric, emit_quietly, ms_since
from integrations.transient import call_with_retries, describe, is_transient
from integrations.vectors.base import VectorItem, VectorStore
from integrations.vectors.factory import get_vector_store
from tenants.quotas import org_lock_for_quota

from ..chunking import Chunk as Piece
from ..chunking import extract_and_chunk
from ..extract import ExtractionError, sniff_type
from ..models import Chunk, Document, DocumentStatus
from ..quotas import chunk_quota_enforce
from .uploads import default_title

logger = logging.getLogger(__name__)

T = TypeVar("T")

EMBED_BATCH = 64

Progress = Callable[[int, int], None]
# A source of passages for a claimed document: returns (pieces, page_count).
Producer = Callable[[Document], tuple[Sequence[Piece], int | None]]


def document_process(
    *,
    document_id: str,
    org_id: str,
    embedder: Embedder | None = None,
    store: VectorStore | None = None,
    on_progress: Progress | None = None,
    require_pending: bool = False,
) -> Document | None:
    """Extract, chunk, embed and index one document; never raises for a bad file or a transient failure.

    Returns the document as it ended (`ready`, `failed`, or `pending` again after a transient
    failure), or None when it is gone — or, with `require_pending`, when it is no longer waiting
    (a queue message delivered twice, or another worker got there first).
    """
    return _index_new_generation(
        document_id,
        org_id,
        produce=_extract_and_chunk,
        embedder=embedder,
        store=store,
        on_progress=on_progress,
        require_pending=require_pending,
    )


def document_write_generation(
    *,
    document_id: str,
    org_id: str,
    pieces: Sequence[Piece],
    page_count: int | None = None,
    vectors: Sequence[Any] | None = None,
    embedding_model: str | None = None,
    embedder: Embedder | None = None,
    store: VectorStore | None = None,
    on_progress: Progress | None = None,
    on_activate: Callable[[Document], None] | None = None,
) -> Document | None:
    """Index ready-made passages as a new generation of a document and switch it live atomically.

    The re-index contract for callers that produce their own passages (importers): `pieces` are
    `documents.chunking.Chunk`s with dense 0-based ordinals. With `vectors` (one unit-length float32
    vector per piece, made by `embedding_model`) nothing is embedded; otherwise `embedder` (default:
    the configured one) embeds them. `on_activate(document)` runs inside the transaction that switches
    this generation live — bookkeeping that must agree with it commits with it or not at all — and only
    then. Readers keep seeing the previous generation until this one is complete; failures and
    transient errors end as in `document_process`. Returns the document as it ended, or None when
    it is gone.
    """
    frozen = list(pieces)
    if vectors is not None and (len(vectors) != len(frozen) or not embedding_model):
        raise ValueError("vectors need one vector per piece and the name of the model that made them")
    return _index_new_generation(
        document_id,
        org_id,
        produce=lambda document: (frozen, page_count),
        embedder=embedder,
        store=store,
        on_progress=on_progress,
        vectors=vectors,
        embedding_model=embedding_model,
        on_activate=on_activate,
    )


def embedding_text(chunk: Any, title: str) -> str:
    """What the embedder sees for a passage (benchmarks use it too, so baselines stay fair)."""
    # The heading path gives a passage its context ("Returns > Refunds"), which the text alone
    # often lacks; MiniLM sees it, readers see the plain passage.
    context = " > ".join([title, *chunk.heading_path]) if chunk.heading_path else title
    return f"{context}\n{chunk.text}" if context else chunk.text


def _retry(fn: Callable[[], T], what: str) -> T:
    return call_with_retries(
        fn,
        what=what,
        attempts=settings.DOCUMENT_RETRY_ATTEMPTS,
        backoff_s=settings.DOCUMENT_RETRY_BACKOFF_S,
    )


def _index_new_generation(
    document_id: str,
    org_id: str,
    *,
    produce: Producer,
    embedder: Embedder | None,
    store: VectorStore | None,
    on_progress: Progress | None,
    require_pending: bool = False,
    vectors: Sequence[Any] | None = None,
    embedding_model: str | None = None,
    on_activate: Callable[[Document], None] | None = None,
) -> Document | None:
    claimed = _retry(lambda: _claim(document_id, org_id, require_pending=require_pending), "claim")
    if claimed is None:
        return None
    document, generation = claimed
    if vectors is None:
        embedder = embedder or get_embedder()
        embedding_model = embedder.name
    store = store or get_vector_store()
    started = time.monotonic()
    outcome = _attempt(
        document,
        generation,
        produce,
        embedder,
        store,
        on_progress,
        vectors,
        embedding_model,
        on_activate,
        started,
    )
    _emit_metrics(document, outcome, started)
    return outcome


def _attempt(
    document: Document,
    generation: int,
    produce: Producer,
    embedder: Embedder | None,
    store: VectorStore,
    on_progress: Progress | None,
    vectors: Sequence[Any] | None,
    embedding_model: str | None,
    on_activate: Callable[[Document], None] | None,
    started: float,
) -> Document | None:
    try:
        pieces, page_count = produce(document)
        if not pieces:
            raise ExtractionError("No text could be extracted from this document.")
        # Before anything is written (unlocked); switching live checks again under the org's lock.
        chunk_quota_enforce(org=document.org, document=document, chunks=len(pieces))
        rows = _retry(lambda: _write_chunks(document, generation, pieces), "write chunks")
        _retry(lambda: _progress(document, page_count=page_count, chunks_total=len(rows)), "progress")
        _embed_and_store(document, generation, rows, embedder, store, on_progress, vectors)
        _retry(lambda: _verify_stored(document, len(rows), store), "verify vectors")
        return _switch_live(
            document, generation, len(rows), page_count, embedding_model, store, started, on_activate
        )
    except ExtractionError as exc:
        return _settle(document, generation, store, status=DocumentStatus.FAILED, reason=exc.reason)
    except Exception as exc:
        if is_transient(exc):
            logger.warning(
                "document processing put back after transient failures",
                extra={"document_id": str(document.pk), "error": repr(exc)[:300]},
            )
            reason = f"Waiting to retry: {describe(exc)}. Processing resumes automatically."
            return _settle(document, generation, store, status=DocumentStatus.PENDING, reason=reason)
        if not _retry(lambda: _still_exists(document), "check document"):
            # Deleted while we worked (our rows then fail their foreign key): nothing to report.
            _drop_generation_quietly(document, generation, store)
            return None
        logger.exception("document processing failed", extra={"document_id": str(document.pk)})
        reason = (
            f"Processing failed because of an unexpected error ({type(exc).__name__}: {str(exc)[:300]}). "
            "Re-index the document to try again; if it fails again, tell the platform's operator."
        )
        return _settle(document, generation, store, status=DocumentStatus.FAILED, reason=reason)


def _emit_metrics(document: Document, outcome: Document | None, started: float) -> None:
    """One EMF event per attempt that ended (integrations.metrics): failed, ready or put back."""
    if outcome is None or outcome.generation != document.generation:
        return  # deleted meanwhile, or a newer re-index took over: that attempt reports itself
    status = outcome.status
    if status not in (DocumentStatus.READY, DocumentStatus.FAILED, DocumentStatus.PENDING):
        return
    metrics = [
        Metric("DocumentProcessingTime", ms_since(started), MILLISECONDS),
        Metric("DocumentFailures", int(status == DocumentStatus.FAILED)),
        Metric("DocumentRequeued", int(status == DocumentStatus.PENDING)),
    ]
    if status == DocumentStatus.READY:
        metrics.append(Metric("DocumentChunks", outcome.chunk_count))
    emit_quietly(
        metrics,
        properties={
            "org": str(document.org_id),
            "bot": str(document.bot_id),
            "document": str(document.pk),
            "kind": document.kind,
            "size_bytes": document.size_bytes,
            "status": status,
        },
    )


# --- Steps -----------------------------------------------------------------------------------


def _still_exists(document: Document) -> bool:
    return Document.objects.for_org(document.org_id).filter(pk=document.pk).exists()


def _claim(document_id: str, org_id: str, *, require_pending: bool) -> tuple[Document, int] | None:
    """Mark the document processing under a new generation number, or None if it is not ours to take."""
    with transaction.atomic():
        claimable = Document.objects.for_org(org_id).select_for_update().filter(pk=document_id)
        if require_pending:
            claimable = claimable.filter(status=DocumentStatus.PENDING)
        document = claimable.first()
        if document is None:
            return None
        document.generation += 1
        document.status = DocumentStatus.PROCESSING
        document.attempts += 1
        document.error = ""
        document.chunks_total = 0
        document.chunks_embedded = 0
        document.processing_started_at = timezone.now()
        document.save()
        return document, document.generation


def _read_file(document: Document) -> bytes:
    try:
        return _retry(lambda: storage.read(document.storage_key), "read file")
    except FileNotFoundError:
        raise ExtractionError("The uploaded file is missing from storage; upload it again.")


def _extract_and_chunk(document: Document) -> tuple[list[Piece], int | None]:
    data = _read_file(document)
    # Both steps walk attacker-chosen text: they run in the sandboxed child (deadline, memory cap).
    extracted, pieces = extract_and_chunk(
        data,
        document.kind or sniff_type(data, document.filename),
        timeout_s=settings.DOCUMENT_EXTRACT_TIMEOUT_S,
        max_pages=settings.DOCUMENT_MAX_PAGES,
    )
    del data
    _retry(lambda: _adopt_title(document, extracted.title), "adopt title")
    return pieces, extracted.page_count


def _adopt_title(document: Document, title: str | None) -> None:
    if title and document.title == default_title(document.filename):
        # Nobody named it: the document's own title ("Staff Handbook") beats its file name.
        document.title = title.strip()[:300]
        Document.objects.for_org(document.org_id).filter(pk=document.pk).update(title=document.title)


def _write_chunks(document: Document, generation: int, pieces: Sequence[Piece]) -> list[Chunk]:
    with transaction.atomic():
        # A retry after a commit whose acknowledgement was lost must not collide with itself.
        Chunk.objects.for_org(document.org_id).filter(document_id=document.pk, generation=generation).delete()
        return Chunk.objects.bulk_create(
            [
                Chunk(
                    org_id=document.org_id,
                    bot_id=document.bot_id,
                    document=document,
                    generation=generation,
                    ordinal=p.ordinal,
                    text=p.text,
                    page_start=p.page_start,
                    page_end=p.page_end,
                    heading_path=list(p.heading_path),
                    char_start=p.char_start,
                    char_end=p.char_end,
                )
                for p in pieces
            ],
            batch_size=500,
        )


def _progress(document: Document, **fields: Any) -> None:
    Document.objects.for_org(document.org_id).filter(pk=document.pk).update(
        **fields, updated_at=timezone.now()
    )


def _vector_items(document: Document, rows: Sequence[Chunk], vectors: Any) -> list[VectorItem]:
    return [
        VectorItem(
            chunk_id=str(c.pk),
            document_id=str(document.pk),
            ordinal=c.ordinal,
            vector=v,
            text=c.text,
            metadata={
                "page_start": c.page_start,
                "page_end": c.page_end,
                "heading_path": c.heading_path,
                "title": document.title,
            },
        )
        for c, v in zip(rows, vectors, strict=True)
    ]


def _embed_and_store(
    document: Document,
    generation: int,
    rows: list[Chunk],
    embedder: Embedder | None,
    store: VectorStore,
    on_progress: Progress | None,
    given: Sequence[Any] | None = None,
) -> None:
    """Embed the passages (or take the `given` vectors) and write them to the store, batch by batch."""
    total = len(rows)
    done = 0
    for start in range(0, total, EMBED_BATCH):
        batch = rows[start : start + EMBED_BATCH]
        if given is not None:
            vectors = [np.asarray(v, dtype=np.float32) for v in given[start : start + EMBED_BATCH]]
        else:
            texts = [embedding_text(c, document.title) for c in batch]
            vectors = _retry(lambda texts=texts: embedder.embed(texts), "embed")
        items = _vector_items(document, batch, vectors)
        _retry(
            lambda items=items: store.upsert(
                org_id=str(document.org_id),
                bot_id=str(document.bot_id),
                document_id=str(document.pk),
                generation=generation,
                items=items,
            ),
            "store vectors",
        )
        done += len(batch)
        _retry(lambda done=done: _progress(document, chunks_embedded=done), "progress")
        if on_progress:
            on_progress(done, total)


def _verify_stored(document: Document, total: int, store: VectorStore) -> None:
    org_id, bot_id, document_id = str(document.org_id), str(document.bot_id), str(document.pk)
    stored = store.count(org_id=org_id, bot_id=bot_id, document_id=document_id)
    if stored < total:
        raise RuntimeError(f"the vector store holds {stored} of {total} vectors after writing")


def _switch_live(
    document: Document,
    generation: int,
    total: int,
    page_count: int | None,
    model_name: str,
    store: VectorStore,
    started: float,
    on_activate: Callable[[Document], None] | None = None,
) -> Document | None:
    """Make `generation` the live one in one transaction, then drop every older generation."""

    def switch() -> tuple[Document | None, int | None]:
        with transaction.atomic():
            org = org_lock_for_quota(org_id=document.org_id)  # the org first, like every quota check
            current = (
                Document.objects.for_org(document.org_id).select_for_update().filter(pk=document.pk).first()
            )
            if current is None or current.generation != generation:
                return current, None  # deleted meanwhile, or a newer re-index took over
            # Exact: documents finishing at the same time count each other's passages.
            chunk_quota_enforce(org=org, document=current, chunks=total)
            previous = current.active_generation
            current.active_generation = generation
            current.status = DocumentStatus.READY
            current.chunk_count = total
            current.chunks_total = total
            current.chunks_embedded = total
            current.page_count = page_count
            current.embedding_model = model_name
            current.error = ""
            current.processed_at = timezone.now()
            current.save()
            if on_activate:
                on_activate(current)
            return current, previous

    current, previous = _retry(switch, "switch live")
    if current is None or current.generation != generation:
        _drop_generation_quietly(document, generation, store)
        return current
    # Older generations are garbage now: the one live before, and any a stopped run left half
    # written (its chunks list it). Newer ones belong to a re-index started after ours.
    older = set(
        Chunk.objects.for_org(document.org_id)
        .filter(document_id=document.pk, generation__lt=generation)
        .values_list("generation", flat=True)
        .distinct()
    )
    if previous is not None and previous < generation:
        older.add(previous)
    for old in sorted(older):
        _drop_generation_quietly(document, old, store)
    logger.info(
        "document indexed",
        extra={
            "document_id": str(document.pk),
            "org": str(document.org_id),
            "chunks": total,
            "seconds": round(time.monotonic() - started, 2),
        },
    )
    return current


def _drop_generation(document: Document, generation: int, store: VectorStore) -> None:
    store.delete_document(
        org_id=str(document.org_id),
        bot_id=str(document.bot_id),
        document_id=str(document.pk),
        generation=generation,
    )
    Chunk.objects.for_org(document.org_id).filter(document_id=document.pk, generation=generation).delete()


def _drop_generation_quietly(document: Document, generation: int, store: VectorStore) -> None:
    """Remove a generation nobody reads any more; failing that, log it (search never sees it)."""
    try:
        _retry(lambda: _drop_generation(document, generation, store), "drop generation")
    except Exception:
        logger.exception(
            "could not remove an unused generation",
            extra={"document_id": str(document.pk), "generation": generation},
        )


def _settle(
    document: Document, generation: int, store: VectorStore, *, status: str, reason: str
) -> Document | None:
    """End an attempt that did not finish: remove its partial generation, then record why — `failed`
    for the document's own reasons, `pending` again (the attempt not counted) for transient ones."""
    _drop_generation_quietly(document, generation, store)

    def record() -> Document | None:
        with transaction.atomic():
            current = (
                Document.objects.for_org(document.org_id).select_for_update().filter(pk=document.pk).first()
            )
            if current is None or current.generation != generation:
                return current
            current.status = status
            current.error = reason
            if status == DocumentStatus.FAILED:
                if current.active_generation is not None:
                    current.error += " The previously indexed version stays searchable."
                current.processed_at = timezone.now()
            else:
                current.attempts = F("attempts") - 1 if current.attempts > 0 else 0
            current.save()
            current.refresh_from_db()
            return current

    try:
        return _retry(record, "record outcome")
    except Exception:
        # The database itself is what keeps failing: the document stays `processing`, and the stuck
        # sweep takes it up again once the database is back.
        logger.exception("could not record a document's outcome", extra={"document_id": str(document.pk)})
        return None
