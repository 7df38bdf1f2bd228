from __future__ import annotations

import pytest

from tenants.models import AuditEvent, Membership, Organization, Role
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_me_lists_memberships(org, editor, client_for):
    body = client_for(editor).get("/api/auth/me/").json()
    assert body["email"] == "editor@example.com"
    assert body["memberships"] == [{"org_id": str(org.pk), "org_name": "Acme", "role": "editor"}]


def test_creating_an_org_makes_me_its_owner_and_is_audited(outsider, client_for):
    response = client_for(outsider).post("/api/orgs/", {"name": "  Initech  "}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Initech" and body["role"] == "owner"
    org = Organization.objects.get(pk=body["id"])
    assert Membership.objects.get(org=org, user=outsider).role == Role.OWNER
    assert AuditEvent.objects.filter(action="org.created", org_id=org.pk, actor=outsider).exists()


def test_org_list_shows_only_my_orgs_with_my_role(org, viewer, other_org, client_for):
    body = client_for(viewer).get("/api/orgs/").json()
    assert body["count"] == 1
    assert body["results"][0]["id"] == str(org.pk)
    assert body["results"][0]["role"] == "viewer"


def test_org_name_is_validated_and_unknown_fields_rejected(org, owner, client_for):
    client = client_for(owner)
    assert client.patch(f"/api/orgs/{org.pk}/", {"name": ""}, format="json").status_code == 400
    response = client.patch(f"/api/orgs/{org.pk}/", {"name": "Ok", "plan": "enterprise"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"plan": ["Unknown field."]}
    org.refresh_from_db()
    assert org.name == "Acme"


def test_owner_deletes_the_org_with_its_bots(org, bot, owner, client_for):
    assert client_for(owner).delete(f"/api/orgs/{org.pk}/").status_code == 204
    assert not Organization.objects.filter(pk=org.pk).exists()
    assert AuditEvent.objects.filter(action="org.deleted", org_id=org.pk).exists()


def test_health_reports_each_dependency(client):
    client.force_login(make_user("ops@example.com", is_staff=True))  # the details are for staff
    response = client.get("/api/health/")
    assert response.status_code == 200, response.content
    checks = response.json()["checks"]
    assert checks["database"]["status"] == "ok"
    assert set(checks) >= {"database", "storage", "vector_store"}


def test_openapi_schema_and_offline_swagger_ui(client):
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/orgs/{org_id}/bots/{bot_id}/" in paths
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    # Served from the sidecar package, not a CDN: works without internet.
    assert "cdn.jsdelivr" not in docs.content.decode()
    assert "drf_spectacular_sidecar" in docs.content.decode()


def test_basic_auth_works_for_the_local_default(org, owner, client):
    import base64

    token = base64.b64encode(b"owner@example.com:pw-123456").decode()
    response = client.get("/api/orgs/", HTTP_AUTHORIZATION=f"Basic {token}")
    assert response.status_code == 200
    assert response.json()["results"][0]["name"] == "Acme"


def test_admin_lists_orgs_and_bots_for_operators(org, bot, client):
    from accounts.models import User

    operator = User.objects.create_superuser(email="ops@example.com", password="ops-pass-123")  # noqa: S106
    client.force_login(operator)
    for path in (
        "/admin/tenants/organization/",
        "/admin/bots/bot/",
        f"/admin/bots/bot/{bot.pk}/change/",
        f"/admin/tenants/organization/{org.pk}/change/",
        "/admin/tenants/auditevent/",
        "/admin/accounts/user/",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
    assert bot.name in client.get("/admin/bots/bot/").content.decode()


def test_operator_adds_a_bot_in_the_admin_choosing_its_org(org, client):
    from accounts.models import User
    from bots.models import Bot

    operator = User.objects.create_superuser(email="ops2@example.com", password="ops-pass-123")  # noqa: S106
    client.force_login(operator)
    assert client.get("/admin/bots/bot/add/").status_code == 200
    response = client.post(
        "/admin/bots/bot/add/",
        {
            "org": str(org.pk),
            "name": "Made by ops",
            "system_prompt": "Be nice.",
            "greeting": "Hi",
            "fallback_message": "Dunno",
            "temperature": "0.5",
            "top_k": "5",
            "relevance_threshold": "0.15",
            "is_active": "on",
            "allowed_origins": "[]",
            "model_name": "",
            "description": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    bot = Bot.objects.for_org(org).get(name="Made by ops")
    assert bot.created_by == operator
    # The org is fixed once created.
    assert 'name="org"' not in client.get(f"/admin/bots/bot/{bot.pk}/change/").content.decode()
