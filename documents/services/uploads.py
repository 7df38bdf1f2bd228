"""Getting a file into a bot's knowledge base: an upload through the API, or a direct (presigned)
upload the browser sends to S3 and then completes. Both end with a `pending` document queued for
processing, or the existing document when the same bytes are already there."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from bots.models import Bot
from integrations import storage
from tenants.audit import audit_record
from tenants.errors import Conflict, InvalidInput, QuotaExceeded, TooLarge
from tenants.errors import UnsupportedType as UnsupportedTypeError
from tenants.quotas import org_lock_for_quota

from ..extract import EmptyDocument, ExtractionError, UnsupportedType, sniff_type
from ..models import Document, DocumentStatus
from ..quotas import document_quota_enforce
from ..tasks import enqueue_after_commit

# Kept for callers that raise the upload limit error themselves (the upload view does, before it
# reads the body); it is the domain error, mapped to 413 at the edge.
UploadTooLarge = TooLarge


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB"


def _sniff_or_raise(data: bytes, filename: str) -> tuple[str, str]:
    """`(kind, failure)`: empty → 400 and unsupported → 415 at the door; a recognisable but broken
    file (a truncated DOCX) is kept and marked failed with the reason, like any corrupt document."""
    try:
        return sniff_type(data, filename), ""
    except EmptyDocument as exc:
        raise InvalidInput(exc.reason, field="file")
    except UnsupportedType as exc:
        raise UnsupportedTypeError(exc.reason, field="file")
    except ExtractionError as exc:
        return "", exc.reason


def default_title(filename: str) -> str:
    """What a document is called until someone (or the document itself) names it."""
    stem = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0] if filename else ""
    return (stem.replace("_", " ").replace("-", " ").strip() or "Untitled document")[:300]


def _existing_by_hash(bot: Bot, sha256: str) -> Document | None:
    return Document.objects.for_org(bot.org_id).filter(bot=bot, sha256=sha256).first()


def _creator(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


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
        raise TooLarge(f"The file is {_mb(len(data))}; the limit is {_mb(limit)}.", field="file")
    kind, failure = _sniff_or_raise(data, filename)
    sha256 = hashlib.sha256(data).hexdigest()
    # The unique (bot, sha256) constraint decides concurrent uploads of the same bytes; a loser
    # returns the winner's document. Tried again when the winner was deleted before we could read it.
    for _ in range(3):
        existing = _existing_by_hash(bot, sha256)
        if existing is not None:
            return existing, False
        # Early and unlocked, so a full org is refused before its bytes are stored; exact below.
        document_quota_enforce(org=bot.org, size=len(data))
        document = _create_uploaded(
            bot=bot,
            user=user,
            data=data,
            filename=filename,
            title=title,
            kind=kind,
            failure=failure,
            sha256=sha256,
        )
        if document is not None:
            break
    else:
        raise Conflict("The same file is being uploaded and deleted at the same time; upload it again.")
    if enqueue and not failure:
        enqueue_after_commit(document)
    return document, True


def _create_uploaded(
    *, bot: Bot, user: Any, data: bytes, filename: str, title: str, kind: str, failure: str, sha256: str
) -> Document | None:
    """Store the file and create its document; None when the same bytes won a concurrent race."""
    document_id = uuid.uuid4()
    key = storage.document_key(org_id=bot.org_id, bot_id=bot.pk, document_id=document_id, filename=filename)
    storage.save(key, data)
    try:
        with transaction.atomic():
            # Counted under the org's lock: two uploads racing for the last slot take turns.
            document_quota_enforce(org=org_lock_for_quota(org_id=bot.org_id), size=len(data))
            document = Document.objects.create(
                id=document_id,
                org_id=bot.org_id,
                bot=bot,
                title=(title or "").strip()[:300] or default_title(filename),
                filename=filename[:255],
                kind=kind,
                size_bytes=len(data),
                sha256=sha256,
                storage_key=key,
                created_by=_creator(user),
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
        storage.delete(key)  # our copy of bytes another upload already stored
        return None
    except QuotaExceeded:
        storage.delete(key)  # refused: nothing of this upload stays
        raise
    return document


def document_upload_start(
    *, bot: Bot, user: Any, filename: str, size: int, content_type: str
) -> tuple[Document, dict]:
    """Create a pending document and a presigned S3 POST for the browser to upload it directly."""
    limit = settings.DIRECT_UPLOAD_MAX_BYTES
    if size <= 0:
        raise InvalidInput("The file is empty.", field="size")
    if size > limit:
        raise TooLarge(
            f"The file is {_mb(size)}; the limit for direct uploads is {_mb(limit)}.", field="size"
        )
    document_id = uuid.uuid4()
    key = storage.document_key(org_id=bot.org_id, bot_id=bot.pk, document_id=document_id, filename=filename)
    try:
        post = storage.presigned_post(
            key=key, max_bytes=size, content_type=content_type or "application/octet-stream"
        )
    except storage.DirectUploadUnavailable as exc:
        raise InvalidInput(str(exc))
    with transaction.atomic():
        # The declared size holds the slot; completing the upload checks the real size again.
        document_quota_enforce(org=org_lock_for_quota(org_id=bot.org_id), size=size)
        document = Document.objects.create(
            id=document_id,
            org_id=bot.org_id,
            bot=bot,
            title=default_title(filename),
            filename=filename[:255],
            size_bytes=size,
            storage_key=key,
            upload_method="presigned",
            created_by=_creator(user),
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
        raise InvalidInput("This document is not waiting for a direct upload.")
    if not storage.exists(document.storage_key):
        raise InvalidInput(
            "The file has not arrived in storage yet; upload it with the presigned POST first."
        )
    data = storage.read(document.storage_key)
    limit = settings.DIRECT_UPLOAD_MAX_BYTES
    if len(data) > limit:
        _discard(document)
        raise TooLarge(f"The file is {_mb(len(data))}; the limit is {_mb(limit)}.", field="file")
    try:
        # The whole file, not a prefix: a DOCX is recognised by its ZIP directory at the end.
        kind, failure = _sniff_or_raise(data, document.filename)
    except (InvalidInput, UnsupportedTypeError):
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
            org = org_lock_for_quota(org_id=document.org_id)
            document_quota_enforce(org=org, size=len(data), new_document=False, replacing=document.pk)
            Document.objects.for_org(document.org_id).filter(pk=document.pk).update(**fields)
            audit_record(
                actor=user, action="document.upload_completed", target=document, org=document.bot.org
            )
    except IntegrityError:
        _discard(document)
        return _existing_by_hash(document.bot, sha256), False
    except QuotaExceeded:
        _discard(document)  # the real file is larger than the room left: it goes, like a too-large one
        raise
    document.refresh_from_db()
    if not failure:
        enqueue_after_commit(document)
    return document, True


def _discard(document: Document) -> None:
    Document.objects.for_org(document.org_id).filter(pk=document.pk).delete()
    storage.delete(document.storage_key)
