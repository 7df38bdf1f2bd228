"""``manage.py export_org``: one organisation, everything it owns, into an export directory.

Streams every table in a fixed order (no org is held in memory: rows go to disk one by one, a
document's vectors one document at a time). Vectors are read from the configured vector store
(``VectorStore.read_document``), so an import needs no re-embedding. The format is in
:mod:`importers.archive`; what is and is not exported, and why, is in the README ("Backup and restore").
"""

from __future__ import annotations

import importlib.metadata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.db import connection, models, transaction

from accounts.models import User
from analytics.models import DailyKnowledgeBase, DailyMetrics, DailyVisitor, UnansweredQuestion
from bots.models import Bot
from chat.models import BotApiKey, Conversation, Message
from documents.models import Chunk, Document
from integrations import storage
from integrations.embeddings import get_embedder
from integrations.vectors.base import VectorStore
from integrations.vectors.factory import get_vector_store
from tenants.errors import ApplicationError
from tenants.models import Invitation, Membership, Organization

from . import archive
from .models import ImportedRecord

# The tables of an export, in the order they are written and imported (parents first).
TABLES = (
    "users",
    "memberships",
    "invitations",
    "bots",
    "api_keys",
    "documents",
    "chunks",
    "conversations",
    "messages",
    "unanswered_questions",
    "daily_metrics",
    "daily_visitors",
    "daily_knowledge_base",
    "imported_records",
)
# Tenant tables exported row for row (every concrete field), with their deterministic order.
TENANT_TABLES: dict[str, tuple[type[models.Model], tuple[str, ...]]] = {
    "bots": (Bot, ("created_at", "id")),
    "api_keys": (BotApiKey, ("created_at", "id")),
    "conversations": (Conversation, ("started_at", "id")),
    "messages": (Message, ("created_at", "id")),
    "unanswered_questions": (UnansweredQuestion, ("created_at", "id")),
    "daily_metrics": (DailyMetrics, ("day", "bot_id", "channel")),
    "daily_visitors": (DailyVisitor, ("day", "bot_id", "channel", "visitor")),
    "daily_knowledge_base": (DailyKnowledgeBase, ("day", "bot_id")),
    "imported_records": (ImportedRecord, ("source", "kind", "source_id")),
}
USER_FIELDS = ("id", "email", "name", "external_id", "is_active", "date_joined", "last_login")
# Columns that point at users, per model: the users an export carries are the members plus these.
USER_REFERENCES: tuple[tuple[type[models.Model], str], ...] = (
    (Bot, "created_by_id"),
    (Document, "created_by_id"),
    (BotApiKey, "created_by_id"),
    (Conversation, "user_id"),
    (UnansweredQuestion, "reviewed_by_id"),
)
BATCH = 500


class ExportError(ApplicationError):
    """The org cannot be exported as asked (unknown or ambiguous name, missing vectors)."""


def botwright_version() -> str:
    try:
        return importlib.metadata.version("botwright")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def org_find(*, ref: str) -> Organization:
    """The org whose id is ``ref``, or whose name is exactly ``ref`` (refusing an ambiguous name)."""
    try:
        found = Organization.objects.filter(pk=uuid.UUID(ref)).first()
    except ValueError:
        found = None
    if found is not None:
        return found
    named = list(Organization.objects.filter(name=ref).order_by("created_at", "id"))
    if not named:
        raise ExportError(f"No organisation has the id or the exact name {ref!r}.", code="org_not_found")
    if len(named) > 1:
        ids = ", ".join(str(o.pk) for o in named)
        raise ExportError(
            f"{len(named)} organisations are called {ref!r} ({ids}); export one by its id.",
            code="org_ambiguous",
        )
    return named[0]


