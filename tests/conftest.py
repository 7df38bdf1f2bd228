"""Shared personas: an org with one member per role, a second org, an outsider, API clients."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tenants.models import Role

from .factories import add_member, make_bot, make_org, make_user

ROLES = ["owner", "admin", "editor", "viewer"]


@pytest.fixture
def owner(db):
    return make_user("owner@example.com")


@pytest.fixture
def org(owner):
    return make_org("Acme", owner=owner)


@pytest.fixture
def admin_user(org):
    return add_member(org, make_user("admin@example.com"), Role.ADMIN).user


@pytest.fixture
def editor(org):
    return add_member(org, make_user("editor@example.com"), Role.EDITOR).user


@pytest.fixture
def viewer(org):
    return add_member(org, make_user("viewer@example.com"), Role.VIEWER).user


@pytest.fixture
def outsider(db):
    """A signed-in user who belongs to another org only."""
    user = make_user("outsider@example.com")
    make_org("Elsewhere", owner=user)
    return user


@pytest.fixture
def other_org(db):
    """A second tenant with its own owner and bot: its ids must never be reachable from `org`."""
    other_owner = make_user("other-owner@example.com")
    other = make_org("Globex", owner=other_owner)
    other.owner = other_owner
    other.bot = make_bot(other, "Globex bot")
    return other


@pytest.fixture
def bot(org):
    return make_bot(org, "Support bot")


@pytest.fixture
def personas(org, owner, admin_user, editor, viewer, outsider):
    """Role name -> user (None = anonymous)."""
    return {
        "owner": owner,
        "admin": admin_user,
        "editor": editor,
        "viewer": viewer,
        "outsider": outsider,
        "anonymous": None,
    }


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def client_for():
    def _client(user):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user=user)
        return client

    return _client
