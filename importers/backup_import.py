"""``manage.py import_org``: restore an export directory (``export_org``) as one organisation.

All or nothing. The manifest and every file's checksum are checked before anything is written. The
rows are then written in one transaction, and the files and vectors from inside it: if anything
fails, the transaction rolls back and every file and vector written so far is deleted again, so
there is never a half-imported org. Ids are kept (public widget ids and API paths survive) unless
``new_id`` asks for fresh ones, remapped consistently everywhere (keys, sources, vectors).

The one place that writes rows around the services (``bulk_create`` with the exported ids and
timestamps) is :func:`_preserving_timestamps` and its callers here: a restore must reproduce rows,
not create new ones, and the services assign fresh ids and clocks by design.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from accounts.models import User
from bots.models import Bot, new_public_id
from documents.models import Chunk, Document, DocumentStatus
from documents.tasks import enqueue_processing
from integrations import storage
from integrations.embeddings import get_embedder
from integrations.vectors.base import VectorItem, VectorStore
from integrations.vectors.factory import get_vector_store
from tenants.audit import audit_record
from tenants.emails import InvalidEmail, canonical_email
from tenants.errors import ApplicationError
from tenants.models import Invitation, Membership, Organization
from tenants.services import org_delete

from . import archive
from .backup_export import BATCH, TABLES, TENANT_TABLES
from .models import Kind

logger = logging.getLogger(__name__)

ROW_TABLES: dict[str, type[models.Model]] = {
    "memberships": Membership,
    "invitations": Invitation,
    "documents": Document,
    "chunks": Chunk,
    **{name: model for name, (model, _) in TENANT_TABLES.items()},
}
# With fresh ids the copy is a new tenant, not the old one's twin: credentials and migration
# provenance (both unique across the platform) stay with the original.
SKIPPED_WITH_NEW_IDS = frozenset({"api_keys", "imported_records"})


class ImportRefused(ApplicationError):
    """The export cannot be imported as asked; nothing was written."""


class _DryRun(Exception):
    pass


@dataclass
class ImportResult:
    org_id: str
    counts: dict[str, int] = field(default_factory=dict)
    users_matched: int = 0
    users_created: int = 0
    files: int = 0
    vectors: int = 0
    dry_run: bool = False
    queued: int = 0


@dataclass
class _Run:
    root: Path
    manifest: archive.Manifest
    new_ids: bool
    write_external: bool
    reembed: bool
    store: VectorStore
    org_id: uuid.UUID
    ids: dict[str, Any] = field(default_factory=dict)
    users: dict[str, Any] = field(default_factory=dict)
    written_keys: list[str] = field(default_factory=list)
    written_vectors: list[tuple[str, str, str, int]] = field(default_factory=list)
    to_process: list[str] = field(default_factory=list)
    result: ImportResult | None = None

    def new(self, old: Any) -> Any:
        # Only fresh ids need a map (O(rows) in memory); kept ids map to themselves.
        if not self.new_ids:
            return old
        new = uuid.uuid4()
        self.ids[str(old)] = new
        return new

    def ref(self, old: Any) -> Any:
        """The new id of a row the export holds; kept ids are checked by the database's foreign keys."""
        return self.ids.get(str(old)) if self.new_ids else old

    def key(self, key: str) -> str:
        """A storage key with every id in it remapped (``<org>/<bot>/<document>/<name>``)."""
        if not key or not self.new_ids:
            return key
        return "/".join(str(self.ids.get(part, part)) for part in key.split("/"))


