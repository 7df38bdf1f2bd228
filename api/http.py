"""JSON answers for /api/ requests that no API view handles: unknown paths, a missing trailing slash,
and Django's own 404 and 500 pages (``handler404``/``handler500`` in config.urls).

Everything under /api/ answers the one error shape; every other path keeps Django's HTML pages.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseRedirectBase
from django.urls import Resolver404, resolve
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

API_PREFIX = "/api/"


def is_api_path(path: str) -> bool:
    return path == API_PREFIX.rstrip("/") or path.startswith(API_PREFIX)


def _error(status: int, detail: str, code: str) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code}, status=status)


class _JsonPermanentRedirect(HttpResponseRedirectBase):
    status_code = 308  # unlike 301, clients resend the same method and body to the new URL


def _with_slash_resolves(path: str) -> bool:
    try:
        match = resolve(path + "/")
    except Resolver404:
        return False
    return match.func is not api_not_found


@csrf_exempt
def api_not_found(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    """The last /api/ route: a path without its trailing slash is redirected with 308 (which keeps
    the method and body: a client resends a POST as a POST), anything else is a JSON 404."""
    path = request.path  # with the script prefix (a Lambda stage such as /production) for the Location
    if not path.endswith("/") and _with_slash_resolves(request.path_info):
        location = path + "/"
        if request.META.get("QUERY_STRING"):
            location += "?" + request.META["QUERY_STRING"]
        body = {"detail": f"API routes end with a slash: use {location}.", "code": "trailing_slash"}
        return _JsonPermanentRedirect(location, content=json.dumps(body), content_type="application/json")
    return _error(404, f"No API route at {path}. The routes are listed at /api/docs/.", "not_found")


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request.path_info):
        return _error(404, f"No API route at {request.path}.", "not_found")
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if is_api_path(request.path_info):
        return _error(
            500,
            "Something went wrong on our side and it has been logged. Try again; if it keeps "
            "happening, tell the operator.",
            "server_error",
        )
    return defaults.server_error(request)
