"""Fixed-window rate limits on the shared Django cache (the database cache on Lambda, so all
containers count together), and the one answer to "which IP is this client?".

Rates are strings like "20/minute". The public channel checks its limits in a fixed order — the
visitor's own token, then the client IP, then the bot-wide budget — and stops at the first refusal,
so a client that is already throttled never spends the budget every other visitor of the bot shares.
"""

from __future__ import annotations

import ipaddress
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
    cache.add(cache_key, 0, timeout=parsed.period_s + 1)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # evicted between add and incr
        cache.set(cache_key, 1, timeout=parsed.period_s + 1)
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


# --- Client IP -------------------------------------------------------------------------------


def _gateway_source_ip(meta: dict[str, Any]) -> str | None:
    """API Gateway's view of the caller, from the raw event Zappa keeps in the WSGI environ.

    Zappa stores the Lambda event under ``lambda.event``; REST APIs (payload v1) carry the TCP peer
    in ``requestContext.identity.sourceIp``, HTTP APIs (v2) in ``requestContext.http.sourceIp``.
    Zappa's own REMOTE_ADDR is not used: it is taken from X-Forwarded-For, which the client writes.
    """
    event = meta.get("lambda.event")
    if not isinstance(event, dict):
        return None
    context = event.get("requestContext")
    if not isinstance(context, dict):
        return None
    for part in ("identity", "http"):
        section = context.get(part)
        if isinstance(section, dict) and isinstance(section.get("sourceIp"), str):
            return section["sourceIp"]
    return None


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: Any) -> str:
    """The client's address, trusting X-Forwarded-For only as far as TRUSTED_PROXY_COUNT says.

    The peer is API Gateway's source IP on Lambda, else REMOTE_ADDR. With TRUSTED_PROXY_COUNT = N
    > 0, N proxies we run each appended the address they saw to X-Forwarded-For, so the N-th entry
    from the right is the one the outermost of them saw; anything left of it was written by the
    client and is ignored. A header with fewer entries than that (a request that bypassed a proxy)
    falls back to the peer.
    """
    meta = request.META
    peer = _gateway_source_ip(meta) or meta.get("REMOTE_ADDR") or ""
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted > 0:
        entries = [e for e in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if e.strip()]
        if len(entries) >= trusted:
            forwarded = _valid_ip(entries[-trusted])
            if forwarded:
                return forwarded
    return _valid_ip(peer) or peer or "unknown"
