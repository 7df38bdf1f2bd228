"""One structured log record per request, for CloudWatch Logs Insights.

`RequestLogMiddleware` emits a single record on the ``botwright.request`` logger after the response
is built, with these ``extra`` fields (``config.logging.JsonFormatter`` turns them into JSON keys):

    request_id         API Gateway's requestId on Lambda, else a safe incoming X-Request-Id, else uuid4 hex
    lambda_request_id  the Lambda invocation id (joins the record to Lambda's START/END/REPORT lines)
    client_request_id  a safe incoming X-Request-Id that was not used as request_id (Lambda only)
    method, path       path without the query string (query strings may carry visitor ids)
    route              the matched URL pattern, e.g. ``api/orgs/<uuid:org_id>/bots/`` (for grouping)
    status, latency_ms
    user               the user's id, never the email; absent when anonymous or never looked up
    org, bot           from the URL kwargs org_id / bot_id (or the public bot's public_id)
    client_ip          only when settings.REQUEST_LOG_CLIENT_IP is True (off by default: privacy)

It never reads the body, headers other than X-Request-Id, cookies or tokens. The chosen request id is
returned in the ``X-Request-Id`` response header so a user can quote it in a bug report.

Place it first in MIDDLEWARE: latency then covers the whole stack and the header is also set on
responses other middleware short-circuits (SSL redirects, CSRF failures).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty

logger = logging.getLogger("botwright.request")

REQUEST_ID_HEADER = "X-Request-Id"
# Bounded and free of quotes, spaces and newlines, so an incoming id cannot forge log lines or
# smuggle data into the response header; UUIDs (with or without dashes) and ULIDs fit.
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{7,127}")
_PUBLIC_ID_MAX = 64


def safe_request_id(value: str | None) -> str | None:
    """Return `value` if it is an acceptable request id, else None."""
    if value and SAFE_REQUEST_ID.fullmatch(value):
        return value
    return None


def _aws_request_ids(meta: dict[str, Any]) -> tuple[str | None, str | None]:
    """(API Gateway requestId, Lambda aws_request_id) from what Zappa puts into the WSGI environ.

    Zappa's handler stores the raw event under ``lambda.event`` and the Lambda context object under
    ``lambda.context`` (REST API v1 and HTTP API v2 events both carry ``requestContext.requestId``).
    """
    event = meta.get("lambda.event")
    gateway_id = None
    if isinstance(event, dict):
        request_context = event.get("requestContext")
        if isinstance(request_context, dict):
            gateway_id = request_context.get("requestId")
    lambda_id = getattr(meta.get("lambda.context"), "aws_request_id", None)
    return (
        gateway_id if isinstance(gateway_id, str) and gateway_id else None,
        lambda_id if isinstance(lambda_id, str) and lambda_id else None,
    )


def _user_id(request: HttpRequest) -> str | None:
    user = getattr(request, "user", None)
    # AuthenticationMiddleware's lazy user costs a session query when first touched; a request
    # whose view never looked at the user is not worth that query just for a log line.
    if user is None or (isinstance(user, SimpleLazyObject) and user._wrapped is empty):
        return None
    if not getattr(user, "is_authenticated", False):
        return None
    return str(user.pk)


class RequestLogMiddleware:
    """Logs one record per request and sets the X-Request-Id response header (see module docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.log_client_ip = bool(getattr(settings, "REQUEST_LOG_CLIENT_IP", False))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        incoming = safe_request_id(request.META.get("HTTP_X_REQUEST_ID"))
        gateway_id, lambda_id = _aws_request_ids(request.META)
        # API Gateway's id wins: it is the one AWS shows in its own logs and in x-amzn-RequestId.
        request_id = gateway_id or lambda_id or incoming or uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]  # for views that want to quote it

        response = self.get_response(request)

        response[REQUEST_ID_HEADER] = request_id
        fields: dict[str, Any] = {
            "request_id": request_id,
            "method": request.method,
            # path_info: without the query string and without the API Gateway stage prefix.
            "path": request.path_info,
            "status": response.status_code,
            "latency_ms": round((time.perf_counter() - started) * 1000, 1),
        }
        if lambda_id and lambda_id != request_id:
            fields["lambda_request_id"] = lambda_id
        if incoming and incoming != request_id:
            fields["client_request_id"] = incoming
        match = getattr(request, "resolver_match", None)
        if match is not None:
            fields["route"] = match.route
            kwargs = match.kwargs
            if "org_id" in kwargs:
                fields["org"] = str(kwargs["org_id"])
            if "bot_id" in kwargs:
                fields["bot"] = str(kwargs["bot_id"])
            elif "public_id" in kwargs:
                fields["bot"] = str(kwargs["public_id"])[:_PUBLIC_ID_MAX]
        user_id = _user_id(request)
        if user_id is not None:
            fields["user"] = user_id
        if self.log_client_ip:
            fields["client_ip"] = request.META.get("REMOTE_ADDR")

        level = logging.ERROR if response.status_code >= 500 else logging.INFO
        logger.log(
            level,
            "%s %s %s %.1fms",
            fields["method"],
            fields["path"],
            fields["status"],
            fields["latency_ms"],
            extra=fields,
        )
        return response
