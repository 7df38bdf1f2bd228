"""The chat quotas (tenants.quotas): messages and model tokens per calendar month, UTC.

A message is a question asked on any channel (builder, public widget, API key): the stored user
messages of the month. Model tokens are the prompt and completion tokens the model reported for the
month's answers. Both are checked before a turn starts, without a lock: turns already in flight when
the limit is reached still finish, so a month can end a few turns over its limit, never more.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import F, Sum

from tenants.quotas import quota_enforce, register_counter

from .models import Message, Role


def _month(org_id: Any, since: datetime | None, until: datetime | None):
    messages = Message.objects.for_org(org_id)
    if since is not None:
        messages = messages.filter(created_at__gte=since)
    if until is not None:
        messages = messages.filter(created_at__lt=until)
    return messages


def messages_count(*, org_id: Any, since: datetime | None = None, until: datetime | None = None) -> int:
    return _month(org_id, since, until).filter(role=Role.USER).count()


def tokens_used(*, org_id: Any, since: datetime | None = None, until: datetime | None = None) -> int:
    spent = _month(org_id, since, until).aggregate(total=Sum(F("prompt_tokens") + F("completion_tokens")))
    return spent["total"] or 0


def register() -> None:
    register_counter("messages_per_month", messages_count)
    register_counter("tokens_per_month", tokens_used)


def messages_quota_enforce(*, org: Any) -> None:
    """Refuse a question when the org's messages this month are spent (MonthlyQuotaExceeded, 429)."""
    quota_enforce(org=org, name="messages_per_month")


def tokens_quota_enforce(*, org: Any) -> None:
    """Refuse to call the model when the org's model tokens this month are spent (429)."""
    quota_enforce(org=org, name="tokens_per_month")
