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
    assert set(response.json()["errors"]) == {"email", "role"}


def test_invitation_is_accepted_on_first_login(org, owner, client_for):
    response = client_for(owner).post(
        members_url(org), {"email": "New.Person@example.com", "role": "editor"}, format="json"
    )
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    user = user_sync_from_claims(
        sub="cognito-sub-1", email="new.person@example.com", email_verified=True, name="New Person"
    )
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


# -- consent: adding by email is always an invitation the invitee accepts (issue 8, finding 7) ------


def invitations_url(invitation=None, action=""):
    return "/api/invitations/" + (f"{invitation.pk}/{action}/" if invitation else "")


def test_adding_an_existing_account_or_a_new_address_answers_alike(org, owner, outsider, client_for):
    existing = client_for(owner).post(
        members_url(org), {"email": "outsider@example.com", "role": "editor"}, format="json"
    )
    unknown = client_for(owner).post(
        members_url(org), {"email": "nobody-yet@example.com", "role": "editor"}, format="json"
    )

    assert existing.status_code == unknown.status_code == 202
    assert (
        set(existing.json())
        == set(unknown.json())
        == {
            "id",
            "email",
            "role",
            "status",
            "created_at",
            "expires_at",
        }
    )
    assert existing.json()["status"] == unknown.json()["status"] == "pending"
    assert "user" not in existing.content.decode() and "name" not in existing.json()
    # Nobody joined: the account's owner has not said yes.
    assert not Membership.objects.filter(org=org, user=outsider).exists()


def test_an_existing_account_joins_by_accepting_its_invitation(org, owner, outsider, client_for):
    client_for(owner).post(
        members_url(org), {"email": "Outsider@Example.com", "role": "editor"}, format="json"
    )
    mine = client_for(outsider).get(invitations_url()).json()
    assert [(i["org_id"], i["org_name"], i["role"]) for i in mine] == [(str(org.pk), org.name, "editor")]
    invitation = Invitation.objects.get(org=org)

    response = client_for(outsider).post(invitations_url(invitation, "accept"))

    assert response.status_code == 200, response.content
    assert response.json() == {"org_id": str(org.pk), "org_name": org.name, "role": "editor"}
    assert Membership.objects.get(org=org, user=outsider).role == Role.EDITOR
    assert AuditEvent.objects.filter(action="invitation.accepted", org_id=org.pk).exists()
    assert client_for(outsider).get(invitations_url()).json() == []


def test_an_invitee_may_decline(org, owner, outsider, client_for):
    invitation = Invitation.objects.create(org=org, email="outsider@example.com", role=Role.ADMIN)

    assert client_for(outsider).post(invitations_url(invitation, "decline")).status_code == 204

    assert not Invitation.objects.filter(pk=invitation.pk).exists()
    assert not Membership.objects.filter(org=org, user=outsider).exists()
    assert AuditEvent.objects.filter(action="invitation.declined", org_id=org.pk).exists()


def test_someone_elses_invitation_cannot_be_seen_or_accepted(org, owner, outsider, viewer, client_for):
    invitation = Invitation.objects.create(org=org, email="outsider@example.com", role=Role.ADMIN)

    assert client_for(viewer).get(invitations_url()).json() == []
    for action in ("accept", "decline"):
        response = client_for(viewer).post(invitations_url(invitation, action))
        assert response.status_code == 404
    assert Membership.objects.get(org=org, user=viewer).role == Role.VIEWER
    assert Invitation.objects.get(pk=invitation.pk).accepted_at is None


def test_an_expired_invitation_cannot_be_accepted(org, outsider, client_for):
    invitation = Invitation.objects.create(
        org=org,
        email="outsider@example.com",
        role=Role.ADMIN,
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    response = client_for(outsider).post(invitations_url(invitation, "accept"))
    assert response.status_code == 400
    assert "expired" in response.json()["detail"]
    assert not Membership.objects.filter(org=org, user=outsider).exists()


def test_signing_in_does_not_accept_an_invitation_sent_to_an_existing_account(org, owner, client, client_for):
    from accounts.models import User

    User.objects.create_user(email="existing@example.com", password="s3cret-pass")  # noqa: S106
    client_for(owner).post(
        members_url(org), {"email": "existing@example.com", "role": "admin"}, format="json"
    )

    assert client.login(email="existing@example.com", password="s3cret-pass")  # noqa: S106
    user_sync_from_claims(sub="sub-existing", email="existing@example.com", email_verified=True)

    assert not Membership.objects.filter(org=org, user__email="existing@example.com").exists()
    assert Invitation.objects.get(org=org).status == "pending"
