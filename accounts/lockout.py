"""Password sign-in throttling with django-axes: what it counts and how the API says "locked out".

django-axes guards every call of ``django.contrib.auth.authenticate()`` (the admin login form and
DRF's HTTP Basic authentication both go through it): failed attempts are recorded per client
address and account, and after ``AXES_FAILURE_LIMIT`` failures that pair is refused for
``AXES_COOLOFF_TIME``. ``AxesMiddleware`` answers a locked-out admin login with ``lockout_response``
(429, Retry-After). DRF wraps
the request, so the middleware never sees the flag on an API request; the ``user_locked_out``
receiver below answers those with a JSON 429 instead (the integration axes documents for DRF).
"""

from __future__ import annotations

import math
from typing import Any

from django.dispatch import receiver
from django.http import HttpResponse
from rest_framework import exceptions
from rest_framework.request import Request

from tenants.client_ip import client_ip
from tenants.emails import canonical_email_or_none


class PasswordLockedOut(exceptions.Throttled):
    default_code = "locked_out"


def lockout_username(request: Any, credentials: dict[str, Any] | None) -> str | None:
    """The account an attempt was for (``AXES_USERNAME_CALLABLE``), canonical so that ``Ada@X.com``
    and ``ada@x.com`` count as one. DRF Basic passes ``email``; the admin form posts ``username``."""
    raw = None
    if credentials:
        raw = credentials.get("email") or credentials.get("username")
    if raw is None:
        post = getattr(request, "POST", None) or {}
        raw = post.get("username") or post.get("email")
    if not raw:
        return None
    # An address that cannot be canonical is still counted, under what was typed (bounded).
    return canonical_email_or_none(str(raw)) or str(raw)[:254]


def lockout_client_ip(request: Any) -> str | None:
    """``AXES_CLIENT_IP_CALLABLE``: the address the rate limits trust (``tenants.client_ip``),
    or None when the request has none — axes stores it in an IP-address column, where a placeholder
    such as "unknown" is an error on PostgreSQL (e.g. ``force_login`` builds a request without one)."""
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_ipv46_address

    address = client_ip(request)
    try:
        validate_ipv46_address(address)
    except ValidationError:
        return None
    return address


def _retry_after_s(request: Any) -> int | None:
    from axes.helpers import get_cool_off

    cool_off = get_cool_off(request)
    return math.ceil(cool_off.total_seconds()) if cool_off else None


def lockout_response(request: Any, original_response: Any = None, credentials: Any = None) -> HttpResponse:
    """``AXES_LOCKOUT_CALLABLE``: the admin login's answer to a locked-out client."""
    from django.conf import settings

    response = HttpResponse(
        settings.AXES_COOLOFF_MESSAGE, status=429, content_type="text/plain; charset=utf-8"
    )
    wait = _retry_after_s(request)
    if wait:
        response["Retry-After"] = str(wait)
    return response


def _on_locked_out(sender: Any, request: Any = None, **kwargs: Any) -> None:
    if not isinstance(request, Request):
        return  # a plain Django view (the admin login): AxesMiddleware renders the response
    wait = _retry_after_s(request)
    minutes = f" in {math.ceil(wait / 60)} minutes" if wait else " later"
    raise PasswordLockedOut(
        wait=wait,
        detail=(
            f"Too many failed sign-in attempts for this account from your address; try again{minutes}, "
            "or ask an operator to unlock it (admin → Axes → Access attempts)."
        ),
    )


def connect() -> None:
    """Connect the DRF receiver (called from AppConfig.ready; axes imports models)."""
    from axes.signals import user_locked_out

    receiver(user_locked_out, dispatch_uid="accounts.lockout.drf")(_on_locked_out)