def model_row(obj: models.Model, *, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every concrete column of ``obj`` by attribute name (``bot_id``, not ``bot``)."""
    return {
        f.attname: f.value_from_object(obj) for f in obj._meta.concrete_fields if f.attname not in exclude
    }


@dataclass
class ExportResult:
    directory: Path
    manifest: archive.Manifest


def org_export(
    *,
    org: Organization,
    directory: Path,
    include_password_hashes: bool = False,
    store: VectorStore | None = None,
) -> ExportResult:
    """Write ``org`` into ``directory`` (created; must be empty). The manifest is written last.

    The rows are read in one transaction, on PostgreSQL at REPEATABLE READ: every table is read from
    one snapshot, so a conversation started or a document re-indexed during the export cannot leave
    a message without its conversation or chunks of another generation than their document names.
    """
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise ExportError(f"{directory} is not empty; export into a new directory.", code="not_empty")
    directory.mkdir(parents=True, exist_ok=True)
    # SET TRANSACTION must be a transaction's first statement: not possible inside a caller's (a test's).
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        return _export(
            org=org, directory=directory, include_password_hashes=include_password_hashes, store=store
        )


def _export(
    *, org: Organization, directory: Path, include_password_hashes: bool, store: VectorStore | None
) -> ExportResult:
    store = store or get_vector_store()
    embedder = get_embedder()
    files: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    writers = {
        "users": lambda: _users(org, include_password_hashes),
        "memberships": lambda: (
            model_row(m) for m in Membership.objects.filter(org=org).order_by("created_at", "id")
        ),
        "invitations": lambda: (
            model_row(i) for i in Invitation.objects.filter(org=org).order_by("created_at", "id")
        ),
        "documents": lambda: _documents(org, directory, files, missing),
        "chunks": lambda: _chunks(org, store),
    }
    for table in TABLES:
        if table in writers:
            rows = writers[table]()
        else:
            model, order = TENANT_TABLES[table]
            rows = (model_row(obj) for obj in model.objects.for_org(org).order_by(*order).iterator(BATCH))
        if table == "bots":
            rows = _with_avatars(rows, directory, files, missing)
        files[f"{table}.jsonl"] = archive.write_jsonl(directory / f"{table}.jsonl", rows).as_dict()
    manifest = archive.Manifest(
        org={
            "id": str(org.pk),
            "name": org.name,
            "created_at": org.created_at.isoformat(),
            "updated_at": org.updated_at.isoformat(),
            "created_by_id": str(org.created_by_id) if org.created_by_id else None,
        },
        botwright_version=botwright_version(),
        created_at=datetime.now(UTC).isoformat(),
        embedder={"name": embedder.name, "dim": embedder.dim},
        tables=list(TABLES),
        files=files,
        options={"password_hashes": include_password_hashes, "missing_files": missing},
    )
    archive.write_manifest(directory, manifest)
    return ExportResult(directory=directory, manifest=manifest)


def _users(org: Organization, include_password_hashes: bool) -> Iterator[dict[str, Any]]:
    ids = set(Membership.objects.filter(org=org).values_list("user_id", flat=True))
    if org.created_by_id:
        ids.add(org.created_by_id)
    ids.update(
        Invitation.objects.filter(org=org, invited_by__isnull=False).values_list("invited_by_id", flat=True)
    )
    for model, column in USER_REFERENCES:
        ids.update(
            model.objects.for_org(org).filter(**{f"{column}__isnull": False}).values_list(column, flat=True)
        )
    fields = (*USER_FIELDS, "password") if include_password_hashes else USER_FIELDS
    for user in User.objects.filter(pk__in=ids).order_by("email").iterator(BATCH):
        yield {name: getattr(user, name) for name in fields}


def _copy_file(key: str, directory: Path, files: dict[str, dict[str, Any]], missing: list[str]) -> None:
    if not key or archive.file_path(key) in files:
        return
    if not storage.exists(key):
        # Already gone on this platform: the row is exported as it is, and the manifest says so.
        missing.append(key)
        return
    files[archive.file_path(key)] = archive.write_file(
        directory, archive.file_path(key), storage.read(key)
    ).as_dict()


def _with_avatars(
    rows: Any, directory: Path, files: dict[str, dict[str, Any]], missing: list[str]
) -> Iterator[dict[str, Any]]:
    for row in rows:
        _copy_file(row["avatar_key"], directory, files, missing)
        yield row


def _documents(
    org: Organization, directory: Path, files: dict[str, dict[str, Any]], missing: list[str]
) -> Iterator[dict[str, Any]]:
    for document in Document.objects.for_org(org).order_by("created_at", "id").iterator(BATCH):
        _copy_file(document.storage_key, directory, files, missing)
        yield model_row(document)


def _chunks(org: Organization, store: VectorStore) -> Iterator[dict[str, Any]]:
    """The live generation's chunks of each document, each with its stored vector and metadata."""
    documents = (
        Document.objects.for_org(org).filter(active_generation__isnull=False).order_by("created_at", "id")
    )
    for document in documents.iterator(BATCH):
        generation = document.active_generation
        stored = {
            item.chunk_id: item
            for item in store.read_document(
                org_id=str(org.pk),
                bot_id=str(document.bot_id),
                document_id=str(document.pk),
                generation=generation,
            )
        }
        chunks = (
            Chunk.objects.for_org(org).filter(document=document, generation=generation).order_by("ordinal")
        )
        for chunk in chunks.iterator(BATCH):
            item = stored.get(str(chunk.pk))
            if item is None:
                raise ExportError(
                    f"Chunk {chunk.pk} of document {document.pk} ({document.title!r}) has no vector in the "
                    "vector store; re-index that document and export again.",
                    code="vector_missing",
                )
            yield {
                **model_row(chunk),
                "vector": archive.encode_vector(item.vector),
                "vector_metadata": item.metadata,
            }
