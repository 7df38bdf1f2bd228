"""The one answer to "which IP is this client?", shared by the rate limits (chat), the password
lockout (accounts) and the request log (config): a request helper with no app above it to import."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings


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
