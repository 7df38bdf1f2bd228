"""Knowledge-base writes: upload, direct (presigned) upload, processing, re-index, delete, sweep.

Processing contract (what readers can rely on):
- A document's chunks and vectors are written as a new *generation*; `active_generation` switches
  to it in one transaction only once every vector is stored. Search reads only active generations,
  so a re-index is atomic for readers and a `ready` document never has missing vectors.
- Any failure — a hostile file, a parser crash, an embedder or store error — removes the partial
  generation and marks the document `failed` with a human-readable reason; a previously indexed
  version stays searchable.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import exceptions, status

from bots.models import Bot
from bots.services import bot_bump_index_version
from integrations import storage
from integrations.embeddings import get_embedder
from integrations.embeddings.base import Embedder
from integrations.vectors.base import VectorItem, VectorStore
from integrations.vectors.factory import get_vector_store
from tenants.audit import audit_record

from .chunking import extract_and_chunk
from .extract import EmptyDocument, ExtractionError, UnsupportedType, sniff_type
from .models import Chunk, Document, DocumentStatus

logger = logging.getLogger(__name__)

EMBED_BATCH = 64
# A presigned POST is valid for 15 minutes; a day later the upload is not coming.
ABANDONED_UPLOAD = timedelta(days=1)


class UploadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


class UnsupportedDocumentType(exceptions.APIException):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    default_code = "unsupported_media_type"


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB"


def _sniff_or_raise(data: bytes, filename: str) -> tuple[str, str]:
    """`(kind, failure)`: empty → 400 and unsupported → 415 at the door; a recognisable but broken
    file (a truncated DOCX) is kept and marked failed with the reason, like any corrupt document."""
    try:
        return sniff_type(data, filename), ""
    except EmptyDocument as exc:
        raise exceptions.ValidationError({"file": [exc.reason]})
    except UnsupportedType as exc:
        raise UnsupportedDocumentType(exc.reason)
    except ExtractionError as exc:
        return "", exc.reason


def _default_title(filename: str) -> str:
    stem = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0] if filename else ""
    return (stem.replace("_", " ").replace("-", " ").strip() or "Untitled document")[:300]


def _existing_by_hash(bot: Bot, sha256: str) -> Document | None:
    return Document.objects.for_org(bot.org_id).filter(bot=bot, sha256=sha256).first()


def document_upload(
    *, bot: Bot, user: Any, data: bytes, filename: str, title: str = "", enqueue: bool = True
) -> tuple[Document, bool]:
    """Store an uploaded file and queue it for processing (unless `enqueue=False`: the caller
    processes it itself, as the demo seed does).

    Returns `(document, created)`; the same bytes uploaded to the same bot again return the existing
    document with `created=False` instead of a duplicate.
    """
    limit = settings.DOCUMENT_MAX_UPLOAD_BYTES
    if len(data) > limit:
        raise UploadTooLarge(f"The file is {_mb(len(data))}; the limit is {_mb(limit)}.")
    kind, failure = _sniff_or_raise(data, filename)
    sha256 = hashlib.sha256(data).hexdigest()
    existing = _existing_by_hash(bot, sha256)
    if existing is not None:
        return existing, False

    document_id = uuid.uuid4()
    key = storage.document_key(org_id=bot.org_id, bot_id=bot.pk, document_id=document_id, filename=filename)
    storage.save(key, data)
    try:
        with transaction.atomic():
            document = Document.objects.create(
                id=document_id,
                org_id=bot.org_id,
                bot=bot,
                title=(title or "").strip()[:300] or _default_title(filename),
                filename=filename[:255],
                kind=kind,
                size_bytes=len(data),
                sha256=sha256,
                storage_key=key,
                created_by=user if getattr(user, "is_authenticated", False) else None,
                status=DocumentStatus.FAILED if failure else DocumentStatus.PENDING,
                error=failure,
            )
            audit_record(
                actor=user,
                action="document.created",
                target=document,
                org=bot.org,
                changes={"filename": filename, "bytes": len(data)},
            )
    except IntegrityError:
        # The same bytes won a concurrent upload race: keep theirs, drop our copy.
        storage.delete(key)
        existing = _existing_by_hash(bot, sha256)
        if existing is None:
            raise
        return existing, False
    if enqueue and not failure:
        _enqueue_after_commit(document)
    return document, True


def document_upload_start(
    *, bot: Bot, user: Any, filename: str, size: int, content_type: str
) -> tuple[Document, dict]:
    """Create a pending document and a presigned S3 POST for the browser to upload it directly."""
    limit = settings.DIRECT_UPLOAD_MAX_BYTES
    if size <= 0:
        raise exceptions.ValidationError({"size": ["The file is empty."]})
    if size > limit:
        raise UploadTooLarge(f"The file is {_mb(size)}; the limit for direct uploads is {_mb(limit)}.")
    document_id = uuid.uuid4()
    key = storage.document_key(org_id=bot.org_id, bot_id=bot.pk, document_id=document_id, filename=filename)
    try:
        post = storage.presigned_post(
            key=key, max_bytes=size, content_type=content_type or "application/octet-stream"
        )
    except storage.DirectUploadUnavailable as exc:
        raise exceptions.ValidationError({"detail": [str(exc)]})
    with transaction.atomic():
        document = Document.objects.create(
            id=document_id,
            org_id=bot.org_id,
            bot=bot,
            title=_default_title(filename),
            filename=filename[:255],
            size_bytes=size,
            storage_key=key,
            upload_method="presigned",
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        audit_record(
            actor=user,
            action="document.upload_started",
            target=document,
            org=bot.org,
            changes={"filename": filename, "bytes": size},
        )
    return document, post


def document_upload_complete(*, document: Document, user: Any) -> tuple[Document, bool]:
    """Verify a direct upload landed, then process it. Returns `(document, is_new)`."""
    if document.upload_method != "presigned" or document.sha256:
        raise exceptions.ValidationError({"detail": ["This document is not waiting for a direct upload."]})
    if not storage.exists(document.storage_key):
        raise exceptions.ValidationError(
            {"detail": ["The file has not arrived in storage yet; upload it with the presigned POST first."]}
        )
    data = storage.read(document.storage_key)
    if len(data) > settings.DIRECT_UPLOAD_MAX_BYTES:
        _discard(document)
        limit = settings.DIRECT_UPLOAD_MAX_BYTES
        raise UploadTooLarge(f"The file is {_mb(len(data))}; the limit is {_mb(limit)}.")
    try:
        # The whole file, not a prefix: a DOCX is recognised by its ZIP directory at the end.
        kind, failure = _sniff_or_raise(data, document.filename)
    except exceptions.APIException:
        _discard(document)
        raise
    sha256 = hashlib.sha256(data).hexdigest()
    existing = _existing_by_hash(document.bot, sha256)
    if existing is not None and existing.pk != document.pk:
        _discard(document)
        return existing, False
    fields = {"sha256": sha256, "kind": kind, "size_bytes": len(data), "updated_at": timezone.now()}
    if failure:
        fields.update(status=DocumentStatus.FAILED, error=failure)
    try:
        with transaction.atomic():
            Document.objects.for_org(document.org_id).filter(pk=document.pk).update(**fields)
            audit_record(
                actor=user, action="document.upload_completed", target=document, org=document.bot.org
            )
    except IntegrityError:
        _discard(document)
        return _existing_by_hash(document.bot, sha256), False
    document.refresh_from_db()
    if not failure:
        _enqueue_after_commit(document)
    return document, True


def _discard(document: Document) -> None:
    storage.delete(document.storage_key)
    Document.objects.for_org(document.org_id).filter(pk=document.pk).delete()


# --- Processing ------------------------------------------------------------------------------


def _enqueue_after_commit(document: Document) -> None:
    from .tasks import enqueue_processing

    doc_id, org_id = str(document.pk), str(document.org_id)
    transaction.on_commit(lambda: enqueue_processing(document_id=doc_id, org_id=org_id))


def _embedding_text(chunk: Any, title: str) -> str:
    # The heading path gives a passage its context ("Returns > Refunds"), which the text alone
    # often lacks; MiniLM sees it, readers see the plain passage.
    context = " > ".join([title, *chunk.heading_path]) if chunk.heading_path else title
    return f"{context}\n{chunk.text}" if context else chunk.text


def _claim(document_id: str, org_id: str) -> tuple[Document, int] | None:
    """Mark the document processing under a new generation number, or None if it is gone."""
    with transaction.atomic():
        document = Document.objects.for_org(org_id).select_for_update().filter(pk=document_id).first()
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


def document_process(
    *,
    document_id: str,
    org_id: str,
    embedder: Embedder | None = None,
    store: VectorStore | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Document | None:
    """Extract, chunk, embed and index one document; never raises for a bad file."""
    claimed = _claim(document_id, org_id)
    if claimed is None:
        return None
    document, generation = claimed
    embedder = embedder or get_embedder()
    store = store or get_vector_store()
    started = time.monotonic()
    try:
        data = storage.read(document.storage_key)
        # Both steps walk attacker-chosen text: they run in the sandboxed child (deadline, memory cap).
        extracted, pieces = extract_and_chunk(
            data,
            document.kind or sniff_type(data, document.filename),
            timeout_s=settings.DOCUMENT_EXTRACT_TIMEOUT_S,
            max_pages=settings.DOCUMENT_MAX_PAGES,
        )
        del data
        if extracted.title and document.title == _default_title(document.filename):
            # Nobody named it: the document's own title ("Staff Handbook") beats its file name.
            document.title = extracted.title.strip()[:300]
            Document.objects.for_org(document.org_id).filter(pk=document.pk).update(title=document.title)
        if not pieces:
            raise ExtractionError("No text could be extracted from this document.")
        rows = Chunk.objects.bulk_create(
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
        total = len(rows)
        _progress(document, page_count=extracted.page_count, chunks_total=total)
        done = 0
        for start in range(0, total, EMBED_BATCH):
            batch = rows[start : start + EMBED_BATCH]
            vectors = embedder.embed([_embedding_text(c, document.title) for c in batch])
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
                        vector=v,
                        text=c.text,
                        metadata={
                            "page_start": c.page_start,
                            "page_end": c.page_end,
                            "heading_path": c.heading_path,
                            "title": document.title,
                        },
                    )
                    for c, v in zip(batch, vectors, strict=True)
                ],
            )
            done += len(batch)
            _progress(document, chunks_embedded=done)
            if on_progress:
                on_progress(done, total)
        stored = store.count(
            org_id=str(document.org_id), bot_id=str(document.bot_id), document_id=str(document.pk)
        )
        if stored < total:
            raise RuntimeError(f"the vector store holds {stored} of {total} vectors after writing")
        return _activate(document, generation, total, extracted.page_count, embedder.name, store, started)
    except ExtractionError as exc:
        return _fail(document, generation, exc.reason, store)
    except Exception as exc:  # never a 500 or a stuck document: record why and keep the old index
        logger.exception("document processing failed", extra={"document_id": str(document.pk)})
        return _fail(
            document, generation, f"Processing failed: {type(exc).__name__}: {str(exc)[:300]}", store
        )


def _progress(document: Document, **fields: Any) -> None:
    Document.objects.for_org(document.org_id).filter(pk=document.pk).update(
        **fields, updated_at=timezone.now()
    )


def _activate(document, generation, total, page_count, model_name, store, started) -> Document:
    with transaction.atomic():
        current = Document.objects.for_org(document.org_id).select_for_update().filter(pk=document.pk).first()
        if current is None or current.generation != generation:
            # Deleted meanwhile, or a newer re-index took over: ours is obsolete.
            superseded = True
        else:
            superseded = False
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
            bot_bump_index_version(bot=current.bot)
    if superseded:
        _drop_generation(document, generation, store)
        return current
    if previous is not None and previous != generation:
        _drop_generation(document, previous, store)
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


def _fail(document: Document, generation: int, reason: str, store: VectorStore) -> Document | None:
    try:
        _drop_generation(document, generation, store)
    except Exception:  # the store may be what failed; the sweep and re-index clean up later
        logger.exception("could not remove a failed generation", extra={"document_id": str(document.pk)})
    with transaction.atomic():
        current = Document.objects.for_org(document.org_id).select_for_update().filter(pk=document.pk).first()
        if current is None or current.generation != generation:
            return current
        if current.active_generation is not None:
            reason += " The previously indexed version stays searchable."
        current.status = DocumentStatus.FAILED
        current.error = reason
        current.processed_at = timezone.now()
        current.save()
    return current


def _queue_reindex(document: Document) -> None:
    """Back to pending with a fresh attempt budget, processed once the transaction commits."""
    Document.objects.for_org(document.org_id).filter(pk=document.pk).update(
        status=DocumentStatus.PENDING, error="", attempts=0, updated_at=timezone.now()
    )
    _enqueue_after_commit(document)


def document_reindex(*, document: Document, user: Any) -> Document:
    if not document.sha256 and document.upload_method == "presigned":
        raise exceptions.ValidationError({"detail": ["The direct upload has not been completed yet."]})
    with transaction.atomic():
        _queue_reindex(document)
        audit_record(actor=user, action="document.reindexed", target=document, org=document.bot.org)
    document.refresh_from_db()
    return document


def bot_reindex(*, bot: Bot, user: Any) -> int:
    documents = list(Document.objects.for_org(bot.org_id).filter(bot=bot).exclude(sha256=""))
    for document in documents:
        document_reindex(document=document, user=user)
    return len(documents)


@transaction.atomic
def document_delete(*, document: Document, user: Any, store: VectorStore | None = None) -> None:
    store = store or get_vector_store()
    # Invalidate search first: once the row is gone no generation of it is active.
    audit_record(
        actor=user,
        action="document.deleted",
        target=document,
        org=document.bot.org,
        changes={"filename": document.filename},
    )
    key, org_id, bot_id, doc_id = (
        document.storage_key,
        str(document.org_id),
        str(document.bot_id),
        str(document.pk),
    )
    Document.objects.for_org(org_id).filter(pk=doc_id).delete()
    bot_bump_index_version(bot=document.bot)

    def _cleanup() -> None:
        store.delete_document(org_id=org_id, bot_id=bot_id, document_id=doc_id)
        storage.delete(key)

    transaction.on_commit(_cleanup)


def bot_purge_external_data(*, bot: Bot, store: VectorStore | None = None) -> None:
    """Delete a bot's files and vectors that live outside the relational database."""
    store = store or get_vector_store()
    store.delete_bot(org_id=str(bot.org_id), bot_id=str(bot.pk))
    storage.delete_prefix(f"{bot.org_id}/{bot.pk}/")