def org_import(
    *,
    directory: Path,
    replace: bool = False,
    new_id: bool = False,
    reembed: bool = False,
    dry_run: bool = False,
    store: VectorStore | None = None,
) -> ImportResult:
    """Import the export in ``directory``; see the module docstring for the guarantees."""
    root = Path(directory)
    if replace and new_id:
        raise ImportRefused(
            "--replace and --new-id exclude each other: choose one.", code="conflicting_options"
        )
    try:
        manifest = archive.load_manifest(root, required_tables=TABLES)
        archive.verify(root, manifest)
    except archive.ArchiveError as exc:
        raise ImportRefused(str(exc), code="corrupt_export") from None
    _check_embedder(manifest, reembed)
    try:
        old_org_id = uuid.UUID(str(manifest.org["id"]))
    except ValueError:
        raise ImportRefused(
            f"The manifest's org id {manifest.org['id']!r} is not a UUID.", code="corrupt_export"
        ) from None
    existing = Organization.objects.filter(pk=old_org_id).first()
    if existing is not None and not (replace or new_id):
        raise ImportRefused(
            f"Organisation {old_org_id} ({existing.name!r}) already exists. Pass --replace to delete it and "
            "restore the export in its place, or --new-id to import a copy with fresh ids.",
            code="org_exists",
        )
    store = store or get_vector_store()
    run = _Run(
        root=root,
        manifest=manifest,
        new_ids=new_id,
        write_external=not dry_run,
        reembed=reembed,
        store=store,
        org_id=uuid.uuid4() if new_id else old_org_id,
    )
    run.result = ImportResult(org_id=str(run.org_id), dry_run=dry_run)
    if existing is not None and replace and not dry_run:
        # Committed first, on its own: the deletion's after-commit purge of files and vectors must run
        # before the same keys are written again. A failure after this point leaves no org (the
        # export is at hand: run the import again), never a mix of the old and the restored one.
        _delete_existing(existing, store)
    try:
        with transaction.atomic():
            if existing is not None and replace and dry_run:
                org_delete(org=existing, user=None)  # rolled back with the dry run
            _write_all(run)
            if dry_run:
                raise _DryRun
    except _DryRun:
        return run.result
    except Exception as exc:
        _remove_external(run)
        if isinstance(exc, IntegrityError):
            raise ImportRefused(
                f"The export conflicts with data already on this platform, or refers to rows it does not "
                f"hold ({exc}); nothing was imported. For a copy beside existing data use --new-id.",
                code="conflict",
            ) from exc
        if isinstance(exc, archive.ArchiveError | ValidationError | ValueError | KeyError | TypeError):
            # The checksums matched, so the export was written this way (edited by hand, or a bug).
            detail = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            raise ImportRefused(
                f"The export holds a row this platform cannot read ({type(exc).__name__}: {detail}); "
                "nothing was imported.",
                code="bad_row",
            ) from exc
        raise
    for document_id in run.to_process:
        transaction.on_commit(
            lambda document_id=document_id: enqueue_processing(
                document_id=document_id, org_id=str(run.org_id)
            )
        )
    return run.result


def _check_embedder(manifest: archive.Manifest, reembed: bool) -> None:
    if reembed or not manifest.counts.get("chunks"):
        return
    embedder = get_embedder()
    exported = (manifest.embedder.get("name"), manifest.embedder.get("dim"))
    if exported != (embedder.name, embedder.dim):
        raise ImportRefused(
            f"The export's vectors come from the embedder {exported[0]!r} ({exported[1]} dimensions); this "
            f"platform embeds with {embedder.name!r} ({embedder.dim}). Pass --reembed to import without "
            "vectors and re-index every document with this platform's embedder.",
            code="embedder_mismatch",
        )


def _delete_existing(org: Organization, store: VectorStore) -> None:
    """--replace: delete the existing org through the service, then its files and vectors at once.

    The service's own purge runs when its transaction commits; purging here too (idempotent) makes
    the old files and vectors gone before the import writes the same keys even when a caller's
    outer transaction defers that commit."""
    bot_ids = [str(pk) for pk in Bot.objects.for_org(org).values_list("pk", flat=True)]
    org_id = str(org.pk)
    org_delete(org=org, user=None)
    for bot_id in bot_ids:
        store.delete_bot(org_id=org_id, bot_id=bot_id)
    storage.delete_prefix(f"{org_id}/")


