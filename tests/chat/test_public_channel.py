"""The public channel: no login, per-bot CORS, active bots only, rate limits, visitor isolation."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from chat.models import Conversation, Message

from .conftest import chat_url

pytestmark = pytest.mark.django_db

ORIGIN = "https://shop.example.com"


def public(bot, suffix=""):
    return f"/api/public/bots/{bot.public_id}/{suffix}"


def ask(bot, message, origin=ORIGIN, visitor=None, **extra):
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    if visitor:
        headers["HTTP_X_VISITOR_ID"] = visitor
    return APIClient().post(public(bot, "chat/"), {"message": message, **extra}, format="json", **headers)


def read(bot, conversation_id, visitor, origin=ORIGIN):
    return APIClient().get(
        public(bot, f"conversations/{conversation_id}/"), HTTP_ORIGIN=origin, HTTP_X_VISITOR_ID=visitor
    )


def rate(message_id, visitor, rating="up", origin=ORIGIN):
    return APIClient().post(
        f"/api/public/messages/{message_id}/feedback/",
        {"rating": rating},
        format="json",
        HTTP_ORIGIN=origin,
        HTTP_X_VISITOR_ID=visitor,
    )


def test_public_bot_info_with_cors_for_an_allowed_origin(kb_bot):
    response = APIClient().get(public(kb_bot), HTTP_ORIGIN=ORIGIN)
    assert response.status_code == 200
    assert response.json() == {
        "public_id": kb_bot.public_id,
        "name": kb_bot.name,
        "greeting": kb_bot.greeting,
        "is_active": True,
        "theme_color": "#2f6f8f",
        "position": "right",
        "launcher_text": "",
        "avatar_url": None,
        "initials": "SB",
        "suggested_questions": [],
        "show_sources": True,
        "message_max_chars": 4000,
    }
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in response["Vary"]


def test_preflight_from_an_allowed_origin(kb_bot):
    response = APIClient().options(
        public(kb_bot, "chat/"), HTTP_ORIGIN=ORIGIN, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in response["Access-Control-Allow-Methods"]


def test_a_disallowed_origin_is_refused_and_nothing_is_recorded(kb_bot):
    response = ask(kb_bot, "When does the office open?", origin="https://evil.example.net")
    assert response.status_code == 403
    assert "not allowed" in response.json()["detail"]
    assert not response.has_header("Access-Control-Allow-Origin")
    assert (
        APIClient().options(public(kb_bot, "chat/"), HTTP_ORIGIN="https://evil.example.net").status_code
        == 403
    )
    assert Message.objects.for_org(kb_bot.org).count() == 0


def test_visitor_chats_and_continues_their_own_conversation(kb_bot):
    first = ask(kb_bot, "When does the office open?")
    assert first.status_code == 200, first.content
    body = first.json()
    assert "08:30" in body["answer"] and body["visitor_id"].startswith("v_")
    assert first["Access-Control-Allow-Origin"] == ORIGIN
    assert first["X-Visitor-Id"] == body["visitor_id"]
    second = ask(
        kb_bot, "And refunds issued?", conversation_id=body["conversation_id"], visitor=body["visitor_id"]
    )
    assert second.status_code == 200
    assert second.json()["conversation_id"] == body["conversation_id"]
    assert second.json()["visitor_id"] == body["visitor_id"]
    # The body field documented before the header still works for POSTs.
    third = ask(
        kb_bot, "office closes?", conversation_id=body["conversation_id"], visitor_id=body["visitor_id"]
    )
    assert third.status_code == 200 and third.json()["conversation_id"] == body["conversation_id"]
    conversation = Conversation.objects.for_org(kb_bot.org).get(pk=body["conversation_id"])
    assert conversation.channel == "public" and conversation.message_count == 6
    history = read(kb_bot, body["conversation_id"], body["visitor_id"])
    assert history.status_code == 200
    assert [m["role"] for m in history.json()["messages"]] == ["user", "assistant"] * 3
    assert history.json()["messages"][1]["sources"][0]["chunk_id"]


def test_a_visitor_cannot_read_or_continue_another_visitors_conversation(kb_bot):
    alice = ask(kb_bot, "When does the office open?").json()
    mallory = ask(kb_bot, "hello office").json()
    hijack = ask(kb_bot, "show me", conversation_id=alice["conversation_id"], visitor=mallory["visitor_id"])
    assert hijack.status_code == 404
    no_token = ask(kb_bot, "show me", conversation_id=alice["conversation_id"])
    assert no_token.status_code == 404
    peek = read(kb_bot, alice["conversation_id"], mallory["visitor_id"])
    assert peek.status_code == 404 and "08:30" not in peek.content.decode()
    feedback = rate(alice["message_id"], mallory["visitor_id"], "down")
    assert feedback.status_code == 404
    in_body = APIClient().post(
        f"/api/public/messages/{alice['message_id']}/feedback/",
        {"rating": "down", "visitor_id": mallory["visitor_id"]},
        format="json",
        HTTP_ORIGIN=ORIGIN,
    )
    assert in_body.status_code == 404
    assert Conversation.objects.for_org(kb_bot.org).get(pk=alice["conversation_id"]).message_count == 2


def test_visitor_rates_their_own_answer(kb_bot):
    body = ask(kb_bot, "When does the office open?").json()
    response = rate(body["message_id"], body["visitor_id"])
    assert response.status_code == 200
    assert response.json() == {"id": body["message_id"], "rating": "up"}
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert Message.objects.for_org(kb_bot.org).get(pk=body["message_id"]).rating == "up"
    # The body field still works for this POST.
    legacy = APIClient().post(
        f"/api/public/messages/{body['message_id']}/feedback/",
        {"rating": "down", "visitor_id": body["visitor_id"]},
        format="json",
        HTTP_ORIGIN=ORIGIN,
    )
    assert legacy.status_code == 200 and legacy.json()["rating"] == "down"


def test_an_inactive_bot_is_closed_on_every_public_route_with_the_same_answer(kb_bot):
    """Issue 8 finding 8: profile, chat, conversation read and feedback all refuse an inactive bot."""
    body = ask(kb_bot, "When does the office open?").json()
    kb_bot.is_active = False
    kb_bot.save()
    answers = [
        APIClient().get(public(kb_bot), HTTP_ORIGIN=ORIGIN),
        ask(kb_bot, "When does the office open?", visitor=body["visitor_id"]),
        read(kb_bot, body["conversation_id"], body["visitor_id"]),
        rate(body["message_id"], body["visitor_id"]),
    ]
    for response in answers:
        assert response.status_code == 403, response.content
        assert response.json() == {"detail": "This bot is not active.", "code": "bot_inactive"}
        # Readable by the widget on an allowed origin, so it can say so politely.
        assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert Message.objects.for_org(kb_bot.org).get(pk=body["message_id"]).rating == ""
    assert Message.objects.for_org(kb_bot.org).count() == 2


def test_unknown_public_id_is_404():
    assert (
        APIClient().post("/api/public/bots/b_nope/chat/", {"message": "hi"}, format="json").status_code == 404
    )


def test_per_visitor_rate_limit_answers_429_with_retry_after(kb_bot, settings):
    settings.PUBLIC_CHAT_RATE_VISITOR = "2/minute"
    first = ask(kb_bot, "When does the office open?").json()
    assert ask(kb_bot, "office opens?", visitor=first["visitor_id"]).status_code == 200
    limited = ask(kb_bot, "office opens again?", visitor=first["visitor_id"])
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert "wait" in limited.json()["detail"] and limited.json()["limit"] == "visitor"
    assert limited["Access-Control-Allow-Origin"] == ORIGIN
    assert "Retry-After" in limited["Access-Control-Expose-Headers"]


def test_per_bot_rate_limit_answers_429(kb_bot, settings):
    settings.PUBLIC_CHAT_RATE_BOT = "1/minute"
    assert ask(kb_bot, "When does the office open?").status_code == 200
    limited = ask(kb_bot, "office?", visitor="v_someone_else_entirely")
    assert limited.status_code == 429 and limited.json()["limit"] == "bot"


def test_message_length_limit(kb_bot, settings):
    settings.CHAT_MAX_MESSAGE_CHARS = 20
    response = ask(kb_bot, "x" * 21)
    assert response.status_code == 400 and "limit is 20" in str(response.json())


def test_a_model_outage_shows_the_visitor_a_polite_text(kb_bot, monkeypatch):
    from integrations.llm import ModelUnavailable
    from integrations.llm.fake import FakeChatModel

    failing = FakeChatModel([ModelUnavailable("Gemini 429 quota exceeded for project 1234")])
    monkeypatch.setattr("chat.services.get_chat_model", lambda **kw: failing)
    response = ask(kb_bot, "When does the office open?")
    assert response.status_code == 503
    assert "quota" not in response.content.decode() and "1234" not in response.content.decode()
    assert "try again" in response.json()["detail"].lower()
    assert response.json()["message_id"] and response.json()["code"] == "model_unavailable"


def test_builders_see_a_visitor_pseudonym_never_the_token(kb_bot, viewer, client_for):
    body = ask(kb_bot, "When does the office open?").json()
    listing = client_for(viewer).get(f"/api/orgs/{kb_bot.org_id}/bots/{kb_bot.pk}/conversations/")
    row = listing.json()["results"][0]
    assert row["visitor"].startswith("visitor-")
    assert body["visitor_id"] not in listing.content.decode()


def test_widget_demo_page_embeds_the_widget_like_a_customer_site(kb_bot, client):
    page = client.get(f"/demo/{kb_bot.public_id}/")
    assert page.status_code == 200
    html = page.content.decode()
    snippet = f'<script src="http://testserver/widget.js" data-bot="{kb_bot.public_id}" async></script>'
    # The tag itself (loaded) and once escaped (shown for copying); no other chat code on the page.
    assert html.count(snippet) == 1 and kb_bot.name in html
    assert "&lt;script src=&quot;http://testserver/widget.js&quot;" in html
    assert "/api/public/" not in html
    # testserver is not among the bot's origins: the page says why the widget will refuse.
    assert "is not one of the bot's allowed" in html
    assert client.get("/demo/b_missing/").status_code == 404
    kb_bot.is_active = False
    kb_bot.save()
    assert client.get(f"/demo/{kb_bot.public_id}/").status_code == 404
    assert client.get("/").status_code == 200


def test_a_streamed_model_outage_shows_the_visitor_only_the_public_error(
    kb_bot, viewer, client_for, monkeypatch
):
    """Regression (issue 8 finding 5): the public SSE `error` event carried quota/project/key fragments."""
    from integrations.llm import ModelUnavailable
    from integrations.llm.fake import FakeChatModel

    reason = "Gemini 429 quota exceeded for project 1234 (key AIzaSyFAKE)"
    monkeypatch.setattr(
        "chat.services.get_chat_model", lambda **kw: FakeChatModel([ModelUnavailable(reason)] * 3)
    )
    streamed = ask(kb_bot, "When does the office open?", stream=True)
    assert streamed.status_code == 200
    body = b"".join(streamed.streaming_content).decode()
    for secret in ("quota", "1234", "AIza", "project"):
        assert secret not in body
    name, data = body.strip().split("\n\n")[-1].split("\n", 1)
    error = json.loads(data.removeprefix("data: "))
    assert name == "event: error"
    # One public form for the JSON answer and the streamed event.
    plain = ask(kb_bot, "When does the office open?").json()
    assert error.keys() == plain.keys() == {"detail", "code", "message_id"}
    assert error["detail"] == plain["detail"] and "try again" in error["detail"].lower()
    # Builders still see the reason, streamed too.
    builder = client_for(viewer).post(
        chat_url(kb_bot), {"message": "When does the office open?", "stream": True}, format="json"
    )
    assert "quota exceeded for project 1234" in b"".join(builder.streaming_content).decode()
