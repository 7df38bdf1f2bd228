"""Domain errors: what services raise when a rule refuses an operation.

Services, commands and tasks raise and catch these, never DRF's ``APIException``; the API edge
(``api.exception_handlers``) maps them to HTTP with the one error shape
``{"detail": message, "code": code, "errors": {field: [message]}?, **extra}``.
This module sits at the bottom of the dependency graph so every app can use it.
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """A request the domain refuses. ``message`` is for people: what went wrong and what to do."""

    http_status = 400
    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        extra: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.field = field
        self.extra = dict(extra or {})
        self.retry_after = retry_after


class InvalidInput(ApplicationError):
    http_status = 400
    code = "invalid"


class NotFound(ApplicationError):
    http_status = 404
    code = "not_found"


class Forbidden(ApplicationError):
    http_status = 403
    code = "forbidden"


class Conflict(ApplicationError):
    http_status = 409
    code = "conflict"


class TooLarge(ApplicationError):
    http_status = 413
    code = "too_large"


class UnsupportedType(ApplicationError):
    http_status = 415
    code = "unsupported_type"


class LimitExceeded(ApplicationError):
    """A rate or quota limit. Say which limit, the current use and when it resets (``extra``)."""

    http_status = 429
    code = "limit_exceeded"


class QuotaExceeded(ApplicationError):
    """An organisation's quota (tenants.quotas) refuses the operation.

    Size and count quotas (bots, documents, storage, chunks) answer 402 until something is deleted
    or the limit raised; monthly quotas (messages, tokens) answer 429 with ``Retry-After`` until the
    month resets. ``extra`` carries ``quota``, ``used``, ``limit`` and ``resets_at``.
    """

    http_status = 402
    code = "quota_exceeded"


class MonthlyQuotaExceeded(QuotaExceeded):
    http_status = 429


class Unavailable(ApplicationError):
    """A dependency (model, storage, vector store) cannot serve now; trying later may work."""

    http_status = 503
    code = "unavailable"
