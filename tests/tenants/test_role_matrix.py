"""For every foundation endpoint and each persona: the expected status code."""

from __future__ import annotations

import pytest

from analytics.models import UnansweredQuestion
from tests.factories import add_member, make_user

PERSONAS = ["owner", "admin", "editor", "viewer", "outsider", "anonymous"]


def _s(owner, admin, editor, viewer, outsider, anonymous):
    return dict(zip(PERSONAS, [owner, admin, editor, viewer, outsider, anonymous], strict=True))


# (name, method, url template, body, expected statuses per persona)
MATRIX = [
    ("me", "get", "/api/auth/me", None, _s(200, 200, 200, 200, 200, 401)),
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
]

CASES = [
    pytest.param(method, url, body, persona, expected[persona], id=f"{name}-{persona}")
    for name, method, url, body, expected in MATRIX
    for persona in PERSONAS
]


@pytest.mark.parametrize(("method", "url", "body", "persona", "expected"), CASES)
def test_role_matrix(personas, org, bot, client_for, method, url, body, persona, expected):
    # The member every member endpoint acts on: someone other than the caller.
    target = add_member(org, make_user("target@example.com"), "viewer")
    group = UnansweredQuestion.objects.create(org=org, bot=bot, key_hash="0" * 64, key="when", text="When?")
    client = client_for(personas[persona])
    response = getattr(client, method)(
        url.format(org=org.pk, bot=bot.pk, member=target.pk, group=group.pk), body, format="json"
    )
    assert response.status_code == expected, response.content
    if expected == 404:
        assert str(org.pk) not in response.content.decode()
