"""Fixed-window rate limits counted in the database (`chat.RateCounter`), so every process and
Lambda container counts together. The client's address comes from ``tenants.client_ip``.

Rates are strings like "20/minute". The public channel checks its limits in a fixed order — the
visitor's own token, then the client IP, then the bot-wide budget — and stops at the first refusal,
so a client that is already throttled never spends the budget every other visitor of the bot shares.

Each check is ONE statement (`_count`): an upsert that creates the window's counter or adds one to
it and returns the new count. The database does the increment under the row's lock, so concurrent
requests never lose a hit, and nothing is evicted while its window is open (the database cache this
replaced culled a third of its entries, live counters included, past 300). Counters of closed
windows are deleted at most once every PRUNE_INTERVAL_S per process.

Transactions: callers check before they open one (no view runs in ATOMIC_REQUESTS), so in
autocommit the hit is committed at once and counts even if the request fails afterwards — a refused
or failing request still happened. Called inside ``transaction.atomic`` the upsert joins that
transaction: rolled back with it, and on PostgreSQL the counter's row stays locked until it ends,
so other requests on the same key wait for it. Check before opening the transaction.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection

from tenants.errors import LimitExceeded

from .models import RateCounter

_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
THROTTLED_MESSAGE = "Too many messages; please wait a moment and try again."
# Closed windows are deleted at most this often per process (one indexed DELETE).
PRUNE_INTERVAL_S = 60.0
_KEY_MAX = RateCounter._meta.get_field("key").max_length
_next_prune = 0.0


@dataclass(frozen=True)
class Rate:
    limit: int
    period_s: int


def parse_rate(rate: str) -> Rate:
    try:
        count, period = rate.split("/")
        return Rate(int(count), _PERIODS[period.strip().rstrip("s")])
    except (ValueError, KeyError):
        raise ValueError(f"A rate looks like '20/minute' (second, minute, hour, day), not {rate!r}.")


# PostgreSQL and SQLite >= 3.35 both take this upsert (`window` is quoted: a reserved word in
# PostgreSQL). The window's first hit inserts count 1; every later one adds 1 to the stored row under
# its lock; RETURNING hands back the count this hit made. Parameters are bound, never formatted in.
_UPSERT = (
    'INSERT INTO "chat_ratecounter" ("key", "window", "count", "expires_at") VALUES (%s, %s, 1, %s) '
    'ON CONFLICT ("key", "window") DO UPDATE SET "count" = "chat_ratecounter"."count" + 1 '
    'RETURNING "count"'
)


def _count(key: str, window: int, expires_at: datetime) -> int:
    """Add one hit to (key, window) and return the window's count, in one statement."""
    if len(key) > _KEY_MAX:  # keep long keys distinct without overflowing the column
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, [key, window, connection.ops.adapt_datetimefield_value(expires_at)])
        return cursor.fetchone()[0]


def prune(*, now: float | None = None) -> int:
    """Delete the counters of windows that have closed; returns how many."""
    now = time.time() if now is None else now
    deleted, _ = RateCounter.objects.filter(expires_at__lt=datetime.fromtimestamp(now, tz=UTC)).delete()
    return deleted


def _prune_if_due(now: float) -> None:
    global _next_prune
    if now >= _next_prune:
        _next_prune = now + PRUNE_INTERVAL_S
        prune(now=now)


def hit(key: str, rate: str, *, now: float | None = None) -> int:
    """Count one request against `key`; returns 0 if allowed, else seconds until the window resets."""
    parsed = parse_rate(rate)
    now = time.time() if now is None else now
    _prune_if_due(now)
    window = int(now // parsed.period_s)
    window_end = (window + 1) * parsed.period_s
    count = _count(key, window, datetime.fromtimestamp(window_end, tz=UTC))
    if count > parsed.limit:
        return max(1, int(window_end - now + 0.999))
    return 0


def check(key: str, rate: str, *, limit: str) -> None:
    """Count one request against `key`; raise LimitExceeded (429 with Retry-After) past `rate`.

    `limit` names the limit that refused (visitor, ip, bot, member, api_key) so a client can tell a
    personal throttle from a bot that is busy for everyone.
    """
    retry_after = hit(key, rate)
    if retry_after:
        raise LimitExceeded(THROTTLED_MESSAGE, retry_after=retry_after, extra={"limit": limit})


def public_chat_check(*, bot_id: Any, visitor_id: str, ip: str) -> None:
    """The public channel's limits, cheapest-to-blame first; only a request that passes the visitor
    and IP limits counts against the bot-wide budget.

    The per-IP ceiling (PUBLIC_CHAT_RATE_IP) is looser than the per-visitor one so that an office
    or school behind one address can chat, while a client minting a new visitor token per request
    is still held to it.
    """
    check(f"visitor:{bot_id}:{visitor_id}", settings.PUBLIC_CHAT_RATE_VISITOR, limit="visitor")
    check(f"ip:{bot_id}:{ip}", settings.PUBLIC_CHAT_RATE_IP, limit="ip")
    check(f"bot:{bot_id}", settings.PUBLIC_CHAT_RATE_BOT, limit="bot")
