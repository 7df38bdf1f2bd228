"""For every org-scoped endpoint and each persona: the expected status code.

Viewers read and chat; editors write bots and documents; admins manage members and API keys; only
owners delete the org. A non-member gets 404 for everything under the org, an anonymous caller 401.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from analytics.models import UnansweredQuestion
from chat.models import Channel
from chat.services import api_key_create, chat_answer
from documents.services import document_upload
from tests.factories import add_member, make_user

PERSONAS = ["owner", "admin", "editor", "viewer", "outsider", "anonymous"]


def _s(owner, admin, editor, viewer, outsider, anonymous):
    return dict(zip(PERSONAS, [owner, admin, editor, viewer, outsider, anonymous], strict=True))


# (name, method, url template, body, expected statuses per persona)
MATRIX = [
    ("me", "get", "/api/auth/me/", None, _s(200, 200, 200, 200, 200, 401)),
    ("org-list", "get", "/api/orgs/", None, _s(200, 200, 200, 200, 200, 401)),
    ("org-create", "post", "/api/orgs/", {"name": "New org"}, _s(201, 201, 201, 201, 201, 401)),
    ("org-get", "get", "/api/orgs/{org}/", None, _s(200, 200, 200, 200, 404, 401)),
    ("org-patch", "patch", "/api/orgs/{org}/", {"name": "Renamed"}, _s(200, 200, 403, 403, 404, 401)),
    ("org-delete", "delete", "/api/orgs/{org}/", None, _s(204, 403, 403, 403, 404, 401)),
    ("member-list", "get", "/api/orgs/{org}/members/", None, _s(200, 200, 200, 200, 404, 401)),
    # Adding by email is always an invitation the invitee accepts (202), account or not.
    (
        "member-invite",
        "post",
        "/api/orgs/{org}/members/",
        {"email": "new@example.com", "role": "viewer"},
        _s(202, 202, 403, 403, 404, 401),
    ),
    # An existing account (the other org's owner): invited too, never added without consent.
    (
        "member-add",
        "post",
        "/api/orgs/{org}/members/",
        {"email": "outsider@example.com", "role": "viewer"},
        _s(202, 202, 403, 403, 404, 401),
    ),
    ("my-invitations", "get", "/api/invitations/", None, _s(200, 200, 200, 200, 200, 401)),
    ("member-get", "get", "/api/orgs/{org}/members/{member}/", None, _s(200, 200, 200, 200, 404, 401)),
    (
        "member-patch",
        "patch",
        "/api/orgs/{org}/members/{member}/",
        {"role": "editor"},
        _s(200, 200, 403, 403, 404, 401),
    ),
    ("member-delete", "delete", "/api/orgs/{org}/members/{member}/", None, _s(204, 204, 403, 403, 404, 401)),
    ("invitation-list", "get", "/api/orgs/{org}/invitations/", None, _s(200, 200, 403, 403, 404, 401)),
    ("org-usage", "get", "/api/orgs/{org}/usage/", None, _s(200, 200, 200, 200, 404, 401)),
    ("bot-list", "get", "/api/orgs/{org}/bots/", None, _s(200, 200, 200, 200, 404, 401)),
    (
        "bot-create",
        "post",
        "/api/orgs/{org}/bots/",
        {"name": "Brand new bot"},
        _s(201, 201, 201, 403, 404, 401),
    ),
    ("bot-get", "get", "/api/orgs/{org}/bots/{bot}/", None, _s(200, 200, 200, 200, 404, 401)),
    (
        "bot-patch",
        "patch",
        "/api/orgs/{org}/bots/{bot}/",
        {"temperature": 1.0},
        _s(200, 200, 200, 403, 404, 401),
    ),
    ("bot-delete", "delete", "/api/orgs/{org}/bots/{bot}/", None, _s(204, 204, 204, 403, 404, 401)),
    # Analytics: admins read figures and exports; editors review unanswered questions too.
    (
        "analytics-summary",
        "get",
        "/api/orgs/{org}/analytics/summary/",
        None,
        _s(200, 200, 403, 403, 404, 401),
    ),
    ("analytics-usage", "get", "/api/orgs/{org}/analytics/usage/", None, _s(200, 200, 403, 403, 404, 401)),
    (
        "analytics-export",
        "get",
        "/api/orgs/{org}/analytics/export/messages/",
        None,
        _s(200, 200, 403, 403, 404, 401),
    ),
    (
        "analytics-unanswered",
        "get",
        "/api/orgs/{org}/analytics/unanswered/",
        None,
        _s(200, 200, 200, 403, 404, 401),
    ),
    (
        "analytics-resolve",
        "post",
        "/api/orgs/{org}/analytics/unanswered/{group}/resolve/",
        {"answer": "We open at nine."},
        _s(200, 200, 200, 403, 404, 401),
    ),
    (
        "analytics-ignore",
        "post",
        "/api/orgs/{org}/analytics/unanswered/{group}/ignore/",
        None,
        _s(200, 200, 200, 403, 404, 401),
    ),
    (
        "analytics-reopen",
        "post",
        "/api/orgs/{org}/analytics/unanswered/{group}/reopen/",
        None,
        _s(200, 200, 200, 403, 404, 401),
    ),
    # Documents: every member reads them; editors upload, re-index and delete.
    ("document-list", "get", "{bot_url}documents/", None, _s(200, 200, 200, 200, 404, 401)),
    ("document-upload", "post", "{bot_url}documents/", "file", _s(201, 201, 201, 403, 404, 401)),
    ("document-get", "get", "{bot_url}documents/{document}/", None, _s(200, 200, 200, 200, 404, 401)),
    (
        "document-chunks",
        "get",
        "{bot_url}documents/{document}/chunks/",
        None,
        _s(200, 200, 200, 200, 404, 401),
    ),
    (
        "document-reindex",
        "post",
        "{bot_url}documents/{document}/reindex/",
        None,
        _s(202, 202, 202, 403, 404, 401),
    ),
    ("document-delete", "delete", "{bot_url}documents/{document}/", None, _s(204, 204, 204, 403, 404, 401)),
    ("bot-reindex", "post", "{bot_url}reindex/", None, _s(202, 202, 202, 403, 404, 401)),
    # Chat: viewers search, chat, read the bot's conversations and rate answers.
    ("search", "post", "{bot_url}search/", {"query": "opening hours"}, _s(200, 200, 200, 200, 404, 401)),
    ("chat", "post", "{bot_url}chat/", {"message": "When do you open?"}, _s(200, 200, 200, 200, 404, 401)),
    ("conversation-list", "get", "{bot_url}conversations/", None, _s(200, 200, 200, 200, 404, 401)),
    (
        "conversation-get",
        "get",
        "{bot_url}conversations/{conversation}/",
        None,
        _s(200, 200, 200, 200, 404, 401),
    ),
    (
        "feedback",
        "post",
        "{bot_url}messages/{message}/feedback/",
        {"rating": "up"},
        _s(200, 200, 200, 200, 404, 401),
    ),
    # API keys: admins only, reading included (a key's name and prefix are the admin's business).
    ("api-key-list", "get", "{bot_url}api-keys/", None, _s(200, 200, 403, 403, 404, 401)),
    ("api-key-create", "post", "{bot_url}api-keys/", {"name": "CI"}, _s(201, 201, 403, 403, 404, 401)),
    ("api-key-revoke", "delete", "{bot_url}api-keys/{key}/", None, _s(204, 204, 403, 403, 404, 401)),
]

CASES = [
    pytest.param(method, url, body, persona, expected[persona], id=f"{name}-{persona}")
    for name, method, url, body, expected in MATRIX
    for persona in PERSONAS
]


@pytest.mark.parametrize(("method", "url", "body", "persona", "expected"), CASES)
def test_role_matrix(
    personas,
    org,
    bot,
    owner,
    client_for,
    django_capture_on_commit_callbacks,
    method,
    url,
    body,
    persona,
    expected,
):
    # The member every member endpoint acts on: someone other than the caller.
    target = add_member(org, make_user("target@example.com"), "viewer")
    group = UnansweredQuestion.objects.create(org=org, bot=bot, key_hash="0" * 64, key="when", text="When?")
    ids = {
        "org": org.pk,
        "member": target.pk,
        "group": group.pk,
        "bot_url": f"/api/orgs/{org.pk}/bots/{bot.pk}/",
    }
    # A processed document, an answered question and an API key of the org's bot, where the URL needs one.
    if "{document}" in url:
        with django_capture_on_commit_callbacks(execute=True):
            ids["document"] = document_upload(
                bot=bot, user=owner, data=b"# Hours\n\nWe open at nine.\n", filename="h.md"
            )[0].pk
    if "{conversation}" in url or "{message}" in url:
        answer = chat_answer(bot=bot, message="When do you open?", channel=Channel.BUILDER, user=owner)
        ids["conversation"], ids["message"] = answer.conversation.pk, answer.message.pk
    if "{key}" in url:
        ids["key"] = api_key_create(bot=bot, user=owner, name="Existing")[0].pk
    fmt = "json"
    if body == "file":
        body, fmt = {"file": SimpleUploadedFile("faq.md", b"# FAQ\n\nReturns take 30 days.\n")}, "multipart"
    client = client_for(personas[persona])
    with django_capture_on_commit_callbacks(execute=True):
        response = getattr(client, method)(url.format(bot=bot.pk, **ids), body, format=fmt)
    assert response.status_code == expected, response.content
    if expected == 404:
        assert str(org.pk) not in response.content.decode()
