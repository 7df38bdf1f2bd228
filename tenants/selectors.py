"""Reads on organisations and memberships. The org resolution every tenant API starts from."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from .models import Invitation, Membership, Organization


def membership_for(*, user: Any, org_id: Any) -> Membership:
    """The user's membership in the org, or 404 — a non-member cannot tell the org exists."""
    if not getattr(user, "is_authenticated", False):
        raise Http404("No such organisation.")
    membership = (
        Membership.objects.select_related("org", "user").filter(org_id=org_id, user_id=user.pk).first()
    )
    if membership is None:
        raise Http404("No such organisation.")
    return membership


def org_list_for_user(*, user: Any) -> QuerySet[Organization]:
    return Organization.objects.filter(memberships__user_id=user.pk).order_by("name", "id")


def member_list(*, org: Organization) -> QuerySet[Membership]:
    return Membership.objects.filter(org=org).select_related("user").order_by("created_at", "id")


def member_get(*, org: Organization, membership_id: Any) -> Membership:
    membership = member_list(org=org).filter(pk=membership_id).first()
    if membership is None:
        raise Http404("No such member.")
    return membership


def invitation_list(*, org: Organization) -> QuerySet[Invitation]:
    return Invitation.objects.filter(org=org, accepted_at__isnull=True).order_by("-created_at")


def invitation_get(*, org: Organization, invitation_id: Any) -> Invitation:
    invitation = invitation_list(org=org).filter(pk=invitation_id).first()
    if invitation is None:
        raise Http404("No such invitation.")
    return invitation


def memberships_of(*, user: Any) -> QuerySet[Membership]:
    return Membership.objects.filter(user_id=user.pk).select_related("org").order_by("org__name")


def invitations_for_user(*, user: Any) -> QuerySet[Invitation]:
    """Invitations the signed-in user can still accept: addressed to their canonical email, exactly."""
    return (
        Invitation.objects.filter(email=user.email, accepted_at__isnull=True, expires_at__gt=timezone.now())
        .select_related("org", "invited_by")
        .order_by("-created_at", "id")
    )
