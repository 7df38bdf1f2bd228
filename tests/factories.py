"""Plain factory functions for tests: explicit, no magic."""

from __future__ import annotations

import itertools

from django.core.files.storage import default_storage

from accounts.models import User
from bots.models import Bot
from tenants.models import Membership, Organization, Role

_seq = itertools.count(1)


def make_user(email: str | None = None, password: str = "pw-123456", **extra) -> User:
    return User.objects.create_user(
        email=email or f"user{next(_seq)}@example.com", password=password, **extra
    )


def make_org(name: str | None = None, owner: User | None = None) -> Organization:
    org = Organization.objects.create(name=name or f"Org {next(_seq)}")
    if owner is not None:
        Membership.objects.create(org=org, user=owner, role=Role.OWNER)
    return org


def add_member(org: Organization, user: User, role: str) -> Membership:
    return Membership.objects.create(org=org, user=user, role=role)


def make_bot(org: Organization, name: str | None = None, **fields) -> Bot:
    return Bot.objects.create(org=org, name=name or f"Bot {next(_seq)}", **fields)


def stored_files(prefix: str) -> set[str]:
    """Every file the default storage holds under ``prefix`` (e.g. an org id), as full keys."""
    found, stack = set(), [prefix]
    while stack:
        path = stack.pop()
        try:
            dirs, files = default_storage.listdir(path)
        except FileNotFoundError:
            continue
        found.update(f"{path}/{name}" for name in files)
        stack.extend(f"{path}/{name}" for name in dirs)
    return found
