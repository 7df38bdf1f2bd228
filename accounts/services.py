"""User writes: creation, identity-provider sign-in and the explicit identity link.

The rules that keep an identity provider from handing out someone else's account:
- an account is found by the provider's `sub` first; that is the identity, and the email in a
  later token never rewrites the account's email;
- a new `sub` is tied to an existing account by email only when the provider says the email is
  verified (`email_verified` true) and the account is not bound to another `sub` yet;
- emails are compared in canonical form, exactly (`tenants.emails`);
- anything else (another `sub` for a bound account) needs `user_link_identity`: the account's
  owner, signed in, presents the new identity's ID token.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from tenants.audit import audit_record
from tenants.emails import InvalidEmail, canonical_email
from tenants.errors import Conflict, Forbidden, InvalidInput
from tenants.services import invitations_accept_awaiting_account

from .models import User

LINK_HINT = (
    "To use this sign-in for that account, sign in to the account the way you usually do and link "
    "this identity explicitly (POST /api/auth/identity/link/ with its ID token), or ask an operator "
    "to unlink the old identity in the admin (Users → Unlink sign-in identity)."
)


@transaction.atomic
def user_create(*, email: str, password: str | None = None, name: str = "", is_staff: bool = False) -> User:
    user = User.objects.create_user(email=email, password=password, name=name, is_staff=is_staff)
    invitations_accept_awaiting_account(user=user)
    return user


def _canonical_claim_email(email: str) -> str:
    try:
        return canonical_email(email)
    except InvalidEmail as exc:
        raise InvalidInput(f"The identity provider's email cannot be used: {exc}", code="invalid_email")


def user_sync_from_claims(*, sub: str, email: str, email_verified: bool, name: str = "") -> User:
    """The user an identity provider vouches for (`sub`), created or linked on first sign-in.

    Raises `Forbidden` (email not verified), `Conflict` (the email's account is bound to another
    `sub`) or `InvalidInput` (no usable email); callers turn these into a refused sign-in.
    """
    try:
        with transaction.atomic():
            return _sync(sub=sub, email=email, email_verified=email_verified, name=name)
    except IntegrityError:
        # Two first sign-ins of one identity raced to create or link the account; the winner's
        # row is there now and the same rules apply to it.
        with transaction.atomic():
            return _sync(sub=sub, email=email, email_verified=email_verified, name=name)


def _sync(*, sub: str, email: str, email_verified: bool, name: str) -> User:
    user = User.objects.select_for_update().filter(external_id=sub).first()
    if user is not None:
        if name and user.name != name:
            user.name = name
            user.save(update_fields=["name"])
        if email_verified:
            invitations_accept_awaiting_account(user=user)
        return user

    if not email:
        raise InvalidInput(
            "The identity token carries no email; sign in once through the hosted UI.", code="no_email"
        )
    if not email_verified:
        raise Forbidden(
            "Your email address is not verified with the identity provider; verify it there, "
            "then sign in again.",
            code="email_not_verified",
        )
    email = _canonical_claim_email(email)
    user = User.objects.select_for_update().filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, name=name, external_id=sub)
    elif user.external_id:
        raise Conflict(
            f"The account for {email} is already linked to another sign-in identity. {LINK_HINT}",
            code="identity_already_linked",
        )
    else:
        user.external_id = sub
        fields = ["external_id"]
        if name and not user.name:
            user.name, fields = name, [*fields, "name"]
        user.save(update_fields=fields)
        audit_record(actor=user, action="user.identity_linked", target=user, changes={"by": "verified email"})
    invitations_accept_awaiting_account(user=user)
    return user


@transaction.atomic
def user_link_identity(*, user: User, sub: str, email: str, email_verified: bool) -> User:
    """Bind the signed-in `user` to the identity provider `sub` (replacing any previous one).

    The caller has proved both sides: the account (signed in) and the identity (a verified ID
    token). The token's email must be verified and be the account's email, so an account never
    ends up bound to an identity at another address.
    """
    if not email_verified:
        raise Forbidden(
            "The identity's email address is not verified with the identity provider; verify it there first.",
            code="email_not_verified",
        )
    if _canonical_claim_email(email) != user.email:
        raise Forbidden(
            f"The ID token is for {email}, but you are signed in as {user.email}; sign in to the "
            "account with that email instead.",
            code="email_mismatch",
        )
    owner = User.objects.select_for_update().filter(external_id=sub).exclude(pk=user.pk).first()
    if owner is not None:
        raise Conflict("This sign-in identity is already linked to another account.", code="identity_in_use")
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.external_id != sub:
        previous = user.external_id
        user.external_id = sub
        user.save(update_fields=["external_id"])
        audit_record(
            actor=user, action="user.identity_linked", target=user, changes={"external_id": [previous, sub]}
        )
    return user


@transaction.atomic
def user_unlink_identity(*, user: User, actor: User) -> None:
    """Operator action: forget the account's identity-provider `sub`, so that the next sign-in with
    a verified email links afresh."""
    if user.external_id:
        changes = {"external_id": user.external_id}
        audit_record(actor=actor, action="user.identity_unlinked", target=user, changes=changes)
        user.external_id = None
        user.save(update_fields=["external_id"])
