"""How a bot appears on other websites: the embed snippet and its avatar's public URL.

URLs are absolute (built from the request's host, which ALLOWED_HOSTS vouches for) because both are
used on a customer's page, another origin. Without a request they fall back to site-relative paths.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.html import format_html

from .models import Bot


def _absolute(request: Any, path: str, base_url: str = "") -> str:
    if base_url:
        return base_url.rstrip("/") + path
    return request.build_absolute_uri(path) if request is not None else path


def widget_script_url(*, request: Any = None, base_url: str = "") -> str:
    """The stable widget URL (it redirects to the current versioned file) on `base_url`
    (``https://host``) or the request's host."""
    return _absolute(request, reverse("widget-script"), base_url)


def embed_snippet(*, bot: Bot, request: Any = None, base_url: str = "") -> str:
    """The one tag a site owner pastes before ``</body>`` to put `bot` on their pages."""
    src = widget_script_url(request=request, base_url=base_url)
    return str(format_html('<script src="{}" data-bot="{}" async></script>', src, bot.public_id))


def avatar_url(*, bot: Bot, request: Any = None) -> str | None:
    """The avatar's public URL, versioned by its bytes (cacheable forever), or None without one."""
    if not bot.avatar_key:
        return None
    path = reverse("public-bot-avatar", args=[bot.public_id]) + f"?v={bot.avatar_version}"
    return _absolute(request, path)
