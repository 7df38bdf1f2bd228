"""Writes on bots. Every write is audited; names are unique per org (case-insensitive)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from rest_framework.exceptions import ValidationError

from tenants.audit import audit_record, diff_fields
from tenants.errors import InvalidInput
from tenants.models import Organization

from .models import Bot

WRITABLE_FIELDS = {
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
}


def _ensure_unique_name(*, org: Organization, name: str, exclude_id: Any = None) -> None:
    qs = Bot.objects.for_org(org).filter(name__iexact=name.strip())
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    if qs.exists():
        raise ValidationError({"name": [f"A bot named {name!r} already exists in this organisation."]})


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


def _save(bot: Bot) -> None:
    bot.full_clean()
    try:
        with transaction.atomic():
            bot.save()
    except IntegrityError:
        # A concurrent create with the same name won the race against the check above.
        raise ValidationError({"name": [f"A bot named {bot.name!r} already exists in this organisation."]})


@transaction.atomic
def bot_create(*, org: Organization, user: Any, name: str, **fields: Any) -> Bot:
    unknown = set(fields) - WRITABLE_FIELDS
    if unknown:
        raise ValidationError({f: ["Unknown field."] for f in sorted(unknown)})
    _ensure_unique_name(org=org, name=name)
    _ensure_model_allowed(fields.get("model_name"))
    bot = Bot(org=org, created_by=user, name=name.strip(), **fields)
    _save(bot)
    audit_record(actor=user, action="bot.created", target=bot, org=org, changes={"name": bot.name})
    return bot


@transaction.atomic
def bot_update(*, bot: Bot, user: Any, data: dict[str, Any]) -> Bot:
    unknown = set(data) - WRITABLE_FIELDS
    if unknown:
        raise ValidationError({f: ["Unknown field."] for f in sorted(unknown)})
    if "name" in data:
        data = {**data, "name": data["name"].strip()}
        _ensure_unique_name(org=bot.org, name=data["name"], exclude_id=bot.pk)
    if "model_name" in data:
        _ensure_model_allowed(data["model_name"])
    changes = diff_fields(bot, data)
    for field, value in data.items():
        setattr(bot, field, value)
    _save(bot)
    if changes:
        audit_record(actor=user, action="bot.updated", target=bot, org=bot.org, changes=changes)
    return bot


@transaction.atomic
def bot_delete(*, bot: Bot, user: Any) -> None:
    from documents.services import bot_purge_external_data

    bot_purge_external_data(bot=bot)
    audit_record(actor=user, action="bot.deleted", target=bot, org=bot.org, changes={"name": bot.name})
    bot.delete()


def bot_bump_index_version(*, bot: Bot) -> None:
    """Invalidate per-process vector caches: the bot's searchable vectors changed."""
    Bot.objects.for_org(bot.org_id).filter(pk=bot.pk).update(index_version=F("index_version") + 1)
