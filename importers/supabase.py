"""Importing a Supabase project: users (with their passwords), organisations, bots and documents.

Order: users (each becomes a Botwright user and the owner of a personal org, or a member of the
org the mapping names), then bots (into their owner's org), then documents (stored and processed
like any upload, dedup by hash included), then optionally Cognito users. Every source row is keyed
by its source id in `ImportedRecord`, so a re-run updates what changed and duplicates nothing.

Users and bots are written in batches, one transaction per batch with a savepoint per row: a bad
row rolls back alone, a killed run loses at most the batch in flight and the next run redoes it.
A document is its own unit (file then row), so storage never holds a file without its row.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import is_password_usable
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import APIException

from accounts.services import user_create
from bots.models import DEFAULT_SYSTEM_PROMPT, Bot
from bots.services import bot_create, bot_update
from documents.models import Document
from documents.services import document_delete, document_upload
from tenants.audit import audit_record
from tenants.emails import InvalidEmail, canonical_email
from tenants.errors import ApplicationError, InvalidInput
from tenants.models import Membership, Organization, Role
from tenants.services import org_create

from .cognito import CognitoProvisioner
from .hashers import django_encoded_from_bcrypt, is_bcrypt_hash
from .mapping import SupabaseMapping
from .models import Kind
from .progress import BarFactory, no_progress
from .records import RecordIndex, checksum
from .report import ImportReport
from .supabase_source import FileSource, SourceFileError, SupabaseSource

logger = logging.getLogger(__name__)

SOURCE = "supabase"
BATCH_SIZE = 200
BOT_NAME_MAX = 120
GREETING_MAX = 500
TEMPERATURE_RANGE = (0.0, 2.0)


@dataclass(frozen=True)
class Target:
    """Where a source row went. In a dry run `target_id` is None for rows that would be created."""

    org_id: Any
    target_id: Any
    user_id: Any = None


class _Skip(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _DryRunRollback(Exception):
    """Raised inside a dry run's transaction so that whatever a step wrote is rolled back."""


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


