"""Fixed-window rate limits on the shared Django cache (the database cache on Lambda, so all
containers count together). Rates are strings like "20/minute"."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.cache import cache

_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


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
    cache.add(cache_key, 0, timeout=parsed.period_s + 1)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # evicted between add and incr
        cache.set(cache_key, 1, timeout=parsed.period_s + 1)
        count = 1
    if count > parsed.limit:
        return max(1, int((window + 1) * parsed.period_s - now + 0.999))
    return 0
