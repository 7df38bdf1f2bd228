"""Writes on organisations, memberships and invitations. Every write is audited."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from .audit import audit_record
from .emails import InvalidEmail, canonical_email
from .errors import Forbidden, InvalidInput, NotFound
from .models import Invitation, Membership, Organization, Role, role_at_least
from .selectors import invitations_for_user
from .services_common import model_update

ORG_WRITABLE_FIELDS = {"name"}


@transaction.atomic
def org_create(*, user: Any, name: str) -> Organization:
    org = Organization.objects.create(name=name.strip(), created_by=user)
    membership = Membership.objects.create(org=org, user=user, role=Role.OWNER)
    audit_record(actor=user, action="org.created", target=org, org=org, changes={"name": org.name})
    audit_record(
        actor=user, action="membership.created", target=membership, org=org, changes={"role": "owner"}
    )
    return org


@transaction.atomic
def org_update(*, org: Organization, user: Any, data: dict[str, Any]) -> Organization:
    changes = model_update(instance=org, fields=ORG_WRITABLE_FIELDS, data=data)
    if changes:
        audit_record(actor=user, action="org.updated", target=org, org=org, changes=changes)
    return org


@transaction.atomic
def org_delete(*, org: Organization, user: Any) -> None:
    """Delete the org and everything in it. Apps keeping data outside the database (files, vectors)
    subscribe to the deletion (Django's `post_delete` for the org and for each of its bots) and
    remove it after this transaction commits; tenants knows nothing of them."""
    # Locked first, so writes of rows that point at the org wait for the deletion to commit.
    list(Organization.objects.select_for_update().filter(pk=org.pk))
    audit_record(actor=user, action="org.deleted", target=org, org=org, changes={"name": org.name})
    org.delete()


@transaction.atomic
def member_add(*, org: Organization, actor: Membership, email: str, role: str) -> Invitation:
    """Invite someone by email to join with `role`; they become a member only by accepting.

    Always an invitation, whether or not the address has an account, and the result is the same
    either way: adding people without their consent, or telling the caller who has an account (and
    their name), is what this avoids. Accepting: `invitation_accept` (an existing account, signed
    in) or `invitations_accept_awaiting_account` (an account created for the invited address).
    """
    if role == Role.OWNER and actor.role != Role.OWNER:
        raise Forbidden("Only an owner can make someone an owner.")
    try:
        email = canonical_email(email)
    except InvalidEmail as exc:
        raise InvalidInput(str(exc), field="email")
    if Membership.objects.filter(org=org, user__email=email).exists():
        # Members see the member list anyway: this tells the caller nothing new.
        raise InvalidInput(f"{email} is already a member of this organisation.", field="email")
    now = timezone.now()
    # An expired invitation must not block a fresh one.
    Invitation.objects.filter(org=org, email=email, accepted_at__isnull=True, expires_at__lte=now).delete()
    if Invitation.objects.filter(org=org, email=email, accepted_at__isnull=True).exists():
        raise InvalidInput(f"{email} already has a pending invitation.", field="email")
    invitation = Invitation.objects.create(org=org, email=email, role=role, invited_by=actor.user)
    audit_record(
        actor=actor.user,
        action="invitation.created",
        target=invitation,
        org=org,
        changes={"email": email, "role": role},
    )
    return invitation


@transaction.atomic
def member_update_role(
    *, org: Organization, actor: Membership, membership: Membership, role: str
) -> Membership:
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    touches_owner = Role.OWNER in (role, membership.role)
    if touches_owner and actor.role != Role.OWNER:
        raise Forbidden("Only an owner can grant or take away the owner role.")
    if membership.role == Role.OWNER and role != Role.OWNER and _owner_count_locked(org) <= 1:
        raise InvalidInput("This is the last owner; make someone else owner first.", field="role")
    if membership.role != role:
        audit_record(
            actor=actor.user,
            action="membership.updated",
            target=membership,
            org=org,
            changes={"role": [membership.role, role]},
        )
        membership.role = role
        membership.save(update_fields=["role", "updated_at"])
    return membership


@transaction.atomic
def member_remove(*, org: Organization, actor: Membership, membership: Membership) -> None:
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    leaving_self = membership.user_id == actor.user_id
    if not leaving_self and not role_at_least(actor.role, Role.ADMIN):
        raise Forbidden("Only admins can remove other members.")
    if membership.role == Role.OWNER and not leaving_self and actor.role != Role.OWNER:
        raise Forbidden("Only an owner can remove an owner.")
    if membership.role == Role.OWNER and _owner_count_locked(org) <= 1:
        raise InvalidInput("The last owner cannot be removed; make someone else owner first.", field="role")
    audit_record(
        actor=actor.user,
        action="membership.deleted",
        target=membership,
        org=org,
        changes={"email": membership.user.email, "role": membership.role},
    )
    membership.delete()


def _owner_count_locked(org: Organization) -> int:
    # Lock the owners' rows so two concurrent demotions cannot both see "two owners left".
    return len(list(Membership.objects.select_for_update().filter(org=org, role=Role.OWNER)))


@transaction.atomic
def invitation_revoke(*, org: Organization, actor: Membership, invitation: Invitation) -> None:
    audit_record(
        actor=actor.user,
        action="invitation.deleted",
        target=invitation,
        org=org,
        changes={"email": invitation.email},
    )
    invitation.delete()


def _accept(*, invitation: Invitation, user: Any) -> Membership:
    membership, created = Membership.objects.get_or_create(
        org=invitation.org, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    if created:
        audit_record(
            actor=user,
            action="invitation.accepted",
            target=membership,
            org=invitation.org,
            changes={"role": invitation.role},
        )
    return membership


@transaction.atomic
def invitations_accept_awaiting_account(*, user: Any) -> list[Membership]:
    """Accept the invitations that were waiting for this account to exist (sign-up, first sign-in).

    Only invitations created before the account: signing up at the invited address is the
    invitee's answer to them. An invitation sent to an address that already had an account is
    accepted only explicitly (`invitation_accept`), so nobody is added to an org just by signing in.
    """
    pending = invitations_for_user(user=user).filter(created_at__lte=user.date_joined)
    pending = pending.select_related(None).select_for_update()
    return [_accept(invitation=invitation, user=user) for invitation in pending]


@transaction.atomic
def invitation_accept(*, user: Any, invitation_id: Any) -> Membership:
    """The signed-in invitee accepts one invitation addressed to their (canonical) email."""
    invitation = _own_invitation(user=user, invitation_id=invitation_id)
    if invitation.expires_at <= timezone.now():
        raise InvalidInput(
            "This invitation has expired; ask an admin of the organisation to invite you again.",
            code="invitation_expired",
        )
    return _accept(invitation=invitation, user=user)


@transaction.atomic
def invitation_decline(*, user: Any, invitation_id: Any) -> None:
    """The signed-in invitee declines (deletes) one invitation addressed to them."""
    invitation = _own_invitation(user=user, invitation_id=invitation_id)
    audit_record(
        actor=user,
        action="invitation.declined",
        target=invitation,
        org=invitation.org,
        changes={"email": invitation.email},
    )
    invitation.delete()


def _own_invitation(*, user: Any, invitation_id: Any) -> Invitation:
    # Someone else's invitation is a 404 exactly like a missing one.
    invitation = (
        Invitation.objects.select_for_update()
        .filter(pk=invitation_id, email=user.email, accepted_at__isnull=True)
        .first()
    )
    if invitation is None:
        raise NotFound("No such invitation.")
    return invitation