def org_purge_external_data(*, org: Any) -> None:
    """Delete an org's files and vectors that live outside the relational database."""
    for bot in Bot.objects.for_org(org):
        bot_purge_external_data(bot=bot)
    storage.delete_prefix(f"{org.pk}/")


def documents_sweep_stuck(*, now=None) -> dict[str, int]:
    """Retry documents stuck in `processing` (a killed Lambda, a crashed worker), bounded.

    Operator job across all orgs, hence the `all_orgs` escape hatch; each document is then handled
    by id inside its own org.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.DOCUMENT_STUCK_AFTER_S)
    result = {"retried": 0, "failed": 0, "requeued": 0}
    stuck = Document.all_orgs.filter(status=DocumentStatus.PROCESSING, processing_started_at__lt=cutoff)
    for document in stuck:
        if document.attempts >= settings.DOCUMENT_MAX_ATTEMPTS:
            reason = (
                f"Processing did not finish after {document.attempts} attempts "
                f"(each stopped after {settings.DOCUMENT_STUCK_AFTER_S} s). The file may be too large or "
                "complex; split it or re-index to try again."
            )
            if document.active_generation is not None:
                reason += " The previously indexed version stays searchable."
            Document.objects.for_org(document.org_id).filter(
                pk=document.pk, status=DocumentStatus.PROCESSING
            ).update(status=DocumentStatus.FAILED, error=reason, processed_at=now)
            result["failed"] += 1
        else:
            Document.objects.for_org(document.org_id).filter(pk=document.pk).update(
                status=DocumentStatus.PENDING
            )
            _enqueue_after_commit(document)
            result["retried"] += 1
    # Pending documents whose queue message was lost (e.g. an async invocation that never ran).
    for document in Document.all_orgs.filter(status=DocumentStatus.PENDING, updated_at__lt=cutoff).exclude(
        sha256=""
    ):
        Document.objects.for_org(document.org_id).filter(pk=document.pk).update(updated_at=now)
        _enqueue_after_commit(document)
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


def documents_requeue_stale_model(*, embedder: Embedder | None = None, limit: int = 200) -> int:
    """Queue a re-index of ready documents embedded by another model than the configured one.

    Until re-indexed they are left out of search (their vectors live in another space). Bounded per
    call so a model switch on a large platform is spread over several sweeps. Operator job across
    orgs (the escape hatch); each document is then handled inside its org.
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
        _queue_reindex(document)
        count += 1
    return count
