"""Fixed-window rate limits on the shared Django cache (the database cache on Lambda, so all
containers count together). The client's address comes from ``tenants.client_ip``.

Rates are strings like "20/minute". The public channel checks its limits in a fixed order — the
visitor's own token, then the client IP, then the bot-wide budget — and stops at the first refusal,
so a client that is already throttled never spends the budget every other visitor of the bot shares.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache

from tenants.errors import LimitExceeded

_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
THROTTLED_MESSAGE = "Too many messages; please wait a moment and try again."


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


def hit(key: str, rate: str, *, now: float | None = None) -> int:
    """Count one request against `key`; returns 0 if allowed, else seconds until the window resets."""
    parsed = parse_rate(rate)
    now = time.time() if now is None else now
    window = int(now // parsed.period_s)
    cache_key = f"rl:{key}:{window}"
    timeout = parsed.period_s + 1
    # Increment first and create the counter only when the window has none: on the database cache
    # every call is a transaction of several queries, and all but a window's first request find the
    # counter there (the load test measured add-then-incr as two thirds of a public chat's queries).
    try:
        count = cache.incr(cache_key)
    except ValueError:  # the window's first request (or the counter was culled)
        if cache.add(cache_key, 1, timeout=timeout):
            count = 1
        else:  # another request created it meanwhile
            try:
                count = cache.incr(cache_key)
            except ValueError:  # ...and it was evicted again at once
                cache.set(cache_key, 1, timeout=timeout)
                count = 1
    if count > parsed.limit:
        return max(1, int((window + 1) * parsed.period_s - now + 0.999))
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
