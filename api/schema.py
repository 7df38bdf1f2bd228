"""How the OpenAPI schema documents what every endpoint answers, from the serializers that build it.

- ``paginated(Serializer)``: a list endpoint's 200, ``{count, next, previous, results: [...]}``,
  exactly what ``api.pagination.paginate`` sends.
- ``error_responses(*statuses)``: error statuses in the one error shape (``ErrorSerializer``).
- ``AutoSchema`` (the project's DEFAULT_SCHEMA_CLASS) adds what applies to every operation by
  construction, so no view can forget it: 400 (unknown query parameters, invalid bodies), 401 where
  a credential is needed, 403 on org-scoped and public routes, 404 where the path names an object,
  413/415 on bodies, ``Retry-After`` on every 429, and the view's ``query_serializer`` as the
  documented query parameters (with ``page``/``page_size`` on paginated lists).
"""

from __future__ import annotations

import functools
from typing import Any

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from .serializers import ErrorSerializer, PageQuerySerializer

ERROR_MEANINGS = {
    400: "Invalid input: `detail` says what, `errors` lists the fields (unknown body fields and unknown "
    "query parameters included).",
    401: "Missing, unknown or revoked credentials.",
    402: "A quota of the organisation is used up: `quota`, `used`, `limit`, `resets_at`.",
    403: "Not allowed: role too small, origin not allowed, or the bot is not active.",
    404: "No such object (or page), or one you may not see.",
    409: "Conflicts with the current state.",
    413: "The request body is larger than this endpoint accepts (refused before it is read).",
    415: "Unsupported media type: send what the request body documents.",
    429: "Rate limited (or, on signed-in routes, locked out after repeated wrong passwords; on chat, the "
    "organisation's monthly messages or model tokens are spent: `code` quota_exceeded with `quota`, `used`, "
    "`limit`, `resets_at`): wait `Retry-After` seconds.",
    503: "A dependency could not serve now; try again later.",
}
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class PageSerializer(serializers.Serializer):
    """api.pagination's page; ``paginated()`` names the results."""

    count = serializers.IntegerField(help_text="Results in all pages.")
    next = serializers.URLField(allow_null=True, help_text="The next page's URL, null on the last.")
    previous = serializers.URLField(allow_null=True, help_text="The previous page's URL, null on the first.")


@functools.cache
def paginated(serializer_class: type[serializers.Serializer]) -> type[PageSerializer]:
    """The page serializer (component ``<Name>Page``) of a list of ``serializer_class``."""
    name = serializer_class.__name__.removesuffix("Serializer") + "PageSerializer"
    return type(
        name,
        (PageSerializer,),
        {"results": serializer_class(many=True), "__module__": serializer_class.__module__},
    )


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """OpenAPI entries for error statuses an endpoint answers, in the one error shape."""
    return {
        code: OpenApiResponse(response=ErrorSerializer, description=ERROR_MEANINGS[code]) for code in statuses
    }


def default_error_statuses(*, view: Any, method: str, path: str, has_request_body: bool) -> list[int]:
    """The error statuses every operation of this kind can answer (see the module docstring)."""
    statuses = [400]
    anonymous = not view.authentication_classes or any(
        permission is AllowAny for permission in view.permission_classes
    )
    if not anonymous:
        # Wrong passwords lock an account out for a while (django-axes): 429 on any signed-in route.
        statuses += [401, 429]
    if getattr(view, "may_forbid", False):
        statuses.append(403)
    query = getattr(view, "query_serializer", None)
    paginated_list = method == "GET" and isinstance(query, type) and issubclass(query, PageQuerySerializer)
    if "{" in path or paginated_list:  # a page past the last one is a 404 too
        statuses.append(404)
    if method in BODY_METHODS:
        statuses.append(413)
        if has_request_body:
            statuses.append(415)
    return statuses


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's AutoSchema plus the API's rules for errors and query parameters."""

    def is_excluded(self) -> bool:
        # Only the slashed form of a route is the API; the slashless aliases in config.urls are not.
        return not self.path.endswith("/") or super().is_excluded()

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        query = getattr(self.view, "query_serializer", None)
        if query is not None and self.method in ("GET", "HEAD"):
            parameters.append(query)
        return parameters

    def get_operation_id(self) -> str:
        operation_id = super().get_operation_id()
        # A page is one object, so drf-spectacular names the operation "retrieve"; it lists.
        if self.method == "GET" and operation_id.endswith("_retrieve") and self._returns_page():
            operation_id = operation_id.removesuffix("_retrieve") + "_list"
        return operation_id

    def _returns_page(self) -> bool:
        responses = self.get_response_serializers()
        if isinstance(responses, dict):
            responses = responses.get(200)
        return isinstance(responses, type) and issubclass(responses, PageSerializer)

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        has_body = self.method in BODY_METHODS and self.get_request_serializer() is not None
        defaults = default_error_statuses(
            view=self.view, method=self.method, path=self.path, has_request_body=has_body
        )
        for code in defaults:
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(
                    error_responses(code)[code], str(code), direction=direction
                )
        return dict(sorted(responses.items()))

    def _get_response_headers_for_code(self, status_code: str, direction: str = "response") -> dict[str, Any]:
        headers = super()._get_response_headers_for_code(status_code, direction)
        if str(status_code) == "429" and "Retry-After" not in headers:
            headers["Retry-After"] = {"schema": {"type": "integer"}, "description": "Seconds to wait."}
        return headers
