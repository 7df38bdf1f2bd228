"""Writes on organisations, memberships and invitations. Every write is audited."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from .audit import audit_record
from .errors import Forbidden, InvalidInput
from .models import Invitation, Membership, Organization, Role, role_at_least
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


def _owner_count(org: Organization) -> int:
    return Membership.objects.filter(org=org, role=Role.OWNER).count()


@transaction.atomic
def member_add(*, org: Organization, actor: Membership, email: str, role: str) -> Membership | Invitation:
    """Add an existing user by email, or keep an invitation for an email with no account yet."""
    if role == Role.OWNER and actor.role != Role.OWNER:
        raise Forbidden("Only an owner can make someone an owner.")
    email = email.strip().lower()
    user = get_user_model().objects.filter(email__iexact=email).first()
    if user is not None:
        if Membership.objects.filter(org=org, user=user).exists():
            raise InvalidInput(f"{email} is already a member of this organisation.", field="email")
        membership = Membership.objects.create(org=org, user=user, role=role)
        audit_record(
            actor=actor.user,
            action="membership.created",
            target=membership,
            org=org,
            changes={"email": email, "role": role},
        )
        return membership
    now = timezone.now()
    # An expired invitation must not block a fresh one.
    Invitation.objects.filter(
        org=org, email__iexact=email, accepted_at__isnull=True, expires_at__lte=now
    ).delete()
    if Invitation.objects.filter(org=org, email__iexact=email, accepted_at__isnull=True).exists():
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


@transaction.atomic
def invitations_accept_for_user(*, user: Any) -> list[Membership]:
    """Turn the user's pending, unexpired invitations into memberships (first login)."""
    now = timezone.now()
    accepted = []
    pending = Invitation.objects.select_for_update().filter(
        email__iexact=user.email, accepted_at__isnull=True, expires_at__gt=now
    )
    for invitation in pending:
        membership, created = Membership.objects.get_or_create(
            org=invitation.org, user=user, defaults={"role": invitation.role}
        )
        invitation.accepted_at = now
        invitation.save(update_fields=["accepted_at"])
        if created:
            accepted.append(membership)
            audit_record(
                actor=user,
                action="invitation.accepted",
                target=membership,
                org=invitation.org,
                changes={"role": invitation.role},
            )
    return accepted
