"""The monthly chat quotas' counters (tenants.quotas), read from the daily rollup.

`DailyMetrics` is written in the same transaction as every turn's messages (analytics.recording),
so a month's questions and model tokens are the sum of ~30 days × bots × channels rows rather than
a scan of the month's messages on every chat turn (measured: ~150 ms per count at 100,000 messages
a month, on PostgreSQL). Month boundaries are UTC midnights, the rollup's day boundaries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import F, Sum

from tenants.quotas import register_counter

from .models import DailyMetrics


def _month_total(expression: Any, org_id: Any, since: datetime | None, until: datetime | None) -> int:
    rows = DailyMetrics.objects.for_org(org_id)
    if since is not None:
        rows = rows.filter(day__gte=since.date())
    if until is not None:
        rows = rows.filter(day__lt=until.date())
    return rows.aggregate(total=Sum(expression))["total"] or 0


def messages_this_month(*, org_id: Any, since: datetime | None = None, until: datetime | None = None) -> int:
    """Questions asked on every channel (the rollup's `user_messages`)."""
    return _month_total(F("user_messages"), org_id, since, until)


def tokens_this_month(*, org_id: Any, since: datetime | None = None, until: datetime | None = None) -> int:
    """Model prompt and completion tokens the answers recorded."""
    return _month_total(F("prompt_tokens") + F("completion_tokens"), org_id, since, until)


def register() -> None:
    register_counter("messages_per_month", messages_this_month)
    register_counter("tokens_per_month", tokens_this_month)
