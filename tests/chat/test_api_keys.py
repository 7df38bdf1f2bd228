"""Bot API keys: shown once, hashed at rest, revocable, confined to their bot."""

from __future__ import annotations

import hashlib

import pytest
from rest_framework.test import APIClient

from chat.models import BotApiKey, Conversation
from tenants.models import AuditEvent
from tests.factories import make_bot

from .conftest import chat_url

pytestmark = pytest.mark.django_db


def create_key(client, bot, name="backend"):
    return client.post(chat_url(bot, "api-keys/"), {"name": name}, format="json")


def api_chat(raw, body):
    return APIClient().post("/api/v1/chat/", body, format="json", HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_admin_creates_a_key_shown_once_and_stored_hashed(kb_bot, admin_user, client_for):
    client = client_for(admin_user)
    response = create_key(client, kb_bot)
    assert response.status_code == 201
    raw = response.json()["key"]
    assert raw.startswith("bw_") and len(raw) > 40
    key = BotApiKey.objects.for_org(kb_bot.org).get()
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {key.prefix, key.name, key.key_hash}
    listing = client.get(chat_url(kb_bot, "api-keys/")).json()
    assert listing["results"][0]["prefix"] == raw[:10]
    assert raw not in str(listing)  # never shown again
    assert AuditEvent.objects.filter(action="api_key.created").exists()


def test_editors_and_viewers_cannot_manage_keys(kb_bot, editor, viewer, client_for):
    assert create_key(client_for(editor), kb_bot).status_code == 403
    assert client_for(viewer).get(chat_url(kb_bot, "api-keys/")).status_code == 403


def test_a_key_chats_with_its_bot_on_the_api_channel(kb_bot, admin_user, client_for):
    raw = create_key(client_for(admin_user), kb_bot).json()["key"]
    response = api_chat(raw, {"message": "When does the office open?"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert "08:30" in body["answer"] and body["sources"]
    conversation = Conversation.objects.for_org(kb_bot.org).get(pk=body["conversation_id"])
    assert conversation.channel == "api"
    follow_up = api_chat(raw, {"message": "refunds issued?", "conversation_id": body["conversation_id"]})
    assert follow_up.json()["conversation_id"] == body["conversation_id"]
    assert BotApiKey.objects.for_org(kb_bot.org).get().last_used_at is not None


def test_revoked_and_unknown_keys_are_401(kb_bot, admin_user, client_for):
    client = client_for(admin_user)
    created = create_key(client, kb_bot).json()
    assert client.delete(chat_url(kb_bot, f"api-keys/{created['id']}/")).status_code == 204
    revoked = api_chat(created["key"], {"message": "hi"})
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
    assert api_chat("bw_" + "x" * 43, {"message": "hi"}).status_code == 401
    assert APIClient().post("/api/v1/chat/", {"message": "hi"}, format="json").status_code == 401


def test_a_key_never_reaches_another_bot(kb_bot, org, admin_user, client_for, other_org):
    second = make_bot(org, "Second")
    raw = create_key(client_for(admin_user), second).json()["key"]
    # A conversation of another bot (same org) and of another org: both invisible to this key.
    own_bot_conv = api_chat(
        create_key(client_for(admin_user), kb_bot).json()["key"], {"message": "office"}
    ).json()
    response = api_chat(raw, {"message": "hi", "conversation_id": own_bot_conv["conversation_id"]})
    assert response.status_code == 404
    answer = api_chat(raw, {"message": "When does the office open?"}).json()
    assert "08:30" not in answer["answer"] and answer["unanswered"] is True  # second bot has no documents
    # The key cannot be used on builder endpoints either.
    builder = APIClient().get(f"/api/orgs/{org.pk}/bots/{kb_bot.pk}/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert builder.status_code == 401


def test_other_orgs_cannot_revoke_or_list_keys(kb_bot, admin_user, client_for, other_org):
    created = create_key(client_for(admin_user), kb_bot).json()
    stranger = client_for(other_org.owner)
    assert stranger.get(chat_url(kb_bot, "api-keys/")).status_code == 404
    assert stranger.delete(chat_url(kb_bot, f"api-keys/{created['id']}/")).status_code == 404
    assert stranger.delete(chat_url(other_org.bot, f"api-keys/{created['id']}/")).status_code == 404
    assert BotApiKey.objects.for_org(kb_bot.org).get().revoked_at is None


def test_api_key_and_member_chat_rate_limits(kb_bot, admin_user, viewer, client_for, settings):
    settings.API_KEY_CHAT_RATE = "1/minute"
    settings.MEMBER_CHAT_RATE = "1/minute"
    raw = create_key(client_for(admin_user), kb_bot).json()["key"]
    assert api_chat(raw, {"message": "office?"}).status_code == 200
    limited = api_chat(raw, {"message": "office?"})
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
    member = client_for(viewer)
    assert member.post(chat_url(kb_bot), {"message": "office?"}, format="json").status_code == 200
    assert member.post(chat_url(kb_bot, "search/"), {"query": "office"}, format="json").status_code == 429
