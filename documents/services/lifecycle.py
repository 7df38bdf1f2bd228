"""A document after its upload: re-index, delete, and the clean-up of files and vectors when a
document, a bot or an organisation goes.

Files and vectors live outside the relational database, so they are removed only after the deleting
transaction commits: a rolled-back deletion keeps everything, and search stops reading a document the
moment its row is gone (it reads only live generations of existing documents).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bots.models import Bot
from integrations import storage
from integrations.transient import call_with_retries
from integrations.vectors.base import VectorStore
from integrations.vectors.factory import get_vector_store
from tenants.audit import audit_record
from tenants.errors import InvalidInput

from ..models import Document, DocumentStatus
from ..tasks import enqueue_after_commit

logger = logging.getLogger(__name__)


def queue_reindex(document: Document, *, dispatch: Callable[[Document], Any] = enqueue_after_commit) -> None:
    """Back to pending with a fresh attempt budget, then handed to `dispatch` (by default the queue,
    once the transaction commits)."""
    Document.objects.for_org(document.org_id).filter(pk=document.pk).update(
        status=DocumentStatus.PENDING, error="", attempts=0, updated_at=timezone.now()
    )
    dispatch(document)


def document_reindex(*, document: Document, user: Any) -> Document:
    if not document.sha256 and document.upload_method == "presigned":
        raise InvalidInput("The direct upload has not been completed yet.")
    with transaction.atomic():
        queue_reindex(document)
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
    # Lock the row first: a processing run committing chunks or vectors must check them against the
    # row (a foreign key), so it waits until the deletion commits and then fails cleanly, instead of
    # slipping rows in between the cascade's reading of the chunks and the document's removal.
    list(Document.objects.for_org(document.org_id).select_for_update().filter(pk=document.pk))
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
    # Search ignores the document from here on: once the row is gone no generation of it is live.
    Document.objects.for_org(org_id).filter(pk=doc_id).delete()

    def purge() -> None:
        vectors = store or get_vector_store()
        vectors.delete_document(org_id=org_id, bot_id=bot_id, document_id=doc_id)
        storage.delete(key)

    _purge_after_commit(purge, what=f"document {doc_id}")


def bot_purge_external_data_after_commit(*, org_id: Any, bot_id: Any) -> None:
    """Once the deleting transaction commits, delete a bot's files and vectors (outside the database)."""
    org_id, bot_id = str(org_id), str(bot_id)

    def purge() -> None:
        get_vector_store().delete_bot(org_id=org_id, bot_id=bot_id)
        storage.delete_prefix(f"{org_id}/{bot_id}/")

    _purge_after_commit(purge, what=f"bot {bot_id}")


def org_purge_external_data_after_commit(*, org_id: Any) -> None:
    """Once the deleting transaction commits, delete whatever an org kept in storage. Its bots'
    vectors go with each bot (deleting the org deletes its bots, each announced on its own)."""
    org_id = str(org_id)
    _purge_after_commit(lambda: storage.delete_prefix(f"{org_id}/"), what=f"org {org_id}")


def _purge_after_commit(purge: Any, *, what: str) -> None:
    def run() -> None:
        try:
            call_with_retries(
                purge,
                what=f"purge {what}",
                attempts=settings.DOCUMENT_RETRY_ATTEMPTS,
                backoff_s=settings.DOCUMENT_RETRY_BACKOFF_S,
            )
        except Exception:
            # The rows are gone and search cannot reach what is left; say what needs removing.
            logger.exception("could not remove files or vectors of a deleted %s; remove them by hand", what)

    transaction.on_commit(run)
