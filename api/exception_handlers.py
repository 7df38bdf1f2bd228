"""The one error format of the API, and the edge where domain errors become HTTP."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from tenants.errors import ApplicationError


def _application_error_response(exc: ApplicationError) -> Response:
    body: dict[str, Any] = {"detail": exc.message, "code": exc.code, **exc.extra}
    if exc.field:
        body["errors"] = {exc.field: [exc.message]}
    headers = {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(int(exc.retry_after))
    return Response(body, status=exc.http_status, headers=headers)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus domain errors and model validation errors mapped to their HTTP status."""
    if isinstance(exc, ApplicationError):
        return _application_error_response(exc)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    return drf_exception_handler(exc, context)
