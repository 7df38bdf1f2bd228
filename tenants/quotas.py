"""Per-organisation quotas: what an org may hold (bots, documents, storage, chunks) and spend per
calendar month in UTC (messages, model tokens).

The limit of a quota is the org's override (``Organization.quota_<name>``) or, when that is empty,
``settings.QUOTA_DEFAULTS[name]``; **0 means unlimited** in both places. The rooms that own the
counted rows register a counter for each quota (``register_counter``, from their ``AppConfig.ready``),
so this module — at the bottom of the apps — reads usage without importing them.

Services enforce a quota with ``quota_enforce`` inside the transaction that writes the new rows,
after ``org_lock_for_quota`` has locked the org's row: two writers racing for the last slot then
take turns, and the second one counts the first one's row.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings

from .errors import MonthlyQuotaExceeded, QuotaExceeded
from .models import Organization


@dataclass(frozen=True)
class Quota:
    name: str
    noun: str  # what is counted, plural: "documents"
    monthly: bool = False
    in_bytes: bool = False
    advice: str = "delete some or ask an administrator to raise the limit."


QUOTAS: dict[str, Quota] = {
    q.name: q
    for q in (
        Quota("bots", "bots"),
        Quota("documents", "documents"),
        Quota(
            "storage_bytes",
            "of storage",
            in_bytes=True,
            advice="delete some documents or ask an administrator to raise the limit.",
        ),
        Quota(
            "chunks",
            "passages (chunks)",
            advice="delete some documents or ask an administrator to raise the limit.",
        ),
        Quota(
            "messages_per_month",
            "messages",
            monthly=True,
            advice="ask an administrator to raise the limit to continue sooner.",
        ),
        Quota(
            "tokens_per_month",
            "model tokens",
            monthly=True,
            advice="ask an administrator to raise the limit to continue sooner.",
        ),
    )
}

# counter(*, org_id, since, until) -> int; since/until bound monthly quotas, None for the others.
Counter = Callable[..., int]
_counters: dict[str, Counter] = {}


def register_counter(name: str, counter: Counter) -> None:
    """Let the room that owns a quota's rows count them (called from its AppConfig.ready)."""
    if name not in QUOTAS:
        raise ValueError(f"Unknown quota {name!r}; the quotas are {', '.join(QUOTAS)}.")
    _counters[name] = counter


def utc_now() -> datetime:
    """The clock quotas read: the one seam tests move to cross a month boundary. (The system clock,
    not ``django.utils.timezone.now``, so a test that scripts the timestamps rows get is unaffected.)"""
    return datetime.now(UTC)


def month_window(now: datetime) -> tuple[datetime, datetime]:
    """The calendar month (UTC) containing `now`: its first instant and the next month's."""
    now = now.astimezone(UTC)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (start + timedelta(days=32)).replace(day=1)
    return start, following


def quota_limit(*, org: Organization, name: str) -> int | None:
    """The org's limit for `name`, or None when it is unlimited."""
    override = getattr(org, f"quota_{QUOTAS[name].name}")
    value = settings.QUOTA_DEFAULTS[name] if override is None else override
    return None if value == 0 else int(value)


def quota_used(*, org: Organization | Any, name: str, now: datetime | None = None) -> int:
    """What the org uses of `name` now (monthly quotas: this calendar month, UTC)."""
    quota = QUOTAS[name]
    since = until = None
    if quota.monthly:
        since, until = month_window(now or utc_now())
    org_id = getattr(org, "pk", org)
    return int(_counters[name](org_id=org_id, since=since, until=until) or 0)


@dataclass(frozen=True)
class QuotaUsage:
    name: str
    used: int
    limit: int | None  # None = unlimited
    resets_at: datetime | None  # monthly quotas: when the count starts again


def org_usage(*, org: Organization, now: datetime | None = None) -> list[QuotaUsage]:
    """Every quota of the org with its current use, in the order of QUOTAS (the usage endpoint, the admin)."""
    now = now or utc_now()
    resets_at = month_window(now)[1]
    return [
        QuotaUsage(
            name=name,
            used=quota_used(org=org, name=name, now=now),
            limit=quota_limit(org=org, name=name),
            resets_at=resets_at if quota.monthly else None,
        )
        for name, quota in QUOTAS.items()
    ]


def org_lock_for_quota(*, org_id: Any) -> Organization:
    """Lock the org's row until the enclosing transaction ends and return it fresh (current overrides).

    Every quota-checked write takes this lock before it counts, so concurrent writers of one org
    count one after the other. Must run inside ``transaction.atomic``.
    """
    return Organization.objects.select_for_update().get(pk=org_id)


def quota_enforce(
    *,
    org: Organization,
    name: str,
    adding: int = 1,
    now: datetime | None = None,
    used: int | None = None,
    what: str = "",
) -> None:
    """Raise QuotaExceeded (402) or MonthlyQuotaExceeded (429) if `adding` more would pass the limit.

    `used` skips the count when the caller has it (a re-index that replaces its own passages);
    `what` names the thing being added for the message ("this file", "this document").
    """
    limit = quota_limit(org=org, name=name)
    if limit is None:
        return
    now = now or utc_now()
    if used is None:
        used = quota_used(org=org, name=name, now=now)
    if used + adding > limit:
        raise quota_error(name=name, used=used, limit=limit, adding=adding, now=now, what=what)


def _amount(quota: Quota, n: int) -> str:
    if not quota.in_bytes:
        return f"{n:,}"
    for unit, size in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def quota_error(
    *, name: str, used: int, limit: int, adding: int = 1, now: datetime | None = None, what: str = ""
) -> QuotaExceeded:
    """The error for a refused operation: a sentence a person understands and the numbers behind it."""
    quota = QUOTAS[name]
    message = f"This organisation has used {_amount(quota, used)} of its {_amount(quota, limit)} {quota.noun}"
    resets_at = None
    if quota.monthly:
        resets_at = month_window(now or utc_now())[1]
        message += f" this month (the count resets on {resets_at:%Y-%m-%d} at 00:00 UTC)"
    if adding > 1 and used < limit:
        message += f", and {what or 'this'} needs {_amount(quota, adding)} more"
    message += f"; {quota.advice}"
    extra = {
        "quota": name,
        "used": used,
        "limit": limit,
        "resets_at": resets_at.isoformat().replace("+00:00", "Z") if resets_at else None,
    }
    if quota.monthly:
        wait = max(1, math.ceil((resets_at - (now or utc_now())).total_seconds()))
        return MonthlyQuotaExceeded(message, extra=extra, retry_after=wait)
    return QuotaExceeded(message, extra=extra)
