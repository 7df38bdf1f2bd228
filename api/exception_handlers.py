"""The one error format of the API, and the edge where domain errors become HTTP.

Every error body is ``api.serializers.ErrorSerializer``: ``detail`` (always one string, for people),
``code`` (stable, for programs), ``errors`` (``{field: [messages]}``, validation only) and the
extra fields a domain error carries (``retry_after`` becomes the ``Retry-After`` header).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from tenants.errors import ApplicationError

NON_FIELD = "non_field_errors"


def _application_error_response(exc: ApplicationError) -> Response:
    body: dict[str, Any] = {"detail": exc.message, "code": exc.code, **exc.extra}
    if exc.field:
        body["errors"] = {exc.field: [exc.message]}
    headers = {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(int(exc.retry_after))
    return Response(body, status=exc.http_status, headers=headers)


def _flatten(detail: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """(key path, message) pairs of DRF's nested error detail (lists of messages, dicts by field
    or list index)."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            yield from _flatten(value, (*path, str(key)))
    elif isinstance(detail, list):
        for item in detail:
            yield from _flatten(item, path)
    else:
        yield path, str(detail)


def validation_error_body(detail: Any) -> dict[str, Any]:
    """``{"detail": "<first problem>", "code": "invalid", "errors": {field: [messages]}}``.

    ``errors`` is keyed by the body's own fields (a form marks those); an error inside a field (an
    item of a list, a nested object) names where in its message: ``"0: Not a valid UUID."``.
    """
    errors: dict[str, list[str]] = {}
    for path, message in _flatten(detail):
        field, inner = (path[0], path[1:]) if path else (NON_FIELD, ())
        errors.setdefault(field, []).append(f"{'.'.join(inner)}: {message}" if inner else message)
    if not errors:
        errors[NON_FIELD] = ["Invalid input."]
    field, messages = next(iter(errors.items()))
    first = messages[0] if field == NON_FIELD else f"{field}: {messages[0]}"
    more = sum(len(m) for m in errors.values()) - 1
    summary = first if not more else f"{first} (and {more} more: see `errors`)"
    return {"detail": summary, "code": "invalid", "errors": errors}


def _plain_error_body(exc: exceptions.APIException) -> dict[str, Any]:
    detail = exc.detail
    code = getattr(detail, "code", None) or exc.default_code
    if isinstance(detail, (list, dict)):  # a message given as a list: one string, never a list
        messages = [message for _, message in _flatten(detail)]
        detail = " ".join(messages) or str(exc.default_detail)
    return {"detail": str(detail), "code": str(code)}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus domain errors and model validation errors mapped to their HTTP status,
    every body in the one error shape."""
    if isinstance(exc, ApplicationError):
        return _application_error_response(exc)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD: exc.messages}
        exc = exceptions.ValidationError(detail)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException):
        if isinstance(exc, exceptions.ValidationError):
            response.data = validation_error_body(exc.detail)
        else:
            response.data = _plain_error_body(exc)
    return response
