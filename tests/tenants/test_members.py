from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services import user_create, user_sync_from_claims
from tenants.models import AuditEvent, Invitation, Membership, Role

pytestmark = pytest.mark.django_db


def members_url(org, membership=None):
    return f"/api/orgs/{org.pk}/members/" + (f"{membership.pk}/" if membership else "")


def test_nobody_can_demote_the_last_owner(org, owner, client_for):
    mine = Membership.objects.get(org=org, user=owner)
    response = client_for(owner).patch(members_url(org, mine), {"role": "admin"}, format="json")
    assert response.status_code == 400
    assert "last owner" in response.json()["errors"]["role"][0]
    mine.refresh_from_db()
    assert mine.role == Role.OWNER


def test_the_last_owner_cannot_leave_or_be_removed(org, owner, client_for):
    mine = Membership.objects.get(org=org, user=owner)
    response = client_for(owner).delete(members_url(org, mine))
    assert response.status_code == 400
    assert Membership.objects.filter(pk=mine.pk).exists()


def test_with_two_owners_one_may_step_down(org, owner, admin_user, client_for):
    promoted = Membership.objects.get(org=org, user=admin_user)
    assert (
        client_for(owner).patch(members_url(org, promoted), {"role": "owner"}, format="json").status_code
        == 200
    )
    mine = Membership.objects.get(org=org, user=owner)
    assert (
        client_for(owner).patch(members_url(org, mine), {"role": "viewer"}, format="json").status_code == 200
    )
    assert Membership.objects.filter(org=org, role=Role.OWNER).count() == 1


def test_an_admin_cannot_grant_or_remove_the_owner_role(org, owner, admin_user, viewer, client_for):
    target = Membership.objects.get(org=org, user=viewer)
    response = client_for(admin_user).patch(members_url(org, target), {"role": "owner"}, format="json")
    assert response.status_code == 403
    owner_membership = Membership.objects.get(org=org, user=owner)
    assert client_for(admin_user).delete(members_url(org, owner_membership)).status_code == 403
    response = client_for(admin_user).post(
        members_url(org), {"email": "x@example.com", "role": "owner"}, format="json"
    )
    assert response.status_code == 403


def test_any_member_may_leave(org, viewer, client_for):
    mine = Membership.objects.get(org=org, user=viewer)
    assert client_for(viewer).delete(members_url(org, mine)).status_code == 204
    assert client_for(viewer).get(f"/api/orgs/{org.pk}/").status_code == 404


def test_adding_an_existing_member_again_is_400(org, owner, editor, client_for):
    response = client_for(owner).post(
        members_url(org), {"email": "EDITOR@example.com", "role": "viewer"}, format="json"
    )
    assert response.status_code == 400
    assert "already a member" in response.json()["errors"]["email"][0]


def test_bad_role_and_bad_email_are_400(org, owner, client_for):
    response = client_for(owner).post(
        members_url(org), {"email": "not-an-email", "role": "god"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"email", "role"}


def test_invitation_is_accepted_on_first_login(org, owner, client_for):
    response = client_for(owner).post(
        members_url(org), {"email": "New.Person@example.com", "role": "editor"}, format="json"
    )
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    user = user_sync_from_claims(sub="cognito-sub-1", email="new.person@example.com", name="New Person")
    membership = Membership.objects.get(org=org, user=user)
    assert membership.role == Role.EDITOR
    assert Invitation.objects.get(org=org).accepted_at is not None
    assert AuditEvent.objects.filter(action="invitation.accepted", org_id=org.pk).exists()


def test_invitation_is_accepted_on_local_password_login(org, owner, client):
    Invitation.objects.create(org=org, email="local@example.com", role=Role.VIEWER, invited_by=owner)
    from accounts.models import User

    User.objects.create_user(email="local@example.com", password="s3cret-pass")  # noqa: S106
    assert client.login(email="local@example.com", password="s3cret-pass")  # noqa: S106
    assert Membership.objects.filter(org=org, user__email="local@example.com", role=Role.VIEWER).exists()


def test_expired_invitation_is_not_accepted_and_can_be_renewed(org, owner, client_for):
    Invitation.objects.create(
        org=org,
        email="late@example.com",
        role=Role.ADMIN,
        invited_by=owner,
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    user = user_create(email="late@example.com", password="whatever-123")
    assert not Membership.objects.filter(org=org, user=user).exists()
    user.delete()
    response = client_for(owner).post(
        members_url(org), {"email": "late@example.com", "role": "viewer"}, format="json"
    )
    assert response.status_code == 202


def test_pending_invitation_twice_is_400(org, owner, client_for):
    body = {"email": "twice@example.com", "role": "viewer"}
    assert client_for(owner).post(members_url(org), body, format="json").status_code == 202
    response = client_for(owner).post(members_url(org), body, format="json")
    assert response.status_code == 400
    assert "pending invitation" in response.json()["errors"]["email"][0]


def test_admin_revokes_an_invitation(org, owner, admin_user, client_for):
    invitation = Invitation.objects.create(org=org, email="gone@example.com", role=Role.VIEWER)
    listing = client_for(admin_user).get(f"/api/orgs/{org.pk}/invitations/").json()
    assert [i["email"] for i in listing["results"]] == ["gone@example.com"]
    response = client_for(admin_user).delete(f"/api/orgs/{org.pk}/invitations/{invitation.pk}/")
    assert response.status_code == 204
    assert not Invitation.objects.filter(pk=invitation.pk).exists()
