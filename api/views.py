"""The scoped base views: every ``/api/orgs/<org_id>/...`` endpoint derives from one of them (and so
from ``api.base.APIView``, like every API endpoint)."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions

from bots.models import Bot
from bots.selectors import bot_get
from tenants.models import Membership, Organization, Role, role_at_least
from tenants.selectors import membership_for

from .base import APIView


class OrgScopedAPIView(APIView):
    """Base for every `/api/orgs/<org_id>/...` endpoint.

    Resolves the org once from the URL plus the caller's membership (404 for non-members, so a
    stranger cannot even learn the org exists), then checks the role the method needs (403 for a
    member with too small a role). Subclasses fetch objects inside `self.org` only.
    """

    # Minimum role per HTTP method; SAFE methods default to viewer.
    required_roles: dict[str, str] = {
        "GET": Role.VIEWER,
        "HEAD": Role.VIEWER,
        "OPTIONS": Role.VIEWER,
        "POST": Role.EDITOR,
        "PUT": Role.EDITOR,
        "PATCH": Role.EDITOR,
        "DELETE": Role.EDITOR,
    }
    org: Organization
    membership: Membership
    may_forbid = True

    def resolve_scope(self, request, **kwargs: Any) -> None:
        self.membership = membership_for(user=request.user, org_id=kwargs["org_id"])
        self.org = self.membership.org
        needed = self.required_roles.get(request.method, Role.OWNER)
        if not role_at_least(self.membership.role, needed):
            raise exceptions.PermissionDenied(
                f"This needs the {needed} role in this organisation; you are {self.membership.role}."
            )


class BotScopedAPIView(OrgScopedAPIView):
    """Base for every `/api/orgs/<org_id>/bots/<bot_id>/...` endpoint: the bot is fetched inside the org."""

    bot: Bot

    def resolve_scope(self, request, **kwargs: Any) -> None:
        super().resolve_scope(request, **kwargs)
        self.bot = bot_get(org=self.org, bot_id=kwargs["bot_id"])
