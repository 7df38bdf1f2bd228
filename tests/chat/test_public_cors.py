"""The public channel from another origin (issue 13): preflights and actual requests on every public
route, exact origin matching, the headers a widget sends and reads, and the visitor and conversation
ids in the JSON body and in the stream's `done` event."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from chat.models import Message
from chat.services import chat_answer
from tests.factories import make_bot

pytestmark = pytest.mark.django_db

ORIGIN = "https://shop.example.com"


def preflight(url, method, origin=ORIGIN, headers="content-type, x-visitor-id"):
    return APIClient().options(
        url,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS=headers,
    )


def sse_events(response):
    body = b"".join(response.streaming_content).decode()
    events = []
    for block in body.strip().split("\n\n"):
        name, data = block.split("\n", 1)
        events.append((name.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return events


@pytest.fixture
def exchange(kb_bot):
    """A visitor's first answer on the public channel: (JSON body, response)."""
    response = APIClient().post(
        f"/api/public/bots/{kb_bot.public_id}/chat/",
        {"message": "When does the office open?"},
        format="json",
        HTTP_ORIGIN=ORIGIN,
    )
    assert response.status_code == 200, response.content
    return response.json(), response


def routes(bot, body):
    return [
        (f"/api/public/bots/{bot.public_id}/", "GET"),
        (f"/api/public/bots/{bot.public_id}/chat/", "POST"),
        (f"/api/public/bots/{bot.public_id}/conversations/{body['conversation_id']}/", "GET"),
        (f"/api/public/messages/{body['message_id']}/feedback/", "POST"),
    ]


def test_every_public_route_answers_the_preflight_of_an_allowed_origin(kb_bot, exchange):
    body, _ = exchange
    for url, method in routes(kb_bot, body):
        response = preflight(url, method)
        assert response.status_code == 204, (url, response.content)
        assert response["Access-Control-Allow-Origin"] == ORIGIN, url
        assert "Origin" in response["Vary"], url
        assert method in response["Access-Control-Allow-Methods"], url
        allowed = {h.strip().lower() for h in response["Access-Control-Allow-Headers"].split(",")}
        assert {"content-type", "x-visitor-id"} <= allowed, url


def test_feedback_preflight_applies_the_messages_bot_origins(kb_bot, exchange, org):
    """Regression: the feedback preflight had no Access-Control-Allow-Origin, so browsers blocked it."""
    body, _ = exchange
    url = f"/api/public/messages/{body['message_id']}/feedback/"
    assert preflight(url, "POST")["Access-Control-Allow-Origin"] == ORIGIN
    # Another bot's origin is not this message's: refused.
    other = make_bot(org, "Other shop")
    other.allowed_origins = ["https://other.example.org"]
    other.save()
    refused = preflight(url, "POST", origin="https://other.example.org")
    assert refused.status_code == 403 and not refused.has_header("Access-Control-Allow-Origin")
    # Builder (non-public) messages are not reachable through the public route at all.
    builder = chat_answer(bot=kb_bot, message="When does the office open?")
    assert preflight(f"/api/public/messages/{builder.message.pk}/feedback/", "POST").status_code == 404


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example.net",
        "https://shop.example.com:8443",  # another port
        "http://shop.example.com",  # another scheme
        "https://www.shop.example.com",  # another host
        "https://shop.example.com.evil.net",
        "null",
    ],
)
def test_other_origins_are_refused_on_every_route_without_an_allow_header(kb_bot, exchange, origin):
    body, _ = exchange
    for url, method in routes(kb_bot, body):
        response = preflight(url, method, origin=origin)
        assert response.status_code == 403, (url, origin)
        assert not response.has_header("Access-Control-Allow-Origin")
        actual = getattr(APIClient(), method.lower())(
            url, {"rating": "up"} if "feedback" in url else None, format="json", HTTP_ORIGIN=origin
        )
        assert actual.status_code == 403, (url, origin, actual.status_code)
        assert not actual.has_header("Access-Control-Allow-Origin")
    assert Message.objects.for_org(kb_bot.org).get(pk=body["message_id"]).rating == ""


