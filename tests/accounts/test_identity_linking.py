"""Issue 8, finding 2: a Cognito identity must not take over someone else's account.

Each attack ran live before the fix. The look-alike cases need PostgreSQL to fail the old code
(its UPPER() behind `__iexact` folds Unicode, SQLite's does not); they pass on both engines now.
"""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import PermissionDenied
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory, force_authenticate

from accounts.apis import IdentityLinkApi
from accounts.authentication import CognitoJWTAuthentication
from accounts.cognito import CognitoVerifier, oidc_settings_from_env
from accounts.models import User
from accounts.oidc import CognitoOIDCBackend
from tenants.models import AuditEvent, Invitation, Membership, Role

pytestmark = pytest.mark.django_db

ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Linking"
CLIENT_ID = "linking-client"
KID = "linking-key"
LOOK_ALIKE = "admin@gma\u0131l.com"  # a dotless ı: a domain anyone can register


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def verifier(key) -> CognitoVerifier:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwks = {"keys": [{**jwk, "kid": KID, "alg": "RS256", "use": "sig"}]}
    return CognitoVerifier(
        issuer=ISSUER, jwks_url=f"{ISSUER}/jwks", client_id=CLIENT_ID, fetch=lambda url: jwks
    )


_MISSING = object()


def id_token(key, *, sub: str, email: str, email_verified: Any = True) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": sub, "token_use": "id", "aud": CLIENT_ID, "iat": now, "exp": now + 600}
    claims["email"] = email
    if email_verified is not _MISSING:
        claims["email_verified"] = email_verified
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID})


def sign_in(verifier, token: str) -> User:
    """What every API request with `Authorization: Bearer <ID token>` goes through."""
    request = Request(APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}"))
    user, _ = CognitoJWTAuthentication(verifier=verifier).authenticate(request)
    return user


def refused(verifier, token: str) -> str:
    with pytest.raises(exceptions.AuthenticationFailed) as caught:
        sign_in(verifier, token)
    return str(caught.value.detail)


# -- email_verified --------------------------------------------------------------------------------


def test_a_token_without_email_verified_does_not_sign_in_as_the_superuser(verifier, key):
    root = User.objects.create_superuser("root@example.com", password="pw-123456")

    detail = refused(
        verifier, id_token(key, sub="attacker", email="root@example.com", email_verified=_MISSING)
    )

    assert "not verified" in detail
    root.refresh_from_db()
    assert root.external_id is None
    assert not User.objects.filter(external_id="attacker").exists()


@pytest.mark.parametrize("value", [False, "false", "FALSE", "False", "True", "TRUE", 1, "1", "yes", None])
def test_only_true_or_the_string_true_counts_as_verified(verifier, key, value):
    local = User.objects.create_user("grace@example.com", password="pw-123456")

    refused(verifier, id_token(key, sub="sub-grace", email="grace@example.com", email_verified=value))

    local.refresh_from_db()
    assert local.external_id is None


@pytest.mark.parametrize("value", [True, "true"])
def test_a_verified_email_links_an_unbound_account_once(verifier, key, value):
    local = User.objects.create_user("grace@example.com", password="pw-123456")

    user = sign_in(verifier, id_token(key, sub="sub-grace", email="Grace@Example.com", email_verified=value))

    assert user.pk == local.pk
    local.refresh_from_db()
    assert local.external_id == "sub-grace"
    assert AuditEvent.objects.filter(action="user.identity_linked", target_id=str(local.pk)).exists()


def test_an_unverified_token_never_creates_an_account(verifier, key):
    refused(verifier, id_token(key, sub="new-sub", email="new@example.com", email_verified=False))
    assert not User.objects.exists()


def test_a_known_sub_signs_in_even_while_its_new_email_awaits_verification(verifier, key):
    bound = User.objects.create_user("ada@example.com", external_id="sub-ada")

    user = sign_in(verifier, id_token(key, sub="sub-ada", email="ada@new.example.com", email_verified=False))

    assert user.pk == bound.pk
    bound.refresh_from_db()
    assert bound.email == "ada@example.com"


def test_an_unverified_sign_in_accepts_no_invitation(verifier, key, org):
    User.objects.create_user("ada@example.com", external_id="sub-ada")
    Invitation.objects.create(org=org, email="ada@example.com", role=Role.ADMIN)

    sign_in(verifier, id_token(key, sub="sub-ada", email="ada@example.com", email_verified=False))

    assert not Membership.objects.filter(org=org, user__email="ada@example.com").exists()


# -- re-binding and email rewriting ---------------------------------------------------------------


def test_the_hosted_ui_sign_in_refuses_a_rebind_too(settings, verifier, rf):
    from django.contrib.messages.storage.fallback import FallbackStorage

    for name, value in oidc_settings_from_env(
        "eu-west-1", "eu-west-1_Linking", "auth.example.com", CLIENT_ID, ""
    ).items():
        setattr(settings, name, value)
    bound = User.objects.create_user("ada@example.com", external_id="sub-original")
    backend = CognitoOIDCBackend(verifier=verifier)
    backend.request = rf.get("/oidc/callback/")
    backend.request.session = {}
    backend.request._messages = FallbackStorage(backend.request)
    claims = {"sub": "sub-other", "email": "ada@example.com", "email_verified": True}

    with pytest.raises(PermissionDenied, match="already linked"):
        backend.get_or_create_user("access", "id", claims)

    # The login page the failed sign-in returns to says why.
    assert any("already linked" in str(m) for m in backend.request._messages)
    bound.refresh_from_db()
    assert bound.external_id == "sub-original"


