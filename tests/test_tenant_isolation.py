"""Tenant isolation: structural scoping, 404 for other orgs' ids, no foreign ids in any body."""

from __future__ import annotations

import pytest
from django.apps import apps

from bots.models import Bot
from tenants.models import Membership, Organization, TenantScopedModel, UnscopedQueryError


def test_every_model_with_an_org_field_inherits_the_scoped_base():
    exempt = {Membership}  # scoping is decided from memberships: they are read by (org, user) only
    offenders = []
    for model in apps.get_models():
        fields = {f.name: f for f in model._meta.get_fields()}
        org_field = fields.get("org")
        if org_field is None or getattr(org_field, "related_model", None) is not Organization:
            continue
        if model in exempt or model._meta.app_label == "tenants":
            continue
        if not issubclass(model, TenantScopedModel):
            offenders.append(model._meta.label)
    assert offenders == []
    # The check is not vacuous: at least the bot model is covered.
    assert issubclass(Bot, TenantScopedModel)


@pytest.mark.django_db
def test_unscoped_query_on_a_tenant_model_raises(bot):
    with pytest.raises(UnscopedQueryError):
        list(Bot.objects.all())
    with pytest.raises(UnscopedQueryError):
        Bot.objects.filter(name=bot.name).exists()
    with pytest.raises(UnscopedQueryError):
        Bot.objects.count()
    with pytest.raises(UnscopedQueryError):
        Bot.objects.get(pk=bot.pk)
    with pytest.raises(UnscopedQueryError):
        Bot.objects.filter(pk=bot.pk).update(name="x")
    with pytest.raises(UnscopedQueryError):
        Bot.objects.filter(pk=bot.pk).delete()


@pytest.mark.django_db
def test_scoped_query_sees_only_its_own_org(org, bot, other_org):
    assert list(Bot.objects.for_org(org)) == [bot]
    assert list(Bot.objects.for_org(other_org)) == [other_org.bot]
    assert not Bot.objects.for_org(org).filter(pk=other_org.bot.pk).exists()


@pytest.mark.django_db
def test_for_org_refuses_none():
    with pytest.raises(UnscopedQueryError):
        Bot.objects.for_org(None)


def _endpoints(org, bot, member_id):
    return [
        ("get", f"/api/orgs/{org}/", None),
        ("patch", f"/api/orgs/{org}/", {"name": "pwned"}),
        ("delete", f"/api/orgs/{org}/", None),
        ("get", f"/api/orgs/{org}/members/", None),
        ("post", f"/api/orgs/{org}/members/", {"email": "spy@example.com", "role": "owner"}),
        ("get", f"/api/orgs/{org}/members/{member_id}/", None),
        ("patch", f"/api/orgs/{org}/members/{member_id}/", {"role": "viewer"}),
        ("delete", f"/api/orgs/{org}/members/{member_id}/", None),
        ("get", f"/api/orgs/{org}/invitations/", None),
        ("get", f"/api/orgs/{org}/bots/", None),
        ("post", f"/api/orgs/{org}/bots/", {"name": "intruder"}),
        ("get", f"/api/orgs/{org}/bots/{bot}/", None),
        ("patch", f"/api/orgs/{org}/bots/{bot}/", {"name": "pwned"}),
        ("delete", f"/api/orgs/{org}/bots/{bot}/", None),
        ("put", f"/api/orgs/{org}/bots/{bot}/avatar/", {}),
        ("delete", f"/api/orgs/{org}/bots/{bot}/avatar/", None),
    ]


@pytest.mark.django_db
def test_other_orgs_ids_are_404_with_no_foreign_ids_in_the_body(org, owner, other_org, client_for):
    """The owner of `org` (a real member somewhere) probes every endpoint with `other_org`'s ids."""
    foreign_member = Membership.objects.get(org=other_org, user=other_org.owner)
    client = client_for(owner)
    for method, url, body in _endpoints(other_org.pk, other_org.bot.pk, foreign_member.pk):
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == 404, (method, url, response.status_code)
        text = response.content.decode()
        for foreign_id in (other_org.pk, other_org.bot.pk, foreign_member.pk):
            assert str(foreign_id) not in text
    # Nothing was changed on the other side.
    other_org.refresh_from_db()
    assert other_org.name == "Globex"
    assert Bot.objects.for_org(other_org).get().name == "Globex bot"
    assert Membership.objects.filter(org=other_org).count() == 1


@pytest.mark.django_db
def test_mixing_org_ids_in_one_url_is_404(org, owner, other_org, client_for):
    """My org in the path, another org's bot id after it: still 404, never the foreign bot."""
    client = client_for(owner)
    for method in ("get", "patch", "delete"):
        body = {"name": "x"} if method == "patch" else None  # a GET's data would be its query string
        response = getattr(client, method)(
            f"/api/orgs/{org.pk}/bots/{other_org.bot.pk}/", body, format="json"
        )
        assert response.status_code == 404
    foreign_member = Membership.objects.get(org=other_org)
    response = client.patch(
        f"/api/orgs/{org.pk}/members/{foreign_member.pk}/", {"role": "viewer"}, format="json"
    )
    assert response.status_code == 404
    foreign_member.refresh_from_db()
    assert foreign_member.role == "owner"
