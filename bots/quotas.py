"""The bots quota's counter (tenants.quotas), registered when the app is ready."""

from __future__ import annotations

from typing import Any

from tenants.quotas import register_counter

from .models import Bot


def bots_count(*, org_id: Any, **window: Any) -> int:
    return Bot.objects.for_org(org_id).count()


def register() -> None:
    register_counter("bots", bots_count)