def test_an_account_bound_to_another_sub_is_never_rebound(verifier, key):
    bound = User.objects.create_user("ada@example.com", external_id="sub-original")

    detail = refused(verifier, id_token(key, sub="sub-other", email="ada@example.com"))

    assert "already linked to another sign-in identity" in detail
    assert "/api/auth/identity/link/" in detail
    bound.refresh_from_db()
    assert bound.external_id == "sub-original"
    assert not User.objects.filter(external_id="sub-other").exists()


def test_claims_never_overwrite_the_email_of_a_known_account(verifier, key):
    bound = User.objects.create_user("ada@example.com", external_id="sub-ada")

    sign_in(verifier, id_token(key, sub="sub-ada", email="root@example.com"))

    bound.refresh_from_db()
    assert bound.email == "ada@example.com"


def test_a_non_ascii_local_part_is_refused_with_the_reason(verifier, key):
    detail = refused(verifier, id_token(key, sub="sub-x", email="ädmin@example.com"))
    assert "plain ASCII" in detail
    assert not User.objects.exists()


# -- look-alike addresses (PostgreSQL's Unicode-folding UPPER) -------------------------------------


def test_a_look_alike_address_does_not_link_to_the_real_account(verifier, key):
    real = User.objects.create_user("admin@gmail.com", password="pw-123456", is_staff=True)

    user = sign_in(verifier, id_token(key, sub="sub-look-alike", email=LOOK_ALIKE))

    assert user.pk != real.pk
    assert user.email.startswith("admin@xn--")
    real.refresh_from_db()
    assert real.external_id is None


def test_a_look_alike_address_does_not_accept_the_real_addresses_invitation(verifier, key, org):
    Invitation.objects.create(org=org, email="admin@gmail.com", role=Role.ADMIN)

    user = sign_in(verifier, id_token(key, sub="sub-look-alike", email=LOOK_ALIKE))

    assert not Membership.objects.filter(org=org, user=user).exists()
    assert Invitation.objects.get(org=org).accepted_at is None


def test_a_look_alike_address_is_a_new_invitation_not_an_existing_member(org, owner, client_for):
    real = User.objects.create_user("admin@gmail.com")
    Membership.objects.create(org=org, user=real, role=Role.VIEWER)

    response = client_for(owner).post(
        f"/api/orgs/{org.pk}/members/", {"email": "admin@gma\u0131l.com", "role": "admin"}, format="json"
    )

    # The old lookup found the gmail.com member; the address is another mailbox, so it is invited.
    assert response.status_code == 202, response.content
    assert response.json()["email"].startswith("admin@xn--")


# -- the explicit link step ----------------------------------------------------------------------------


def link(verifier, user, token):
    request = APIRequestFactory().post("/api/auth/identity/link/", {"id_token": token}, format="json")
    force_authenticate(request, user=user)
    return IdentityLinkApi.as_view(verifier=verifier)(request)


def test_the_account_owner_links_a_new_identity_explicitly(verifier, key):
    bound = User.objects.create_user("ada@example.com", password="pw-123456", external_id="sub-old")

    response = link(verifier, bound, id_token(key, sub="sub-new", email="ada@example.com"))

    assert response.status_code == 200, response.data
    bound.refresh_from_db()
    assert bound.external_id == "sub-new"
    assert sign_in(verifier, id_token(key, sub="sub-new", email="ada@example.com")).pk == bound.pk


@pytest.mark.parametrize(
    ("claims", "status", "reason"),
    [
        ({"sub": "sub-new", "email": "someone@example.com"}, 403, "signed in as ada@example.com"),
        ({"sub": "sub-new", "email": "ada@example.com", "email_verified": "FALSE"}, 403, "not verified"),
        ({"sub": "sub-taken", "email": "ada@example.com"}, 409, "already linked to another account"),
    ],
)
def test_the_link_step_refuses_what_it_cannot_prove(verifier, key, claims, status, reason):
    User.objects.create_user("other@example.com", external_id="sub-taken")
    ada = User.objects.create_user("ada@example.com", password="pw-123456", external_id="sub-old")

    response = link(verifier, ada, id_token(key, **claims))

    assert response.status_code == status
    assert reason in response.data["detail"]
    ada.refresh_from_db()
    assert ada.external_id == "sub-old"


def test_the_link_step_refuses_a_forged_token(verifier, key):
    ada = User.objects.create_user("ada@example.com", password="pw-123456")
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    response = link(verifier, ada, id_token(other_key, sub="sub-new", email="ada@example.com"))

    assert response.status_code == 400
    assert "signature is invalid" in response.data["detail"]
    ada.refresh_from_db()
    assert ada.external_id is None


def test_the_link_step_needs_a_signed_in_user(verifier, key):
    request = APIRequestFactory().post("/api/auth/identity/link/", {"id_token": "x.y.z"}, format="json")
    assert IdentityLinkApi.as_view(verifier=verifier)(request).status_code in (401, 403)
