"""CORS for the public channel, answered per bot from its `allowed_origins` (pure; no Django).

django-cors-headers serves the builder's fixed origins on the rest of the API (``CORS_URLS_REGEX``
leaves ``/api/public/`` out); a website widget's origin belongs to one bot, so the public views
decide here. An origin is allowed when its scheme, host and port equal one of the bot's allowed
origins (both in the canonical form ``bots.origins.normalize_origin`` gives); the response echoes
the request's own Origin, never ``*``, and every public response varies on Origin.
"""

from __future__ import annotations

from collections.abc import Iterable

from bots.origins import normalize_origin

VISITOR_HEADER = "X-Visitor-Id"
# What a widget sends beyond the CORS-safelisted headers, and what it must be able to read back.
ALLOWED_REQUEST_HEADERS = ("Content-Type", VISITOR_HEADER)
EXPOSED_RESPONSE_HEADERS = (VISITOR_HEADER, "Retry-After", "X-Request-Id")
PREFLIGHT_MAX_AGE_S = 600


def origin_allowed(origin: str, allowed_origins: Iterable[str] | None) -> bool:
    """True when `origin` (a request's Origin header) is one of `allowed_origins` exactly."""
    if not origin:
        return False
    try:
        canonical = normalize_origin(origin)
    except ValueError:  # "null", a path, plain http on a public host: never allowed
        return False
    return canonical in (allowed_origins or ())


def allow_headers(origin: str) -> dict[str, str]:
    """Headers for a request from an allowed `origin` (actual responses and preflights)."""
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": ", ".join(EXPOSED_RESPONSE_HEADERS),
    }


def preflight_headers(methods: Iterable[str]) -> dict[str, str]:
    """The extra headers of a successful preflight for a route serving `methods`."""
    return {
        "Access-Control-Allow-Methods": ", ".join(methods),
        "Access-Control-Allow-Headers": ", ".join(ALLOWED_REQUEST_HEADERS),
        "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_S),
    }
