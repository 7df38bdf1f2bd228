"""Writes on bots. Every write is audited; names are unique per org (case-insensitive).

Deleting a bot deletes its rows; the knowledge base removes the bot's files and vectors after the
deletion commits (documents.signals subscribes to it), so this module needs nothing above it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from integrations import storage
from tenants.audit import audit_record
from tenants.errors import InvalidInput, TooLarge, UnsupportedType
from tenants.models import Organization
from tenants.quotas import org_lock_for_quota, quota_enforce
from tenants.services_common import model_update, model_validate

from .appearance import AvatarRejected, sniff_avatar
from .models import Bot

# The fields a builder edits, in the order forms show them (the admin uses it too).
WRITABLE_FIELDS_IN_ORDER = (
    "name",
    "description",
    "system_prompt",
    "greeting",
    "fallback_message",
    "model_name",
    "temperature",
    "top_k",
    "relevance_threshold",
    "is_active",
    "allowed_origins",
    "theme_color",
    "position",
    "launcher_text",
    "suggested_questions",
    "show_sources",
)
WRITABLE_FIELDS = frozenset(WRITABLE_FIELDS_IN_ORDER)


def _name_taken(name: str) -> InvalidInput:
    return InvalidInput(f"A bot named {name!r} already exists in this organisation.", field="name")


def _ensure_unique_name(*, org: Organization, name: str, exclude_id: Any = None) -> None:
    qs = Bot.objects.for_org(org).filter(name__iexact=name.strip())
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    if qs.exists():
        raise _name_taken(name)


def _ensure_model_allowed(model_name: str | None) -> None:
    # The operator's key pays for every model call: a bot may only name a model the deployment allows.
    allowed = list(settings.GEMINI_ALLOWED_MODELS)
    if model_name and model_name not in allowed:
        raise InvalidInput(
            f"The model {model_name!r} is not allowed on this deployment. Choose one of: "
            f"{', '.join(allowed)}; or leave it empty for the default model.",
            field="model_name",
            extra={"allowed_models": allowed},
        )


@transaction.atomic
def bot_create(*, org: Organization, user: Any, name: str, **fields: Any) -> Bot:
    unknown = sorted(set(fields) - WRITABLE_FIELDS)
    if unknown:
        errors = {f: ["Unknown field."] for f in unknown}
        raise InvalidInput(f"Unknown field: {', '.join(unknown)}.", extra={"errors": errors})
    _ensure_unique_name(org=org, name=name)
    _ensure_model_allowed(fields.get("model_name"))
    bot = Bot(org=org, created_by=user, name=name.strip(), **fields)
    model_validate(instance=bot)
    # Counted under the org's lock: two creates racing for the last slot take turns.
    quota_enforce(org=org_lock_for_quota(org_id=org.pk), name="bots")
    try:
        with transaction.atomic():
            bot.save()
    except IntegrityError:
        # A concurrent create with the same name won the race against the check above.
        raise _name_taken(bot.name)
    audit_record(actor=user, action="bot.created", target=bot, org=org, changes={"name": bot.name})
    return bot


@transaction.atomic
def bot_update(*, bot: Bot, user: Any, data: dict[str, Any]) -> Bot:
    if isinstance(data.get("name"), str):
        data = {**data, "name": data["name"].strip()}
        _ensure_unique_name(org=bot.org, name=data["name"], exclude_id=bot.pk)
    if "model_name" in data:
        _ensure_model_allowed(data["model_name"])
    try:
        with transaction.atomic():
            changes = model_update(instance=bot, fields=WRITABLE_FIELDS, data=data)
    except IntegrityError:
        raise _name_taken(data.get("name", bot.name))
    if changes:
        audit_record(actor=user, action="bot.updated", target=bot, org=bot.org, changes=changes)
    return bot


@transaction.atomic
def bot_delete(*, bot: Bot, user: Any) -> None:
    # Locked first, so uploads and processing runs writing rows that point at the bot wait for the
    # deletion to commit (and then fail cleanly) instead of breaking the cascade half-way.
    list(Bot.objects.for_org(bot.org_id).select_for_update().filter(pk=bot.pk))
    audit_record(actor=user, action="bot.deleted", target=bot, org=bot.org, changes={"name": bot.name})
    bot.delete()


_AVATAR_ERRORS = {"empty": InvalidInput, "pixels": InvalidInput, "type": UnsupportedType, "bytes": TooLarge}


@transaction.atomic
def bot_avatar_set(*, bot: Bot, user: Any, data: bytes) -> Bot:
    """Store `data` as the bot's avatar after sniffing it (bots.appearance.sniff_avatar): 400 empty
    or too many pixels, 415 not a PNG/JPEG/WebP/GIF, 413 too many bytes. The previous image is
    deleted once the new one is committed."""
    try:
        image = sniff_avatar(data, max_bytes=settings.BOT_AVATAR_MAX_BYTES)
    except AvatarRejected as exc:
        error = _AVATAR_ERRORS[exc.kind]
        raise error(exc.reason, field="file") from None
    # The key carries the bytes' hash: a new image gets a new URL, so browsers may cache each forever.
    digest = hashlib.sha256(data).hexdigest()[:16]
    key = f"{bot.org_id}/{bot.pk}/avatar/{digest}.{image.extension}"
    previous = bot.avatar_key
    storage.save(key, data)
    bot.avatar_key = key
    bot.save(update_fields=["avatar_key", "updated_at"])
    audit_record(
        actor=user,
        action="bot.avatar_set",
        target=bot,
        org=bot.org,
        changes={"bytes": len(data), "type": image.content_type, "size": f"{image.width}x{image.height}"},
    )
    if previous and previous != key:
        transaction.on_commit(lambda: storage.delete(previous))
    return bot


@transaction.atomic
def bot_avatar_clear(*, bot: Bot, user: Any) -> Bot:
    """Remove the bot's avatar (the widget shows its initials again)."""
    previous = bot.avatar_key
    if not previous:
        return bot
    bot.avatar_key = ""
    bot.save(update_fields=["avatar_key", "updated_at"])
    audit_record(actor=user, action="bot.avatar_cleared", target=bot, org=bot.org, changes={})
    transaction.on_commit(lambda: storage.delete(previous))
    return bot
