"""Request-wide middleware: one structured log record per request, and request-body limits.

## Request log


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
    client_ip          only when settings.REQUEST_LOG_CLIENT_IP is True (off by default: privacy);
                       the address tenants.client_ip trusts (TRUSTED_PROXY_COUNT)

It never reads the body, headers other than X-Request-Id, cookies or tokens. The chosen request id is
returned in the ``X-Request-Id`` response header so a user can quote it in a bug report.

Place it first in MIDDLEWARE: latency then covers the whole stack and the header is also set on
responses other middleware short-circuits (SSL redirects, CSRF failures).

## Body limits

`RequestBodyLimitMiddleware` refuses, with 413 and before anything reads it, a body larger than its
route accepts: ``settings.REQUEST_MAX_BODY_BYTES`` (small: JSON and forms) unless the view class
declares more with a ``request_body_limit()`` static method (the document upload route). A declared
Content-Length is judged without reading a byte; a chunked body without one (a server that sets
``wsgi.input_terminated``) is read and counted up to the limit, then cut. `BodyLimitUploadHandler`,
the first upload handler, stops Django's multipart parser as soon as more than the route's limit
has arrived, so no oversized file is ever spooled to disk whole.
"""

from __future__ import annotations

import logging
import re
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.functional import SimpleLazyObject, empty

from tenants.client_ip import client_ip
from tenants.errors import TooLarge

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
        self.log_client_ip = settings.REQUEST_LOG_CLIENT_IP

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        incoming = safe_request_id(request.META.get("HTTP_X_REQUEST_ID"))
        gateway_id, lambda_id = _aws_request_ids(request.META)
        # API Gateway's id wins: it is the one AWS shows in its own logs and in x-amzn-RequestId.
        request_id = gateway_id or lambda_id or incoming or uuid.uuid4().hex
        request.request_id = request_id  # for views that want to quote it

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
            fields["client_ip"] = client_ip(request)

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


# --- Body limits -----------------------------------------------------------------------------

_READ_CHUNK = 64 * 1024


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def body_limit_for(view_func: Callable[..., Any]) -> int:
    """The most bytes a request to this view may carry (see the module docstring)."""
    view_class = getattr(view_func, "view_class", None) or getattr(view_func, "cls", None)
    declared = getattr(view_class, "request_body_limit", None)
    return int(declared()) if callable(declared) else settings.REQUEST_MAX_BODY_BYTES


def _declared_length(meta: dict[str, Any]) -> int:
    # Django reads nothing for a missing or malformed Content-Length (LimitedStream of 0 bytes).
    try:
        return max(0, int(meta.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def _too_large(*, limit: int, size: int | None) -> JsonResponse:
    told = f"The request body is {_megabytes(size)}; " if size is not None else "The request body is larger: "
    detail = f"{told}this endpoint accepts at most {_megabytes(limit)}. Send a smaller body."
    return JsonResponse({"detail": detail, "code": "too_large", "limit_bytes": limit}, status=413)


def _buffer_chunked(request: HttpRequest, limit: int) -> bool:
    """Read a length-less (chunked) body up to `limit`; False as soon as it goes past.

    Within the limit the body is handed to Django as if it had a Content-Length, so parsers see it
    (Django on its own reads nothing without one).
    """
    source = request.META["wsgi.input"]
    # Not a context manager: the buffer becomes the request's stream and lives as long as it does.
    buffer = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)  # noqa: SIM115
    total = 0
    while True:
        chunk = source.read(min(_READ_CHUNK, limit + 1 - total))
        if not chunk:
            break
        total += len(chunk)
        if total > limit:
            buffer.close()
            return False
        buffer.write(chunk)
    buffer.seek(0)
    request.META["CONTENT_LENGTH"] = str(total)
    request._stream = LimitedStream(buffer, total)
    return True


class RequestBodyLimitMiddleware:
    """Refuses an oversized request body with 413 before reading it (see the module docstring).

    Runs in ``process_view``, where the route is known; it must come before CsrfViewMiddleware,
    whose ``process_view`` reads form bodies. A view class may add headers to the refusal (the
    public channel adds its per-bot CORS headers so a widget can read the 413) through a
    ``refusal_headers(request, view_kwargs)`` class method.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        limit = body_limit_for(view_func)
        request.body_limit = limit  # read by BodyLimitUploadHandler
        declared = _declared_length(request.META)
        response = None
        if declared > limit:
            response = _too_large(limit=limit, size=declared)
        elif (
            not declared
            and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
            and request.META.get("wsgi.input_terminated")
            and not _buffer_chunked(request, limit)
        ):
            response = _too_large(limit=limit, size=None)
        if response is not None:
            view_class = getattr(view_func, "view_class", None) or getattr(view_func, "cls", None)
            add_headers = getattr(view_class, "refusal_headers", None)
            if add_headers is not None:
                for name, value in add_headers(request, view_kwargs).items():
                    response[name] = value
        return response


class BodyLimitUploadHandler(FileUploadHandler):
    """The first upload handler: counts the file bytes the multipart parser hands over and stops
    the upload (413) once more than the route's limit has arrived, before later handlers spool the
    rest to memory or disk."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.limit = getattr(request, "body_limit", None) or settings.REQUEST_MAX_BODY_BYTES
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            raise TooLarge(
                f"The upload is larger than this endpoint accepts ({_megabytes(self.limit)}). "
                "Send a smaller file.",
                extra={"limit_bytes": self.limit},
            )
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler builds the file object
