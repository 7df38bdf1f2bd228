from __future__ import annotations

import pytest

from bots.models import Bot
from tenants.models import AuditEvent

pytestmark = pytest.mark.django_db


def url(org, bot=None):
    return f"/api/orgs/{org.pk}/bots/" + (f"{bot.pk}/" if bot else "")


def test_editor_creates_a_bot_with_defaults_and_creator(org, editor, client_for):
    response = client_for(editor).post(url(org), {"name": "Helpdesk", "top_k": 7}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Helpdesk"
    assert body["top_k"] == 7
    assert body["temperature"] == 0.2
    assert body["public_id"].startswith("b_")
    assert body["created_by"]["email"] == "editor@example.com"
    assert body["org_id"] == str(org.pk)
    event = AuditEvent.objects.get(action="bot.created")
    assert event.actor == editor and event.org_id == org.pk and event.target_id == body["id"]


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"name": "B", "temperature": 2.5}, "temperature", "less than or equal to 2"),
        ({"name": "B", "temperature": -0.1}, "temperature", "greater than or equal to 0"),
        ({"name": "B", "top_k": 0}, "top_k", "greater than or equal to 1"),
        ({"name": "B", "top_k": 21}, "top_k", "less than or equal to 20"),
        ({"name": "B", "allowed_origins": ["http://example.com"]}, "allowed_origins", "only https"),
        ({"name": "B", "allowed_origins": ["https://example.com/path"]}, "allowed_origins", "no path"),
        ({"name": "B", "allowed_origins": ["*"]}, "allowed_origins", "wildcards"),
        ({"name": "B", "allowed_origins": "https://example.com"}, "allowed_origins", "list"),
        ({"name": ""}, "name", "blank"),
        ({"name": "B", "colour": "red"}, "colour", "Unknown field"),
        ({}, "name", "required"),
    ],
)
def test_bad_bot_input_is_400_with_a_field_message_and_writes_nothing(
    org, editor, client_for, payload, field, message
):
    response = client_for(editor).post(url(org), payload, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert field in errors
    assert message.lower() in " ".join(map(str, errors[field])).lower()
    assert Bot.objects.for_org(org).count() == 0
    assert not AuditEvent.objects.filter(action="bot.created").exists()


def test_duplicate_bot_name_in_one_org_is_400_case_insensitive(org, bot, editor, client_for):
    response = client_for(editor).post(url(org), {"name": bot.name.upper()}, format="json")
    assert response.status_code == 400
    assert "already exists" in response.json()["errors"]["name"][0]
    assert Bot.objects.for_org(org).count() == 1


def test_same_bot_name_in_two_orgs_is_fine(org, editor, other_org, client_for):
    response = client_for(editor).post(url(org), {"name": other_org.bot.name}, format="json")
    assert response.status_code == 201


def test_rename_onto_an_existing_name_is_400_and_keeps_the_old_name(org, bot, editor, client_for):
    second = Bot.objects.create(org=org, name="Second")
    response = client_for(editor).patch(url(org, second), {"name": "support BOT"}, format="json")
    assert response.status_code == 400
    second.refresh_from_db()
    assert second.name == "Second"


def test_patch_updates_fields_normalises_origins_and_audits_the_change(org, bot, editor, client_for):
    response = client_for(editor).patch(
        url(org, bot),
        {"allowed_origins": ["https://Shop.Example.com:443", "https://shop.example.com"], "is_active": False},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["allowed_origins"] == ["https://shop.example.com"]
    bot.refresh_from_db()
    assert bot.is_active is False
    event = AuditEvent.objects.get(action="bot.updated")
    assert event.changes["is_active"] == [True, False]


def test_bot_list_is_paginated(org, viewer, client_for):
    for i in range(3):
        Bot.objects.create(org=org, name=f"Bot {i}")
    response = client_for(viewer).get(url(org) + "?page_size=2")
    body = response.json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"] is not None


def test_delete_removes_the_bot_and_audits(org, bot, editor, client_for):
    assert client_for(editor).delete(url(org, bot)).status_code == 204
    assert not Bot.objects.for_org(org).filter(pk=bot.pk).exists()
    assert AuditEvent.objects.filter(action="bot.deleted", target_id=str(bot.pk)).exists()