def _remove_external(run: _Run) -> None:
    for org_id, bot_id, document_id, generation in run.written_vectors:
        try:
            run.store.delete_document(
                org_id=org_id, bot_id=bot_id, document_id=document_id, generation=generation
            )
        except Exception:
            logger.exception("import rollback: could not delete the vectors of document %s", document_id)
    for key in run.written_keys:
        try:
            storage.delete(key)
        except Exception:
            logger.exception("import rollback: could not delete the file %s", key)


@contextmanager
def _preserving_timestamps() -> Iterator[None]:
    """Let ``bulk_create`` keep the exported ``created_at``/``updated_at`` instead of stamping now.

    Process-wide (it flips the model fields' flags): right for the ``import_org`` command and its
    tests, never for code that serves requests in the same process at the same time.
    """
    touched = []
    for model in [Organization, *ROW_TABLES.values()]:
        for f in model._meta.concrete_fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                touched.append((f, f.auto_now, f.auto_now_add))
                f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in touched:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def _write_all(run: _Run) -> None:
    assert run.result is not None
    with _preserving_timestamps():
        _import_users(run)
        org_row = run.manifest.org
        if run.new_ids:
            run.ids[str(org_row["id"])] = run.org_id
        created_by = org_row.get("created_by_id")
        org = Organization.objects.create(
            id=run.org_id,
            name=org_row["name"],
            created_by_id=run.users.get(str(created_by)) if created_by else None,
            created_at=models.DateTimeField().to_python(org_row["created_at"]),
            updated_at=models.DateTimeField().to_python(org_row.get("updated_at")) or timezone.now(),
        )
        for table in TABLES[1:]:
            if run.new_ids and table in SKIPPED_WITH_NEW_IDS:
                run.result.counts[table] = 0
                continue
            run.result.counts[table] = _import_rows(run, table)
        audit_record(
            actor=None,
            action="org.imported",
            target=org,
            org=org,
            changes={"from": str(org_row["id"]), "exported_at": run.manifest.created_at},
        )


def _import_users(run: _Run) -> None:
    assert run.result is not None
    count = 0
    for row in archive.read_jsonl(run.root / "users.jsonl"):
        count += 1
        try:
            email = canonical_email(row["email"])
        except (InvalidEmail, KeyError):
            raise ImportRefused(
                f"users.jsonl holds an invalid email {row.get('email')!r}.", code="bad_row"
            ) from None
        user = User.objects.filter(email=email).first()
        if user is None:
            user_id = row["id"]
            if run.new_ids or User.objects.filter(pk=user_id).exists():
                user_id = uuid.uuid4()
            external_id = row.get("external_id") or None
            if external_id and User.objects.filter(external_id=external_id).exists():
                logger.warning(
                    "import: %s's identity %s belongs to another user here; not kept", email, external_id
                )
                external_id = None
            # Platform privileges (staff, superuser) are the operator's to grant, never imported.
            user = User(
                id=user_id,
                email=email,
                name=row.get("name", ""),
                external_id=external_id,
                is_active=row.get("is_active", True),
                date_joined=models.DateTimeField().to_python(row["date_joined"]),
                last_login=models.DateTimeField().to_python(row.get("last_login")),
                password=row.get("password") or make_password(None),
            )
            user.save()
            run.result.users_created += 1
        else:
            run.result.users_matched += 1
        run.users[str(row["id"])] = user.pk
    run.result.counts["users"] = count


def _import_rows(run: _Run, table: str) -> int:
    model = ROW_TABLES[table]
    count = 0
    batch: list[models.Model] = []
    vectors: list[tuple[dict[str, Any], models.Model]] = []
    for row in archive.read_jsonl(run.root / f"{table}.jsonl"):
        obj = _instance(run, model, row, table)
        batch.append(obj)
        if table == "chunks":
            vectors.append((row, obj))
        count += 1
        if len(batch) >= BATCH:
            _flush(run, model, batch, vectors)
    _flush(run, model, batch, vectors)
    return count


def _flush(run: _Run, model: type[models.Model], batch: list[models.Model], vectors: list) -> None:
    if batch:
        model.objects.bulk_create(batch, batch_size=BATCH)
        batch.clear()
    if vectors:
        _write_vectors(run, vectors)
        vectors.clear()


