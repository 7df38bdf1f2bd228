from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from integrations import storage
from tenants.models import Organization

from .models import Bot


def bot_list(*, org: Organization) -> QuerySet[Bot]:
    return Bot.objects.for_org(org).order_by("name", "id")


def bot_get(*, org: Organization, bot_id: Any) -> Bot:
    """The org's bot, or 404 — another org's bot is indistinguishable from a missing one."""
    return get_object_or_404(Bot.objects.for_org(org).select_related("org"), pk=bot_id)


def bot_model_name(*, bot: Bot) -> str | None:
    """The model this bot's answers use, or None for the deployment default.

    The allow-list is checked again at answer time: a bot saved before the operator narrowed
    ``GEMINI_ALLOWED_MODELS`` (or imported around it) never bills a model the deployment refuses.
    """
    name = (bot.model_name or "").strip()
    if name and name in settings.GEMINI_ALLOWED_MODELS:
        return name
    return None


def bot_avatar_read(*, bot: Bot) -> bytes:
    """The bytes of the bot's avatar image, or 404 when it has none."""
    if not bot.avatar_key:
        raise Http404("This bot has no avatar.")
    try:
        return storage.read(bot.avatar_key)
    except FileNotFoundError:
        raise Http404("This bot has no avatar.") from None
