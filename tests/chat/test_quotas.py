"""Monthly chat quotas on every channel: messages per month and model tokens per month answer 429 with
Retry-After until the month (UTC) resets; the public widget gets the polite 503 and no numbers; the
model is not asked once the month's tokens are spent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from analytics.services import analytics_rebuild
from chat.models import Channel, Conversation, Message, Role
from chat.responses import QUOTA_VISITOR_MESSAGE
from chat.services import api_key_create, chat_answer
from integrations.llm.fake import FakeChatModel
from tenants import quotas
from tenants.errors import MonthlyQuotaExceeded

from .conftest import chat_url

pytestmark = pytest.mark.django_db

MID_MARCH = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
NEXT_MONTH = datetime(2026, 4, 1, 0, 0, 1, tzinfo=UTC)
RETRY_AFTER = str(int((datetime(2026, 4, 1, tzinfo=UTC) - MID_MARCH).total_seconds()))  # 16.5 days
QUESTION = "When does the office open?"


@pytest.fixture
def clock(monkeypatch):
    """The quota clock, frozen in March 2026; `clock(t)` moves it."""

    def move(when: datetime) -> None:
        monkeypatch.setattr(quotas, "utc_now", lambda: when)

    move(MID_MARCH)
    return move


def seed(org, bot, *, questions: int = 0, tokens: int = 0, at: datetime = MID_MARCH) -> None:
    """Questions and model tokens spent by the org on `at` (the month the frozen clock counts)."""
    conversation = Conversation.objects.create(org=org, bot=bot, channel=Channel.BUILDER)
    for _ in range(questions):
        Message.objects.create(org=org, bot=bot, conversation=conversation, role=Role.USER, content="q")
    if tokens:
        Message.objects.create(
            org=org,
            bot=bot,
            conversation=conversation,
            role=Role.ASSISTANT,
            content="a",
            prompt_tokens=tokens - tokens // 3,
            completion_tokens=tokens // 3,
        )
    Message.objects.for_org(org).filter(conversation=conversation).update(created_at=at)
    analytics_rebuild(org=org, day=at.date())  # the day's rollup, as the turns would have kept it


def ask_builder(bot, user, client_for):
    return client_for(user).post(chat_url(bot), {"message": QUESTION}, format="json")


def ask_public(bot, stream=False):
    return APIClient().post(
        f"/api/public/bots/{bot.public_id}/chat/", {"message": QUESTION, "stream": stream}, format="json"
    )


def ask_api(bot, raw):
    return APIClient().post(
        "/api/v1/chat/", {"message": QUESTION}, format="json", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )


MESSAGES_FULL = {
    "detail": "This organisation has used 3 of its 3 messages this month (the count resets on "
    "2026-04-01 at 00:00 UTC); ask an administrator to raise the limit to continue sooner.",
    "code": "quota_exceeded",
    "quota": "messages_per_month",
    "used": 3,
    "limit": 3,
    "resets_at": "2026-04-01T00:00:00Z",
}


def test_message_quota_on_member_and_api_key_channels(kb_bot, viewer, owner, client_for, clock):
    org = kb_bot.org
    org.quota_messages_per_month = 3
    org.save()
    _, raw = api_key_create(bot=kb_bot, user=owner, name="server")
    seed(org, kb_bot, questions=2)
    seed(org, kb_bot, questions=50, at=datetime(2026, 2, 28, 23, 59, tzinfo=UTC))  # last month: not counted

    assert ask_builder(kb_bot, viewer, client_for).status_code == 200  # 2 of 3 used: passes
    seed(org, kb_bot, questions=1)  # 3 of 3 this month
    for response in (ask_builder(kb_bot, viewer, client_for), ask_api(kb_bot, raw)):
        assert response.status_code == 429
        assert response.json() == MESSAGES_FULL
        assert response["Retry-After"] == RETRY_AFTER
    streamed = client_for(viewer).post(chat_url(kb_bot), {"message": QUESTION, "stream": True}, format="json")
    assert streamed.status_code == 429 and streamed.json() == MESSAGES_FULL

    clock(NEXT_MONTH)  # a new month: the count starts again
    assert ask_builder(kb_bot, viewer, client_for).status_code == 200
    assert ask_api(kb_bot, raw).status_code == 200


def test_message_quota_on_the_public_widget_shows_the_polite_message_only(kb_bot, clock):
    org = kb_bot.org
    org.quota_messages_per_month = 3
    org.save()
    seed(org, kb_bot, questions=2)
    assert ask_public(kb_bot).status_code == 200
    seed(org, kb_bot, questions=1)
    before = Message.objects.for_org(org).count()

    for response in (ask_public(kb_bot), ask_public(kb_bot, stream=True)):
        assert response.status_code == 503  # the widget shows its own "can't answer right now"
        assert response.json() == {"detail": QUOTA_VISITOR_MESSAGE, "code": "unavailable"}
        assert "Retry-After" not in response
    assert Message.objects.for_org(org).count() == before  # a refused question is not stored

    clock(NEXT_MONTH)
    assert ask_public(kb_bot).status_code == 200


def test_model_is_not_asked_once_the_months_tokens_are_spent(kb_bot, clock):
    org = kb_bot.org
    org.quota_tokens_per_month = 1000
    org.save()
    seed(org, kb_bot, tokens=999)
    model = FakeChatModel()
    chat_answer(bot=kb_bot, message=QUESTION, model=model)  # 999 of 1000: the model is asked
    assert len(model.calls) == 1

    seed(org, kb_bot, tokens=1)  # 1000 of 1000
    with pytest.raises(MonthlyQuotaExceeded) as refused:
        chat_answer(bot=kb_bot, message=QUESTION, model=model)
    assert len(model.calls) == 1  # not asked again
    assert refused.value.extra == {
        "quota": "tokens_per_month",
        "used": 1000,
        "limit": 1000,
        "resets_at": "2026-04-01T00:00:00Z",
    }
    assert refused.value.retry_after == int(RETRY_AFTER)
    # A question the knowledge base cannot answer needs no model: the fallback still answers.
    fallback = chat_answer(bot=kb_bot, message="Do you sell garden furniture?", model=model)
    assert fallback.message.unanswered and len(model.calls) == 1

    clock(NEXT_MONTH)
    chat_answer(bot=kb_bot, message=QUESTION, model=model)
    assert len(model.calls) == 2


def test_token_quota_answers_429_on_the_builder_channel(kb_bot, viewer, client_for, clock, monkeypatch):
    monkeypatch.setattr("chat.services.get_chat_model", lambda **kw: FakeChatModel())  # a paid model
    org = kb_bot.org
    org.quota_tokens_per_month = 500
    org.save()
    seed(org, kb_bot, tokens=500)
    response = ask_builder(kb_bot, viewer, client_for)
    assert response.status_code == 429
    assert response["Retry-After"] == RETRY_AFTER
    body = response.json()
    assert (body["quota"], body["used"], body["limit"]) == ("tokens_per_month", 500, 500)
    assert body["detail"].startswith("This organisation has used 500 of its 500 model tokens this month")
    org.quota_tokens_per_month = 0  # unlimited
    org.save()
    assert ask_builder(kb_bot, viewer, client_for).status_code == 200


def test_the_offline_answerer_is_not_stopped_by_the_tokens_quota(kb_bot, viewer, client_for, clock):
    """The tokens quota guards a paid model's key; the extractive answerer (the default without a
    Gemini key) spends none, so its estimated tokens never stop it. The messages quota still does."""
    org = kb_bot.org
    org.quota_tokens_per_month = 500
    org.save()
    seed(org, kb_bot, tokens=500)
    answered = ask_builder(kb_bot, viewer, client_for)
    assert answered.status_code == 200 and not answered.json()["unanswered"]
    answer = Message.objects.for_org(org).get(pk=answered.json()["message_id"])
    assert answer.prompt_tokens > 0  # its estimated tokens are still recorded (and shown in usage)
    org.quota_messages_per_month = 1
    org.save()
    seed(org, kb_bot, questions=1)  # 1 of 1 this (frozen) month
    assert ask_builder(kb_bot, viewer, client_for).status_code == 429


def test_every_channels_turns_count_as_they_are_answered(kb_bot, owner, viewer, client_for):
    """No rebuild: the rollup each turn updates is what the monthly quotas read."""
    _, raw = api_key_create(bot=kb_bot, user=owner, name="server")
    assert ask_builder(kb_bot, viewer, client_for).status_code == 200
    assert ask_public(kb_bot).status_code == 200
    assert ask_api(kb_bot, raw).status_code == 200
    answers = Message.objects.for_org(kb_bot.org).filter(role=Role.ASSISTANT)
    tokens = sum(m.prompt_tokens + m.completion_tokens for m in answers)
    assert tokens > 0
    assert quotas.quota_used(org=kb_bot.org, name="messages_per_month") == 3
    assert quotas.quota_used(org=kb_bot.org, name="tokens_per_month") == tokens