class SupabaseImport:
    def __init__(
        self,
        *,
        source: SupabaseSource,
        files: FileSource,
        mapping: SupabaseMapping,
        report: ImportReport,
        dry_run: bool = False,
        since: datetime | None = None,
        cognito: CognitoProvisioner | None = None,
        process_documents: bool = True,
        bars: BarFactory = no_progress,
        batch_size: int = BATCH_SIZE,
        after_batch: Callable[[str, int], None] | None = None,
    ) -> None:
        self.source = source
        self.files = files
        self.mapping = mapping
        self.report = report
        self.dry_run = dry_run
        self.since = since
        self.cognito = cognito
        self.process_documents = process_documents
        self.bars = bars
        self.batch_size = batch_size
        self.after_batch = after_batch
        self.records = RecordIndex(SOURCE)
        self.users: dict[str, Target] = {}
        self.bots: dict[str, Target] = {}
        self.user_skips: dict[str, str] = {}
        self.bot_skips: dict[str, str] = {}
        self._shared_org: Organization | None = None
        self._now = timezone.now()

    # -- orchestration ------------------------------------------------------------------------
    def run(self) -> ImportReport:
        self.report.info["source_tables"] = {
            e: self.source.table(e).label for e in ("users", "bots", "documents")
        }
        for entity in ("users", "bots", "documents"):
            self.source.fields(entity)
        if self.source.missing_optional:
            self.report.info["columns_absent_in_source"] = self.source.missing_optional
        self._phase("users", self._user_row, batched_transaction=True)
        self._phase("bots", self._bot_row, batched_transaction=True)
        self._phase("documents", self._document_row, batched_transaction=False)
        if self.cognito is not None:
            self._cognito_phase()
        self.report.finish()
        return self.report

    def _phase(
        self, entity: str, handle: Callable[[dict], tuple[str, str]], *, batched_transaction: bool
    ) -> None:
        report = self.report.entity(entity)
        bar = self.bars(entity, self.source.count(entity, since=self.since))
        kind = {"users": Kind.USER, "bots": Kind.BOT, "documents": Kind.DOCUMENT}[entity]
        try:
            for number, batch in enumerate(
                self.source.batches(entity, since=self.since, size=self.batch_size), 1
            ):
                with transaction.atomic() if batched_transaction and not self.dry_run else nullcontext():
                    for row in batch:
                        report.read += 1
                        outcome, reason = self._one(handle, row, kind, atomic=batched_transaction)
                        report.add(outcome, row.get("id"), reason)
                        bar.update(1)
                if self.after_batch:
                    self.after_batch(entity, number)
        finally:
            bar.close()

    def _one(
        self, handle: Callable[[dict], tuple[str, str]], row: dict, kind: str, *, atomic: bool
    ) -> tuple[str, str]:
        try:
            if self.dry_run:
                # A dry run writes nothing; the rolled-back savepoint is a second line of defence.
                with transaction.atomic():
                    result = handle(row)
                    transaction.set_rollback(True)
                return result
            if not atomic:
                # A document: its file is stored before its row, so wrapping both in a transaction
                # would leave a file without a row if the run died in between.
                return handle(row)
            with transaction.atomic():
                return handle(row)
        except _Skip as exc:
            return "skipped", exc.reason
        except ApplicationError as exc:
            self.records.refresh(kind, row.get("id"))
            return "failed", exc.message
        except Exception as exc:  # one bad row must not stop the import: report it and go on
            logger.exception(
                "import of a source row failed", extra={"kind": kind, "source_id": str(row.get("id"))}
            )
            self.records.refresh(kind, row.get("id"))
            return "failed", f"{type(exc).__name__}: {str(exc)[:300]}"

    # -- users --------------------------------------------------------------------------------
    def _user_row(self, row: dict) -> tuple[str, str]:
        sid = row["id"]
        notes = self.report.entity("users")
        raw_email = _text(row.get("email"))
        record = self.records.get(Kind.USER, sid)
        User = get_user_model()
        user = User.objects.filter(pk=record.target_id).first() if record else None
        gone = self._user_gone(row)
        if row.get("is_anonymous"):
            self.user_skips[sid] = "an anonymous user"
            raise _Skip("anonymous user: no email or password to import")
        if not raw_email:
            self.user_skips[sid] = "a user without email"
            raise _Skip("user without email")
        try:
            # Botwright's one form of an address (tenants.emails), compared exactly from here on.
            email = canonical_email(raw_email)
            validate_email(email)
        except (InvalidEmail, DjangoValidationError) as exc:
            self.user_skips[sid] = "a user with an invalid email"
            raise _Skip(f"invalid email {raw_email!r}: {getattr(exc, 'message', exc)}")
        if gone:
            self.user_skips[sid] = f"a user {gone}"
            if user is not None and user.is_active:
                # Imported earlier and since deleted or banned at the source: lock them out here too.
                if not self.dry_run:
                    User.objects.filter(pk=user.pk).update(is_active=False)
                    self.records.put(
                        **self._record_fields(record, detail={**record.detail, "deactivated": gone})
                    )
                notes.note(sid, f"deactivated: {gone}")
                return "updated", ""
            if user is not None:
                return "unchanged", ""
            raise _Skip(f"{gone}; not imported")

        password_hash = _text(row.get("encrypted_password"))
        name = self._display_name(row.get("raw_user_meta_data"))
        digest = checksum(
            [
                email,
                password_hash,
                name,
                row.get("email_confirmed_at"),
                row.get("deleted_at"),
                row.get("banned_until"),
            ]
        )
        if user is not None and record.checksum == digest and user.is_active:
            self.users[sid] = Target(record.org_id, user.pk, user.pk)
            return "unchanged", ""
        confirmed = bool(row.get("email_confirmed_at"))
        encoded = None
        if password_hash and not confirmed:
            # Anyone can sign up to Supabase with someone else's address; until it is confirmed the
            # password proves nothing about who owns the address, so it never signs in here.
            notes.note(
                sid,
                "email not confirmed in Supabase: the password is not imported (the owner of the "
                "address sets one through a reset or Cognito)",
            )
        elif password_hash and is_bcrypt_hash(password_hash):
            encoded = django_encoded_from_bcrypt(password_hash)
        elif password_hash:
            notes.note(
                sid, "the password hash is not bcrypt and cannot be imported: the user resets the password"
            )
        elif user is None:
            notes.note(
                sid,
                "no password in Supabase (OAuth or magic link): the user signs in through Cognito or a reset",
            )

        clash = User.objects.filter(email=email).exclude(pk=getattr(user, "pk", None)).first()
        if clash is not None:
            owner_records = self.records.by_target(Kind.USER, clash.pk)
            if owner_records:
                raise _Skip(
                    f"email {email} was already imported from source user {owner_records[0].source_id}"
                )
        if user is None and clash is not None:
            # A Botwright account with this email exists (made by an admin, or through Cognito with a
            # verified email): link to it rather than create a second person; its password stays.
            # Only for a confirmed address: an unconfirmed one would hand its bots to a stranger.
            if not confirmed:
                raise _Skip(f"email {email} is not confirmed in Supabase and a Botwright account has it")
            user, created = clash, False
            notes.note(sid, f"linked to the existing Botwright user {email}; that account's password is kept")
        elif user is None:
            if self.dry_run:
                self.users[sid] = Target(None, None)
                self._org_for(None, sid, name or email)
                return "created", ""
            user = user_create(email=email, password=None, name=name)
            fields: dict[str, Any] = {"password": encoded} if encoded else {}
            if row.get("created_at"):
                fields["date_joined"] = row["created_at"]
            if fields:
                User.objects.filter(pk=user.pk).update(**fields)
            created = True
        else:
            created = False
            self._update_user(user, email=email, name=name, encoded=encoded, record=record, sid=sid)

        org = self._org_for(user, sid, name or email)
        if not self.dry_run:
            self.records.put(
                kind=Kind.USER,
                source_id=sid,
                org_id=org.pk,
                target_id=user.pk,
                checksum=digest,
                source_updated_at=row.get("updated_at") or row.get("created_at"),
                detail={"email": email},
            )
        self.users[sid] = Target(getattr(org, "pk", None), user.pk, user.pk)
        return ("created" if created else "updated"), ""

    def _user_gone(self, row: dict) -> str:
        if row.get("deleted_at"):
            return f"soft-deleted in Supabase at {row['deleted_at']:%Y-%m-%d %H:%M}"
        banned = row.get("banned_until")
        if banned and banned > self._now:
            return f"banned in Supabase until {banned:%Y-%m-%d %H:%M}"
        return ""

    def _display_name(self, meta: Any) -> str:
        if isinstance(meta, dict):
            for key in self.mapping.name_keys:
                value = _text(meta.get(key))
                if value:
                    return value[:200]
        return ""

    def _update_user(
        self, user: Any, *, email: str, name: str, encoded: str | None, record: Any, sid: str
    ) -> None:
        notes = self.report.entity("users")
        User = get_user_model()
        changes: dict[str, Any] = {}
        if email != user.email:
            if User.objects.filter(email=email).exclude(pk=user.pk).exists():
                notes.note(
                    sid,
                    f"email changed to {email} in Supabase, but another Botwright user has it; "
                    f"kept {user.email}",
                )
            else:
                changes["email"] = email
        if name and name != user.name:
            changes["name"] = name
        if encoded and encoded != user.password:
            # Only while the user has not signed in here: a successful sign-in replaces the bcrypt
            # hash with Django's default, and from then on the Botwright password is theirs.
            if user.password.startswith("bcrypt$") or not is_password_usable(user.password):
                changes["password"] = encoded
            else:
                notes.note(
                    sid,
                    "password changed in Supabase after the user signed in to Botwright; "
                    "kept the Botwright one",
                )
        if not user.is_active and record is not None and record.detail.get("deactivated"):
            changes["is_active"] = True
            notes.note(sid, "reactivated: no longer deleted or banned in Supabase")
        if changes and not self.dry_run:
            User.objects.filter(pk=user.pk).update(**changes)

    def _org_for(self, user: Any, sid: str, display: str) -> Organization | None:
        """The org the user's bots go to: the mapping's shared org, else a personal one."""
        shared = self.mapping.organization
        if shared:
            org = self._shared(user)
            if org is not None and user is not None and not self.dry_run:
                membership, created = Membership.objects.get_or_create(
                    org=org, user=user, defaults={"role": self.mapping.member_role}
                )
                if created:
                    audit_record(
                        actor=None,
                        action="membership.created",
                        target=membership,
                        org=org,
                        changes={"email": user.email, "role": membership.role, "imported_from": SOURCE},
                    )
            return org
        key = f"user:{sid}"
        record = self.records.get(Kind.ORG, key)
        org = Organization.objects.filter(pk=record.target_id).first() if record else None
        if org is None:
            if self.dry_run or user is None:
                return None
            org = org_create(user=user, name=display[:200])
            self.records.put(kind=Kind.ORG, source_id=key, org_id=org.pk, target_id=org.pk, checksum="")
        elif user is not None and not self.dry_run:
            Membership.objects.get_or_create(org=org, user=user, defaults={"role": Role.OWNER})
        return org

    def _shared(self, user: Any) -> Organization | None:
        if self._shared_org is not None:
            return self._shared_org
        spec = self.mapping.organization or {}
        if spec.get("id"):
            org = Organization.objects.filter(pk=spec["id"]).first()
            if org is None:
                raise InvalidInput(
                    f"The mapping names organization id {spec['id']}, which does not exist in Botwright."
                )
        else:
            key = f"name:{spec['name']}"
            record = self.records.get(Kind.ORG, key)
            org = Organization.objects.filter(pk=record.target_id).first() if record else None
            if org is None:
                if self.dry_run or user is None:
                    return None
                # The first imported user founds it (owner); the others join with `member_role`.
                org = org_create(user=user, name=spec["name"][:200])
                self.records.put(kind=Kind.ORG, source_id=key, org_id=org.pk, target_id=org.pk, checksum="")
        self._shared_org = org
        return org

    def _record_fields(self, record: Any, **overrides: Any) -> dict[str, Any]:
        fields = {
            "kind": record.kind,
            "source_id": record.source_id,
            "org_id": record.org_id,
            "target_id": record.target_id,
            "checksum": record.checksum,
            "source_updated_at": record.source_updated_at,
            "detail": record.detail,
        }
        fields.update(overrides)
        return fields

    def _parent(self, kind: str, sid: str) -> Target | None:
        """Where a parent row (a bot's user, a document's bot) went: this run, or an earlier one."""
        resolved, skips = (self.users, self.user_skips) if kind == Kind.USER else (self.bots, self.bot_skips)
        if sid in resolved:
            return resolved[sid]
        record = self.records.get(kind, sid) if sid and sid not in skips else None
        if record is None:
            return None
        if kind == Kind.USER:
            user = get_user_model().objects.filter(pk=record.target_id, is_active=True).first()
            return Target(record.org_id, user.pk, user.pk) if user else None
        bot = Bot.objects.for_org(record.org_id).filter(pk=record.target_id).first()
        return Target(bot.org_id, bot.pk, bot.created_by_id) if bot else None

    def _missing_parent(self, kind: str, sid: str) -> str:
        why = (self.user_skips if kind == Kind.USER else self.bot_skips).get(sid)
        return f"its {kind} {sid or '(none)'} was not imported" + (f" ({why})" if why else "")

    # -- bots ---------------------------------------------------------------------------------
    def _bot_row(self, row: dict) -> tuple[str, str]:
        sid = row["id"]
        owner_sid = _text(row.get("user_id"))
        owner = self._parent(Kind.USER, owner_sid)
        if owner is None:
            reason = self._missing_parent(Kind.USER, owner_sid)
            self.bot_skips[sid] = reason
            raise _Skip(reason)
        fields = self._bot_fields(row, sid)
        digest = checksum(fields)
        record = self.records.get(Kind.BOT, sid)
        bot = Bot.objects.for_org(record.org_id).filter(pk=record.target_id).first() if record else None
        if bot is not None and record.checksum == digest:
            self.bots[sid] = Target(bot.org_id, bot.pk, owner.user_id)
            return "unchanged", ""
        if owner.org_id is None:  # dry run: the owner's org would be created in this run
            self.bots[sid] = Target(None, None, None)
            return ("updated" if bot else "created"), ""
        org = Organization.objects.get(pk=owner.org_id)
        if bot is not None and str(bot.org_id) != str(org.pk):
            # The owner moved to another org (a changed mapping): a bot never moves between orgs.
            raise _Skip(
                f"bot {bot.pk} lives in another org than its owner's now; move it by hand if intended"
            )
        fields["name"] = self._unique_name(org, fields["name"], exclude=bot.pk if bot else None, sid=sid)
        if self.dry_run:
            self.bots[sid] = Target(org.pk, bot.pk if bot else None, owner.user_id)
            return ("updated" if bot else "created"), ""
        User = get_user_model()
        owner_user = User.objects.get(pk=owner.user_id)
        try:
            if bot is None:
                bot = bot_create(org=org, user=owner_user, **fields)
                outcome = "created"
            else:
                bot = bot_update(bot=bot, user=None, data=fields)
                outcome = "updated"
        except APIException as exc:
            raise InvalidInput(f"Botwright refused the bot: {exc.detail}")
        self.records.put(
            kind=Kind.BOT,
            source_id=sid,
            org_id=org.pk,
            target_id=bot.pk,
            checksum=digest,
            source_updated_at=row.get("updated_at") or row.get("created_at"),
        )
        self.bots[sid] = Target(org.pk, bot.pk, owner.user_id)
        return outcome, ""

    def _bot_fields(self, row: dict, sid: str) -> dict[str, Any]:
        notes = self.report.entity("bots")
        name = _text(row.get("name"))
        if not name:
            name = f"Imported bot {sid[:8]}"
            notes.note(sid, f"no name in Supabase; named {name!r}")
        elif len(name) > BOT_NAME_MAX:
            notes.note(sid, f"name shortened to {BOT_NAME_MAX} characters")
            name = name[:BOT_NAME_MAX].rstrip()
        greeting = _text(row.get("welcome_message"))
        if len(greeting) > GREETING_MAX:
            notes.note(sid, f"welcome message shortened to {GREETING_MAX} characters")
            greeting = greeting[:GREETING_MAX]
        model = _text(row.get("model"))
        if model and model not in settings.GEMINI_ALLOWED_MODELS:
            notes.note(
                sid,
                f"model {model!r} is not allowed on this deployment (GEMINI_ALLOWED_MODELS); "
                "the bot uses the default model",
            )
            model = ""
        fields: dict[str, Any] = {
            "name": name,
            "description": _text(row.get("description")),
            "system_prompt": _text(row.get("system_prompt")) or DEFAULT_SYSTEM_PROMPT,
            "model_name": model,
            "temperature": self._temperature(row.get("temperature"), sid),
        }
        if row.get("welcome_message") is not None:
            fields["greeting"] = greeting
        return fields

    def _temperature(self, value: Any, sid: str) -> float:
        notes = self.report.entity("bots")
        low, high = TEMPERATURE_RANGE
        if value is None:
            return Bot._meta.get_field("temperature").default
        try:
            number = float(value)
        except (TypeError, ValueError):
            notes.note(sid, f"temperature {value!r} is not a number; using the default")
            return Bot._meta.get_field("temperature").default
        if math.isnan(number):
            notes.note(sid, "temperature is NaN; using the default")
            return Bot._meta.get_field("temperature").default
        clamped = min(max(number, low), high)
        if clamped != number:
            notes.note(
                sid, f"temperature {number:g} clamped to {clamped:g} (Botwright allows {low:g}–{high:g})"
            )
        return clamped

    def _unique_name(self, org: Organization, name: str, *, exclude: Any, sid: str) -> str:
        taken = {
            n.lower() for n in Bot.objects.for_org(org).exclude(pk=exclude).values_list("name", flat=True)
        }
        if name.lower() not in taken:
            return name
        for n in range(2, 1000):
            suffix = f" ({n})"
            candidate = name[: BOT_NAME_MAX - len(suffix)] + suffix
            if candidate.lower() not in taken:
                self.report.entity("bots").note(
                    sid, f"another bot in the org is named {name!r}; imported as {candidate!r}"
                )
                return candidate
        raise InvalidInput(f"Too many bots named {name!r} in the org.")

    # -- documents ----------------------------------------------------------------------------
    def _document_row(self, row: dict) -> tuple[str, str]:
        sid = row["id"]
        bot_sid = _text(row.get("bot_id"))
        target = self._parent(Kind.BOT, bot_sid)
        if target is None:
            raise _Skip(self._missing_parent(Kind.BOT, bot_sid))
        storage_path = _text(row.get("storage_path"))
        filename = (_text(row.get("filename")) or storage_path.rsplit("/", 1)[-1])[:255]
        digest = checksum([bot_sid, filename, storage_path, row.get("mime_type"), row.get("updated_at")])
        record = self.records.get(Kind.DOCUMENT, sid)
        document = (
            Document.objects.for_org(record.org_id).filter(pk=record.target_id).first() if record else None
        )
        if document is not None and record.checksum == digest:
            return "unchanged", ""
        if not self.files.configured:
            raise InvalidInput("no --storage-dir or storage_base_url: the document's file cannot be read")
        try:
            data = self.files.read(storage_path)
        except SourceFileError as exc:
            raise InvalidInput(f"file not imported: {exc}")
        sha256 = hashlib.sha256(data).hexdigest()
        if target.target_id is None:  # dry run, bot not created yet
            return "created", ""
        bot = Bot.objects.for_org(target.org_id).get(pk=target.target_id)
        if document is not None and document.sha256 == sha256:
            if not self.dry_run:
                if document.filename != filename:
                    Document.objects.for_org(document.org_id).filter(pk=document.pk).update(filename=filename)
                self._put_document_record(sid, document, digest, row)
            return "updated", ""
        if self.dry_run:
            existing = Document.objects.for_org(bot.org_id).filter(bot=bot, sha256=sha256).first()
            if existing is not None:
                self.report.entity("documents").note(
                    sid, f"same bytes as document {existing.pk} already in the bot"
                )
                return "unchanged", ""
            return ("updated" if document else "created"), ""
        owner = get_user_model().objects.filter(pk=target.user_id).first()
        try:
            new, created = document_upload(
                bot=bot, user=owner, data=data, filename=filename, title="", enqueue=self.process_documents
            )
        except APIException as exc:
            # Empty, too large or a type Botwright cannot read: not importable, say why.
            raise _Skip(f"Botwright does not accept this file: {_api_detail(exc)}")
        except ApplicationError as exc:
            raise _Skip(f"Botwright does not accept this file: {exc.message}")
        if not created and self.records.by_target(Kind.DOCUMENT, new.pk):
            self.report.entity("documents").note(
                sid, f"same bytes as document {new.pk} already in the bot: deduplicated"
            )
        elif not created and document is None:
            # Stored by an earlier run that stopped before writing its record, or uploaded by hand:
            # either way this source row now has its document.
            created = True
        self._put_document_record(sid, new, digest, row)
        if document is not None and document.pk != new.pk:
            # The file was replaced at the source: the new one is live, the old one goes.
            document_delete(document=document, user=None)
            return "updated", ""
        return ("created" if created else "unchanged"), ""

    def _put_document_record(self, sid: str, document: Document, digest: str, row: dict) -> None:
        self.records.put(
            kind=Kind.DOCUMENT,
            source_id=sid,
            org_id=document.org_id,
            target_id=document.pk,
            checksum=digest,
            source_updated_at=row.get("updated_at") or row.get("created_at"),
            detail={"bot_source_id": _text(row.get("bot_id"))},
        )

    # -- Cognito ------------------------------------------------------------------------------
    def _cognito_phase(self) -> None:
        report = self.report.entity("cognito_users")
        targets = [(sid, t) for sid, t in self.users.items()]
        bar = self.bars("cognito", len(targets))
        User = get_user_model()
        try:
            for sid, target in targets:
                report.read += 1
                bar.update(1)
                record = self.records.get(Kind.USER, sid)
                if record is not None and record.detail.get("cognito_sub"):
                    report.add("unchanged", sid)
                    continue
                if self.dry_run or target.user_id is None:
                    report.add("created", sid)
                    continue
                user = User.objects.get(pk=target.user_id)
                try:
                    created, sub = self.cognito.ensure_user(email=user.email, name=user.name, source_id=sid)
                except ApplicationError:
                    raise  # the pool is unusable: stop, the message says what to fix
                except Exception as exc:
                    report.add("failed", sid, f"{type(exc).__name__}: {str(exc)[:300]}")
                    continue
                with transaction.atomic():
                    if sub and not user.external_id:
                        User.objects.filter(pk=user.pk).update(external_id=sub)
                    self.records.put(
                        **self._record_fields(record, detail={**record.detail, "cognito_sub": sub})
                    )
                report.add("created" if created else "unchanged", sid)
                if not created:
                    report.note(sid, "already in the user pool; linked by email")
        finally:
            bar.close()


def _api_detail(exc: APIException) -> str:
    detail = exc.detail
    if isinstance(detail, dict):
        return "; ".join(str(v[0] if isinstance(v, list) and v else v) for v in detail.values())
    if isinstance(detail, list):
        return "; ".join(str(v) for v in detail)
    return str(detail)


def supabase_import(*, report: ImportReport | None = None, **options: Any) -> ImportReport:
    """Import users, bots and documents from a Supabase project; returns the verification report.

    `options` are `SupabaseImport`'s: `source`, `files`, `mapping`, and optionally `dry_run`, `since`,
    `cognito`, `process_documents`, `bars`, `batch_size`, and `after_batch(entity, n)`, called after
    each committed batch (progress hooks; tests use it to interrupt a run half-way).
    """
    report = report or ImportReport("import_supabase", dry_run=options.get("dry_run", False))
    return SupabaseImport(report=report, **options).run()