def test_actual_responses_allow_the_origin_and_expose_the_headers_the_widget_reads(kb_bot, exchange):
    body, response = exchange
    assert response["Access-Control-Allow-Origin"] == ORIGIN and "Origin" in response["Vary"]
    exposed = {h.strip() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert {"X-Visitor-Id", "Retry-After"} <= exposed
    for url, method in routes(kb_bot, body):
        data = (
            {"rating": "up"}
            if "feedback" in url
            else {"message": "office hours?"}
            if method == "POST"
            else None
        )
        answer = getattr(APIClient(), method.lower())(
            url, data, format="json", HTTP_ORIGIN=ORIGIN, HTTP_X_VISITOR_ID=body["visitor_id"]
        )
        assert answer.status_code == 200, (url, answer.content)
        assert answer["Access-Control-Allow-Origin"] == ORIGIN
        assert "X-Visitor-Id" in answer["Access-Control-Expose-Headers"]


def test_json_answer_carries_visitor_and_conversation_ids(exchange):
    body, response = exchange
    assert body["visitor_id"].startswith("v_") and body["conversation_id"]
    assert response["X-Visitor-Id"] == body["visitor_id"]


def test_streamed_done_event_carries_visitor_and_conversation_ids(kb_bot):
    """Regression: a streamed answer returned the new visitor id only in an unexposed header."""
    response = APIClient().post(
        f"/api/public/bots/{kb_bot.public_id}/chat/",
        {"message": "When does the office open?", "stream": True},
        format="json",
        HTTP_ORIGIN=ORIGIN,
    )
    assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    events = sse_events(response)
    name, done = events[-1]
    assert name == "done"
    assert done["visitor_id"] == response["X-Visitor-Id"] and done["visitor_id"].startswith("v_")
    assert done["conversation_id"] and done["message_id"] and "08:30" in done["answer"]
    # The widget continues the conversation with what the done event gave it.
    follow = APIClient().post(
        f"/api/public/bots/{kb_bot.public_id}/chat/",
        {"message": "refunds issued?", "conversation_id": done["conversation_id"], "stream": True},
        format="json",
        HTTP_ORIGIN=ORIGIN,
        HTTP_X_VISITOR_ID=done["visitor_id"],
    )
    name, second = sse_events(follow)[-1]
    assert name == "done" and second["conversation_id"] == done["conversation_id"]


def test_server_side_requests_without_origin_pass_without_cors_headers(kb_bot):
    response = APIClient().get(f"/api/public/bots/{kb_bot.public_id}/")
    assert response.status_code == 200 and not response.has_header("Access-Control-Allow-Origin")


def test_the_visitor_id_never_travels_in_the_url(kb_bot, exchange):
    body, _ = exchange
    url = f"/api/public/bots/{kb_bot.public_id}/conversations/{body['conversation_id']}/"
    in_url = APIClient().get(url, {"visitor_id": body["visitor_id"]}, HTTP_ORIGIN=ORIGIN)
    assert in_url.status_code == 400 and "X-Visitor-Id header" in in_url.json()["detail"]
    missing = APIClient().get(url, HTTP_ORIGIN=ORIGIN)
    assert missing.status_code == 400 and "X-Visitor-Id" in missing.json()["detail"]
    assert APIClient().get(url, HTTP_ORIGIN=ORIGIN, HTTP_X_VISITOR_ID="bad id!").status_code == 400
    assert APIClient().get(url, HTTP_ORIGIN=ORIGIN, HTTP_X_VISITOR_ID=body["visitor_id"]).status_code == 200


def test_header_and_body_visitor_ids_must_agree(kb_bot, exchange):
    body, _ = exchange
    response = APIClient().post(
        f"/api/public/bots/{kb_bot.public_id}/chat/",
        {"message": "office?", "visitor_id": "v_somebody_else_entirely"},
        format="json",
        HTTP_ORIGIN=ORIGIN,
        HTTP_X_VISITOR_ID=body["visitor_id"],
    )
    assert response.status_code == 400 and "differ" in response.json()["detail"]
