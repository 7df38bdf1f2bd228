"""Transient failures of the systems we depend on, and retrying them with backoff.

A transient failure says nothing about the data being processed: the database was locked or the
connection dropped, S3 or DynamoDB throttled or answered 5xx, the embedding provider was down. The
same call a little later may well succeed, so callers retry it (``call_with_retries``) instead of
blaming the document, the message or the user. Anything else — a bug, a constraint violation, a
missing file, a schema that was never migrated — fails the same way every time and is not retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import tenacity
from django.db import DatabaseError, InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)

T = TypeVar("T")

# AWS error codes that mean "slow down" or "our side failed", per the botocore retry handlers.
_AWS_TRANSIENT_CODES = {
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "RequestTimeout",
    "RequestTimeoutException",
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "TransactionInProgressException",
    "InternalError",
    "InternalServerError",
    "ServiceUnavailable",
}

# SQLite reports schema and SQL mistakes as OperationalError too; those are not worth a retry.
_PERMANENT_DB_MESSAGES = ("no such table", "no such column", "syntax error", "has no column")


class TransientError(Exception):
    """Raise (or subclass) in an adapter for a failure that a later retry may fix."""


def is_transient(exc: BaseException) -> bool:
    """True when retrying the same operation later may succeed."""
    if isinstance(exc, TransientError):
        return True
    if isinstance(exc, OperationalError | InterfaceError):
        message = str(exc).lower()
        return not any(text in message for text in _PERMANENT_DB_MESSAGES)
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    return _is_transient_aws(exc) or _is_transient_provider(exc)


def _is_transient_aws(exc: BaseException) -> bool:
    try:
        from botocore import exceptions as aws
    except ImportError:  # pragma: no cover - boto3 is a core dependency
        return False
    if isinstance(exc, aws.ConnectionError | aws.HTTPClientError):
        return True  # endpoint unreachable, connection reset, read timeout
    if isinstance(exc, aws.ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return error.get("Code") in _AWS_TRANSIENT_CODES or int(status) >= 500
    return False


def _is_transient_provider(exc: BaseException) -> bool:
    # Adapters that already retried their own provider call and gave up: the provider is down or
    # throttling us, not refusing this input.
    from integrations.embeddings.gemini import EmbeddingUnavailable
    from integrations.vectors.dynamodb import DynamoDBStoreError

    return isinstance(exc, EmbeddingUnavailable | DynamoDBStoreError)


def describe(exc: BaseException) -> str:
    """A short, readable account of a transient failure for a status message."""
    if isinstance(exc, DatabaseError):
        where = "the database"
    elif type(exc).__module__.startswith(("botocore", "boto3", "s3transfer")):
        where = "AWS"
    else:
        where = "a service the platform depends on"
    return f"{where} was unavailable ({type(exc).__name__}: {str(exc)[:200]})"


def _retryable(exc: BaseException) -> bool:
    # Inside a transaction a database error has already doomed the whole block: retrying one
    # statement cannot help, so let it reach whoever owns the transaction.
    if isinstance(exc, DatabaseError) and connection.in_atomic_block:
        return False
    return is_transient(exc)


def _before_retry(what: str) -> Callable[[tenacity.RetryCallState], None]:
    def log_and_reset(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        logger.warning(
            "transient failure, retrying",
            extra={"step": what, "attempt": state.attempt_number, "error": repr(exc)[:300]},
        )
        if isinstance(exc, DatabaseError):
            # A dropped connection stays broken until closed; the next query then reconnects.
            connection.close_if_unusable_or_obsolete()

    return log_and_reset


def call_with_retries(fn: Callable[[], T], *, what: str, attempts: int, backoff_s: float) -> T:
    """Call ``fn``; on a transient failure wait and call it again, up to ``attempts`` calls in all.

    Waits grow exponentially from ``backoff_s`` with jitter (so concurrent workers do not retry in
    lockstep), at most 30 s each. The last failure is re-raised unchanged; anything not transient is
    raised at once. ``fn`` must be safe to repeat (each step of the pipeline is).
    """
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(_retryable),
        stop=tenacity.stop_after_attempt(max(1, attempts)),
        wait=tenacity.wait_exponential_jitter(initial=backoff_s, max=30.0, jitter=backoff_s),
        before_sleep=_before_retry(what),
        reraise=True,
    )
    return retrying(fn)
