"""The widget's bot settings through the builder API, the admin and the public profile; avatars."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from bots.admin import BotAdminForm
from bots.models import Bot
from integrations import storage
from tenants.models import AuditEvent

from .images import gif_header, png

pytestmark = pytest.mark.django_db

ORIGIN = "https://shop.example.com"


def url(bot, suffix=""):
    return f"/api/orgs/{bot.org_id}/bots/{bot.pk}/{suffix}"


def field_errors(body: dict) -> dict:
    """Validation errors by field, from either error shape: {detail, errors: {...}} or {field: [...]}."""
    return body["errors"] if isinstance(body.get("errors"), dict) else body


def upload(client, bot, data, name="avatar.png"):
    return client.put(url(bot, "avatar/"), {"file": SimpleUploadedFile(name, data)}, format="multipart")


def test_editor_sets_the_widget_look_and_gets_the_embed_snippet(bot, editor, client_for):
    response = client_for(editor).patch(
        url(bot),
        {
            "theme_color": "#AA3366",
            "position": "left",
            "launcher_text": "Ask us",
            "suggested_questions": ["  Where is my   order? ", "Do you ship abroad?"],
            "show_sources": False,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["theme_color"], body["position"], body["launcher_text"]) == ("#aa3366", "left", "Ask us")
    assert body["suggested_questions"] == ["Where is my order?", "Do you ship abroad?"]
    assert body["show_sources"] is False and body["avatar_url"] is None
    assert body["embed_snippet"] == (
        f'<script src="http://testserver/widget.js" data-bot="{bot.public_id}" async></script>'
    )
    bot.refresh_from_db()
    assert bot.theme_color == "#aa3366" and bot.position == "left" and not bot.show_sources
    event = AuditEvent.objects.filter(action="bot.updated").latest("created_at")
    assert "theme_color" in event.changes
    # Defaults for a new bot, and the snippet on list responses too.
    created = (
        client_for(editor).post(f"/api/orgs/{bot.org_id}/bots/", {"name": "Fresh"}, format="json").json()
    )
    assert (created["theme_color"], created["position"], created["suggested_questions"]) == (
        "#2f6f8f",
        "right",
        [],
    )
    listed = client_for(editor).get(f"/api/orgs/{bot.org_id}/bots/").json()["results"]
    assert all(row["embed_snippet"].startswith('<script src="http://testserver/widget.js"') for row in listed)


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"theme_color": "red"}, "theme_color", "six hex digits"),
        ({"theme_color": "#12345"}, "theme_color", "six hex digits"),
        ({"position": "top"}, "position", "not a valid choice"),
        ({"launcher_text": "x" * 41}, "launcher_text", "no more than 40"),
        ({"suggested_questions": ["a", "b", "c", "d", "e"]}, "suggested_questions", "at most 4"),
        ({"suggested_questions": ["Same?", "SAME?"]}, "suggested_questions", "listed twice"),
        ({"suggested_questions": ["x" * 201]}, "suggested_questions", "no more than 200"),
        ({"suggested_questions": [""]}, "suggested_questions", "blank"),
        ({"suggested_questions": "Returns?"}, "suggested_questions", "list"),
        ({"show_sources": "maybe"}, "show_sources", "valid boolean"),
        ({"avatar_key": "x/y.png"}, "avatar_key", "Unknown field"),
    ],
)
def test_bad_widget_settings_are_400_with_a_field_message_and_change_nothing(
    bot, editor, client_for, payload, field, message
):
    response = client_for(editor).patch(url(bot), payload, format="json")
    assert response.status_code == 400, response.content
    errors = field_errors(response.json())
    assert message.lower() in str(errors[field]).lower()
    fresh = Bot.objects.for_org(bot.org).get(pk=bot.pk)
    assert (fresh.theme_color, fresh.position, fresh.suggested_questions) == ("#2f6f8f", "right", [])


def test_public_profile_returns_the_look_the_widget_draws(bot, editor, client_for):
    client_for(editor).patch(
        url(bot),
        {
            "theme_color": "#123abc",
            "launcher_text": "Help",
            "suggested_questions": ["Hours?"],
            "show_sources": False,
        },
        format="json",
    )
    upload(client_for(editor), bot, png(40, 40))
    bot.refresh_from_db()
    profile = APIClient().get(f"/api/public/bots/{bot.public_id}/").json()
    assert profile["theme_color"] == "#123abc" and profile["position"] == "right"
    assert profile["launcher_text"] == "Help" and profile["suggested_questions"] == ["Hours?"]
    assert profile["show_sources"] is False and profile["initials"] == "SB"
    assert (
        profile["avatar_url"]
        == f"http://testserver/api/public/bots/{bot.public_id}/avatar/?v={bot.avatar_version}"
    )
    # Nothing operator-only leaks into the public profile.
    assert not {"system_prompt", "allowed_origins", "model_name", "avatar_key", "embed_snippet"} & set(
        profile
    )


def test_avatar_upload_is_sniffed_stored_served_safely_and_replaced(
    bot, editor, client_for, django_capture_on_commit_callbacks
):
    client = client_for(editor)
    first = upload(client, bot, png(64, 64), name="logo.gif")  # the name is not trusted
    assert first.status_code == 200, first.content
    bot.refresh_from_db()
    first_key = bot.avatar_key
    assert first_key.startswith(f"{bot.org_id}/{bot.pk}/avatar/") and first_key.endswith(".png")
    assert first.json()["avatar_url"].endswith(f"/avatar/?v={bot.avatar_version}")
    assert AuditEvent.objects.filter(action="bot.avatar_set", target_id=str(bot.pk)).exists()

    served = APIClient().get(
        f"/api/public/bots/{bot.public_id}/avatar/?v={bot.avatar_version}", HTTP_ACCEPT="image/*"
    )
    assert served.status_code == 200
    assert served.content == png(64, 64) and served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert served["Cache-Control"] == "public, max-age=31536000, immutable"
    stale = APIClient().get(f"/api/public/bots/{bot.public_id}/avatar/?v=old", HTTP_ACCEPT="image/png")
    assert stale.status_code == 200 and stale["Cache-Control"] == "no-cache"

    with django_capture_on_commit_callbacks(execute=True):
        second = upload(client, bot, gif_header(16, 16))
    assert second.status_code == 200
    bot.refresh_from_db()
    assert bot.avatar_key.endswith(".gif") and bot.avatar_key != first_key
    assert not storage.exists(first_key) and storage.exists(bot.avatar_key)

    with django_capture_on_commit_callbacks(execute=True):
        cleared = client.delete(url(bot, "avatar/"))
    assert cleared.status_code == 200 and cleared.json()["avatar_url"] is None
    assert not storage.exists(bot.avatar_key)
    assert APIClient().get(f"/api/public/bots/{bot.public_id}/avatar/").status_code == 404


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', 415, "SVG is not accepted"),
        (b"GIF89a", 415, "damaged"),
        (png(2000, 10), 400, "1024 pixels"),
        (png(2, 2) + b"\x00" * (256 * 1024), 413, "limit is 256 KiB"),
    ],
)
def test_bad_avatars_are_refused_and_nothing_is_stored(bot, editor, client_for, data, status, message):
    response = upload(client_for(editor), bot, data)
    assert response.status_code == status, response.content
    assert message in response.json()["detail"]
    assert "file" in field_errors(response.json())
    bot.refresh_from_db()
    assert bot.avatar_key == ""
    assert not AuditEvent.objects.filter(action="bot.avatar_set").exists()


def test_an_empty_avatar_file_is_400(bot, editor, client_for):
    response = upload(client_for(editor), bot, b"")
    assert response.status_code == 400 and "file" in field_errors(response.json())


@pytest.mark.parametrize(("persona", "expected"), [("viewer", 403), ("outsider", 404), ("anonymous", 401)])
def test_only_editors_of_the_org_change_the_avatar(bot, personas, client_for, persona, expected):
    client = client_for(personas[persona])
    assert upload(client, bot, png()).status_code == expected
    assert client.delete(url(bot, "avatar/")).status_code == expected
    bot.refresh_from_db()
    assert bot.avatar_key == ""


def test_the_public_avatar_follows_the_bots_state_and_origins(bot, editor, client_for):
    upload(client_for(editor), bot, png())
    path = f"/api/public/bots/{bot.public_id}/avatar/"
    assert APIClient().get(path, HTTP_ORIGIN="https://evil.example.net").status_code == 403
    bot.allowed_origins = [ORIGIN]
    bot.is_active = False
    bot.save()
    inactive = APIClient().get(path, HTTP_ACCEPT="image/*")
    assert inactive.status_code == 403 and inactive.json()["code"] == "bot_inactive"
    assert APIClient().get("/api/public/bots/b_missing/avatar/").status_code == 404


def test_admin_form_edits_the_widget_look_with_the_same_rules(bot):
    data = {
        "org": bot.org_id,
        "name": bot.name,
        "fallback_message": bot.fallback_message,
        "temperature": 0.2,
        "top_k": 5,
        "relevance_threshold": 0.15,
        "allowed_origins": "[]",
        "theme_color": "#336699",
        "position": "left",
        "launcher_text": "Hi",
        "suggested_questions": "First question?\n\n  Second   question?  \n",
        "show_sources": "on",
        "is_active": "on",
    }
    form = BotAdminForm(
        data=data, files={"avatar_upload": SimpleUploadedFile("a.png", png(8, 8))}, instance=bot
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["suggested_questions"] == ["First question?", "Second question?"]
    assert form.avatar_bytes == png(8, 8)
    form.save()
    bot.refresh_from_db()
    assert (bot.theme_color, bot.position, bot.suggested_questions) == (
        "#336699",
        "left",
        ["First question?", "Second question?"],
    )
    refused = BotAdminForm(
        data={**data, "theme_color": "blue", "suggested_questions": "a\nb\nc\nd\ne"},
        files={"avatar_upload": SimpleUploadedFile("a.png", b"<svg/>")},
        instance=bot,
    )
    assert not refused.is_valid()
    assert set(refused.errors) == {"theme_color", "suggested_questions", "avatar_upload"}
    assert "SVG is not accepted" in refused.errors["avatar_upload"][0]


def test_admin_change_page_uploads_the_avatar_through_the_service(bot, client, django_user_model):
    admin = django_user_model.objects.create_superuser(email="ops@example.com", password="pw-123456")
    client.force_login(admin)
    page = client.get(f"/admin/bots/bot/{bot.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-bot="{bot.public_id}"' in html and 'type="color"' in html
    response = client.post(
        f"/admin/bots/bot/{bot.pk}/change/",
        {
            "name": bot.name,
            "fallback_message": bot.fallback_message,
            "system_prompt": bot.system_prompt,
            "greeting": bot.greeting,
            "temperature": "0.2",
            "top_k": "5",
            "relevance_threshold": "0.15",
            "allowed_origins": "[]",
            "theme_color": "#224466",
            "position": "right",
            "suggested_questions": "Hours?",
            "show_sources": "on",
            "is_active": "on",
            "avatar_upload": SimpleUploadedFile("me.png", png(12, 12)),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    bot.refresh_from_db()
    assert bot.theme_color == "#224466" and bot.suggested_questions == ["Hours?"]
    assert bot.avatar_key.endswith(".png") and storage.read(bot.avatar_key) == png(12, 12)
    assert AuditEvent.objects.filter(action="bot.avatar_set", actor=admin).exists()
