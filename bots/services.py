"""Writes on bots. Every write is audited; names are unique per org (case-insensitive).

Deleting a bot deletes its rows; the knowledge base removes the bot's files and vectors after the
deletion commits (documents.signals subscribes to it), so this module needs nothing above it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from tenants.audit import audit_record
from tenants.errors import InvalidInput
from tenants.models import Organization
from tenants.services_common import model_update, model_validate

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
