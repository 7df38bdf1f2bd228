"""Request bodies are bounded before they are read (issue 8 finding 4).

Bodies here are generated on demand by `GeneratedBody`, which counts what the server reads: a
refused body must be refused after reading nothing (declared Content-Length) or at most the route's
limit (chunked, no Content-Length), never spooled whole to memory or disk. Memory and time figures
are in `make bench` (bench/bench_limits.py), not here.
"""

from __future__ import annotations

import json

import pytest
from django.test import RequestFactory
from rest_framework.test import APIClient

from bench._bodies import GeneratedBody
from config.middleware import BodyLimitUploadHandler
from documents.models import Document
from tenants.errors import TooLarge

pytestmark = pytest.mark.django_db

MB = 1024 * 1024
ORIGIN = "https://shop.example.com"
BOUNDARY = "----botwright-test-boundary"


def multipart_head(field: str = "file", filename: str = "big.pdf") -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()


def send(client, url, body: GeneratedBody, content_type: str, *, chunked: bool = False, **extra):
    environ = {"wsgi.input": body, "CONTENT_TYPE": content_type, **extra}
    if chunked:
        # What a WSGI server (gunicorn) passes for a chunked body: no length, input terminated.
        environ.update({"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True})
    else:
        environ["CONTENT_LENGTH"] = str(body.size)
    # APIClient.generic writes CONTENT_TYPE from `content_type`, so pass it there too.
    return client.generic("POST", url, content_type=content_type, **environ)


@pytest.fixture
def no_parsing(monkeypatch):
    """Fail the test if any parser starts on the body."""

    def refuse(*args, **kwargs):
        raise AssertionError("the body was parsed")

    monkeypatch.setattr("api.parsers.JSONParser.parse", refuse)
    monkeypatch.setattr("rest_framework.parsers.MultiPartParser.parse", refuse)
    monkeypatch.setattr("django.http.multipartparser.MultiPartParser.parse", refuse)


@pytest.fixture
def public_bot(bot):
    bot.allowed_origins = [ORIGIN]
    bot.save()
    return bot


def test_300mb_anonymous_multipart_to_public_chat_is_refused_unread(public_bot, no_parsing):
    url = f"/api/public/bots/{public_bot.public_id}/chat/"
    multipart = f"multipart/form-data; boundary={BOUNDARY}"
    body = GeneratedBody(300 * MB, head=multipart_head())
    response = send(APIClient(), url, body, multipart, HTTP_ORIGIN=ORIGIN)
    assert response.status_code == 413
    assert response.json()["code"] == "too_large" and "1.0 MB" in response.json()["detail"]
    assert body.read_bytes == 0
    # The widget on an allowed origin can read the refusal.
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    # Within the size limit, multipart is still not for this endpoint: 415, and not read either.
    small = GeneratedBody(1000, head=multipart_head())
    response = send(APIClient(), url, small, multipart, HTTP_ORIGIN=ORIGIN)
    assert response.status_code == 415 and small.read_bytes == 0


def test_24mb_anonymous_json_is_refused_before_parsing(public_bot, no_parsing):
    body = GeneratedBody(24 * MB, head=b'{"message": "hi", "pad": [', filler=b"{},")
    response = send(APIClient(), f"/api/public/bots/{public_bot.public_id}/chat/", body, "application/json")
    assert response.status_code == 413 and body.read_bytes == 0


def test_every_api_route_has_the_small_default_limit(public_bot, owner, client_for, no_parsing):
    client = client_for(owner)
    for url in (
        "/api/orgs/",
        f"/api/orgs/{public_bot.org_id}/bots/",
        f"/api/orgs/{public_bot.org_id}/bots/{public_bot.pk}/chat/",
        "/api/v1/chat/",
        "/admin/login/",
    ):
        body = GeneratedBody(2 * MB, filler=b" ")
        response = send(client, url, body, "application/json")
        assert response.status_code == 413, url
        assert body.read_bytes == 0, url


def test_an_over_limit_authenticated_upload_is_refused_before_it_is_received(bot, editor, client_for):
    url = f"/api/orgs/{bot.org_id}/bots/{bot.pk}/documents/"
    body = GeneratedBody(200 * MB, head=multipart_head())
    response = send(client_for(editor), url, body, f"multipart/form-data; boundary={BOUNDARY}")
    assert response.status_code == 413 and "25.1 MB" in response.json()["detail"]
    assert body.read_bytes == 0
    assert Document.objects.for_org(bot.org).count() == 0


def test_a_chunked_upload_without_length_is_cut_at_the_limit(bot, editor, client_for, settings):
    settings.DOCUMENT_MAX_UPLOAD_BYTES = 2 * MB
    url = f"/api/orgs/{bot.org_id}/bots/{bot.pk}/documents/"
    body = GeneratedBody(200 * MB, head=multipart_head())
    response = send(client_for(editor), url, body, f"multipart/form-data; boundary={BOUNDARY}", chunked=True)
    assert response.status_code == 413
    limit = 2 * MB + 64 * 1024
    assert limit < body.read_bytes <= limit + 64 * 1024  # read while counting, then cut
    assert Document.objects.for_org(bot.org).count() == 0


def test_a_chunked_body_within_the_limit_is_read(public_bot):
    payload = json.dumps({"message": "zebra quantum saxophone"}).encode()
    body = GeneratedBody(len(payload), head=payload)
    response = send(
        APIClient(), f"/api/public/bots/{public_bot.public_id}/chat/", body, "application/json", chunked=True
    )
    assert response.status_code == 200, response.content
    assert response.json()["unanswered"] is True


def test_a_chunked_upload_within_the_limit_is_stored(bot, editor, client_for):
    text = b"# Canteen\n\nLunch is served from 12:00 to 14:00.\n"
    payload = multipart_head(filename="canteen.md") + text + f"\r\n--{BOUNDARY}--\r\n".encode()
    body = GeneratedBody(len(payload), head=payload)
    url = f"/api/orgs/{bot.org_id}/bots/{bot.pk}/documents/"
    response = send(client_for(editor), url, body, f"multipart/form-data; boundary={BOUNDARY}", chunked=True)
    assert response.status_code == 201, response.content
    document = Document.objects.for_org(bot.org).get()
    assert document.filename == "canteen.md" and document.size_bytes == len(text)


def test_the_upload_handler_stops_reading_past_the_limit():
    """Even when a body got past the middleware, the multipart parser stops once the limit arrives."""
    payload = multipart_head() + b"x" * (8 * MB) + f"\r\n--{BOUNDARY}--\r\n".encode()
    stream = GeneratedBody(len(payload), head=payload)
    request = RequestFactory().generic(
        "POST",
        "/upload/",
        **{
            "wsgi.input": stream,
            "CONTENT_LENGTH": str(len(payload)),
            "CONTENT_TYPE": f"multipart/form-data; boundary={BOUNDARY}",
        },
    )
    request.body_limit = 1 * MB
    assert isinstance(request.upload_handlers[0], BodyLimitUploadHandler)
    with pytest.raises(TooLarge, match="1.0 MB"):
        request.FILES  # noqa: B018 (parsing is the point)
    assert stream.read_bytes < 2 * MB


def test_public_and_api_key_endpoints_take_json_only(public_bot, owner):
    from chat.services import api_key_create, chat_answer

    _, raw_key = api_key_create(bot=public_bot, user=owner, name="backend")
    answer = chat_answer(bot=public_bot, message="hello", channel="public", visitor_id="v_" + "a" * 24)
    headers = {
        "HTTP_ORIGIN": ORIGIN,
        "HTTP_X_VISITOR_ID": "v_" + "a" * 24,
        "HTTP_AUTHORIZATION": f"Bearer {raw_key}",
    }
    for url in (
        f"/api/public/bots/{public_bot.public_id}/chat/",
        f"/api/public/messages/{answer.message.pk}/feedback/",
        "/api/v1/chat/",
    ):
        form = APIClient().post(url, {"message": "hi", "rating": "up"}, format="multipart", **headers)
        urlencoded = APIClient().generic(
            "POST", url, "message=hi&rating=up", content_type="application/x-www-form-urlencoded", **headers
        )
        for response in (form, urlencoded):
            assert response.status_code == 415, (url, response.content)
            assert "Unsupported media type" in response.json()["detail"]
    assert answer.message.rating == ""


def test_refusal_bodies_are_json_even_for_unknown_bots():
    body = GeneratedBody(5 * MB)
    response = send(APIClient(), "/api/public/bots/b_missing/chat/", body, "application/json")
    assert response.status_code == 413 and response["Content-Type"] == "application/json"
    assert response.json()["code"] == "too_large" and response.json()["limit_bytes"] == MB
