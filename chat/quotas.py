"""The chat quotas (tenants.quotas): messages and model tokens per calendar month, UTC.

A message is a question asked on any channel (builder, public widget, API key). Model tokens are the
prompt and completion tokens the model reported for the month's answers. Both are counted from the
daily rollup that every turn updates (analytics.quotas registers the counters) and checked before a
turn starts, without a lock: turns already in flight when the limit is reached still finish, so a
month can end a few turns over its limit, never more.
"""

from __future__ import annotations

from typing import Any

from tenants.quotas import quota_enforce


def messages_quota_enforce(*, org: Any) -> None:
    """Refuse a question when the org's messages this month are spent (MonthlyQuotaExceeded, 429)."""
    quota_enforce(org=org, name="messages_per_month")


def tokens_quota_enforce(*, org: Any) -> None:
    """Refuse to call the model when the org's model tokens this month are spent (429)."""
    quota_enforce(org=org, name="tokens_per_month")
