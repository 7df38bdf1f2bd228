"""Allowed-origin parsing for a bot's public channel (pure; no Django)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_HOST = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)
_LOCAL_HOSTS = {"localhost", "127.0.0.1"}


def normalize_origin(value: str) -> str:
    """Return the canonical `scheme://host[:port]` or raise ValueError saying what is wrong.

    Only https origins are accepted, except http on localhost for local development. An origin
    has no path, query, fragment, credentials or wildcard.
    """
    raw = (value or "").strip()
    if not raw:
        raise ValueError("An origin cannot be empty.")
    if "*" in raw:
        raise ValueError(f"{raw!r}: wildcards are not allowed; list each origin.")
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise ValueError(f"{raw!r} is not a valid origin.") from None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise ValueError(f"{raw!r} must look like https://example.com.")
    if parts.scheme == "http" and host not in _LOCAL_HOSTS:
        raise ValueError(f"{raw!r}: only https origins are allowed (http only for localhost).")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{raw!r}: an origin has no path, query or credentials (e.g. https://example.com).")
    if host not in _LOCAL_HOSTS and not _HOST.match(host):
        raise ValueError(f"{raw!r}: {host!r} is not a valid host name.")
    default_port = 443 if parts.scheme == "https" else 80
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default_port else "")


def normalize_origins(values: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        seen.setdefault(normalize_origin(value), None)
    return list(seen)
