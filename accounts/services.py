"""User writes: creation and identity-provider sync. Both accept pending org invitations."""

from __future__ import annotations

from django.db import transaction

from tenants.services import invitations_accept_for_user

from .models import User


@transaction.atomic
def user_create(*, email: str, password: str | None = None, name: str = "", is_staff: bool = False) -> User:
    user = User.objects.create_user(email=email, password=password, name=name, is_staff=is_staff)
    invitations_accept_for_user(user=user)
    return user


@transaction.atomic
def user_sync_from_claims(*, sub: str, email: str, name: str = "") -> User:
    """Create or update the user an identity provider vouches for.

    Matched by `sub` first; an existing local account with the same email is linked to the `sub`
    on first sign-in (the IdP verified the email). Pending invitations for the email are accepted.
    """
    email = (email or "").strip().lower()
    user = User.objects.filter(external_id=sub).first()
    if user is None and email:
        user = User.objects.filter(email__iexact=email).first()
    if user is None:
        if not email:
            raise ValueError("The identity token carries no email; sign in once through the hosted UI.")
        user = User.objects.create_user(email=email, name=name, external_id=sub)
    else:
        changed = []
        if user.external_id != sub:
            user.external_id, changed = sub, [*changed, "external_id"]
        if email and user.email != email:
            user.email, changed = email, [*changed, "email"]
        if name and user.name != name:
            user.name, changed = name, [*changed, "name"]
        if changed:
            user.save(update_fields=changed)
    invitations_accept_for_user(user=user)
    return user
