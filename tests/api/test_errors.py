"""The API edge maps domain errors to the one error shape; metering counts only inside collect()."""

from __future__ import annotations

from rest_framework.test import APIRequestFactory

from api.exception_handlers import exception_handler
from integrations import metering
from tenants.errors import ApplicationError, LimitExceeded, NotFound, TooLarge


def _handle(exc):
    request = APIRequestFactory().get("/api/x/")
    return exception_handler(exc, {"request": request, "view": None})


def test_application_error_becomes_400_with_detail_and_code():
    response = _handle(ApplicationError("Name the bot."))
    assert response.status_code == 400
    assert response.data == {"detail": "Name the bot.", "code": "invalid"}


def test_field_error_also_lists_the_field():
    response = _handle(TooLarge("The file is larger than 25 MB.", field="file"))
    assert response.status_code == 413
    assert response.data["errors"] == {"file": ["The file is larger than 25 MB."]}


def test_limit_error_carries_retry_after_and_extra():
    response = _handle(LimitExceeded("Too many messages.", retry_after=12.7, extra={"limit": "messages"}))
    assert response.status_code == 429
    assert response["Retry-After"] == "12"
    assert response.data["limit"] == "messages"


def test_not_found_is_404():
    assert _handle(NotFound("No such bot.")).status_code == 404


def test_metering_counts_inside_collect_and_rolls_up_to_the_outer_block():
    metering.add("vector_bytes_read", 10)  # nobody counting: ignored
    with metering.collect() as outer:
        metering.add("vector_bytes_read", 5)
        with metering.collect() as inner:
            metering.add("vector_bytes_read", 7)
            metering.add("embeddings_computed")
        assert inner == {"vector_bytes_read": 7, "embeddings_computed": 1}
    assert outer == {"vector_bytes_read": 12, "embeddings_computed": 1}