def _instance(run: _Run, model: type[models.Model], row: dict[str, Any], table: str) -> models.Model:
    values: dict[str, Any] = {}
    for f in model._meta.concrete_fields:
        if f.attname not in row:
            continue  # a column this export predates: the model's default
        value = row[f.attname]
        value = None if value is None else f.to_python(value)
        if f.primary_key and isinstance(f, models.UUIDField):
            value = run.new(value)
        elif f.is_relation and value is not None:
            value = _reference(run, f, value, table)
        values[f.attname] = value
    obj = model(**values)
    _adjust(run, obj, table)
    return obj


def _reference(run: _Run, f: models.Field, value: Any, table: str) -> Any:
    target = f.related_model
    if target is Organization:
        return run.org_id
    mapped = run.users.get(str(value)) if target is User else run.ref(value)
    if mapped is None and not f.null:
        raise ImportRefused(
            f"{table}.jsonl refers to {target.__name__} {value}, which the export does not contain.",
            code="bad_row",
        )
    return mapped


def _adjust(run: _Run, obj: Any, table: str) -> None:
    """Per-table fix-ups: keys, public ids, sources and provenance carry ids too."""
    if table == "bots":
        obj.avatar_key = _restore_file(run, obj.avatar_key)
        if run.new_ids:
            obj.public_id = new_public_id()
    elif table == "documents":
        obj.storage_key = _restore_file(run, obj.storage_key)
        if obj.status in (DocumentStatus.PENDING, DocumentStatus.PROCESSING) or (
            run.reembed and obj.storage_key
        ):
            # Interrupted (or to be re-embedded): processed again after the commit, from its file.
            obj.status, obj.error, obj.attempts = DocumentStatus.PENDING, "", 0
            run.to_process.append(str(obj.pk))
            assert run.result is not None
            run.result.queued += 1
    elif table == "messages" and run.new_ids:
        obj.sources = [_remap_source(run, source) for source in obj.sources or []]
    elif table == "imported_records":
        users = obj.kind == Kind.USER
        obj.target_id = str((run.users if users else run.ids).get(obj.target_id, obj.target_id))


def _remap_source(run: _Run, source: Any) -> Any:
    if not isinstance(source, dict):
        return source
    return {
        k: (str(run.ids.get(str(v), v)) if k in ("document_id", "chunk_id") and v else v)
        for k, v in source.items()
    }


def _restore_file(run: _Run, key: str) -> str:
    if not key:
        return key
    name = archive.file_path(key)
    new_key = run.key(key)
    if name not in run.manifest.files:
        return new_key  # the file was already gone on the source platform; the row says so as it did there
    if run.write_external:
        storage.save(new_key, (run.root / name).read_bytes())
        run.written_keys.append(new_key)
    assert run.result is not None
    run.result.files += 1
    return new_key


def _write_vectors(run: _Run, rows: list[tuple[dict[str, Any], Any]]) -> None:
    if run.reembed:
        return
    dim = int(run.manifest.embedder["dim"])
    by_document: dict[tuple[str, str, int], list[VectorItem]] = {}
    for row, chunk in rows:
        vector = archive.decode_vector(row.get("vector", ""), dim)
        scope = (str(chunk.bot_id), str(chunk.document_id), chunk.generation)
        by_document.setdefault(scope, []).append(
            VectorItem(
                chunk_id=str(chunk.pk),
                document_id=str(chunk.document_id),
                ordinal=chunk.ordinal,
                vector=vector,
                text=chunk.text,
                metadata=row.get("vector_metadata") or {},
            )
        )
    assert run.result is not None
    for (bot_id, document_id, generation), items in by_document.items():
        run.result.vectors += len(items)
        if not run.write_external:
            continue
        run.written_vectors.append((str(run.org_id), bot_id, document_id, generation))
        run.store.upsert(
            org_id=str(run.org_id), bot_id=bot_id, document_id=document_id, generation=generation, items=items
        )
