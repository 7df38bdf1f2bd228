"""Cognito JWT verification (core verifier, DRF authenticator, OIDC backend) against moto-issued tokens.

moto signs real RS256 tokens with the key it publishes at `/<pool>/.well-known/jwks.json`; claim-level
cases (expiry, issuer, audience, token_use) use tokens we sign with a test RSA key and test JWKS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from moto import mock_aws
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView, exception_handler

from accounts.authentication import CognitoJWTAuthentication
from accounts.cognito import (
    CognitoVerifier,
    InvalidToken,
    claims_display_name,
    get_verifier,
    oidc_settings_from_env,
)
from accounts.models import User
from accounts.oidc import CognitoOIDCBackend, cognito_logout_url

REGION = "us-east-1"
PASSWORD = "Corr3ct-Horse-Battery!"
ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool"
CLIENT_ID = "test-app-client"
TEST_KID = "test-key-1"


# -- moto user pool ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MotoPool:
    pool_id: str
    client_id: str
    issuer: str
    jwks: dict[str, Any]
    access_token: str
    id_token: str
    sub: str
    email: str


@pytest.fixture(scope="module")
def moto_pool() -> Iterator[MotoPool]:
    """A moto user pool with one confirmed user signed in through USER_PASSWORD_AUTH."""
    with mock_aws():
        idp = boto3.client("cognito-idp", region_name=REGION)
        pool_id = idp.create_user_pool(PoolName="botwright-test")["UserPool"]["Id"]
        client_id = idp.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName="botwright-web",
            ExplicitAuthFlows=[
                "ALLOW_USER_PASSWORD_AUTH",
                "ALLOW_ADMIN_USER_PASSWORD_AUTH",
                "ALLOW_REFRESH_TOKEN_AUTH",
            ],
            # As docs/deploy.md asks: without email_verified in the token no account is linked.
            ReadAttributes=["email", "email_verified"],
        )["UserPoolClient"]["ClientId"]
        email = "ada@example.com"
        idp.admin_create_user(
            UserPoolId=pool_id,
            Username=email,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            MessageAction="SUPPRESS",
        )
        idp.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=PASSWORD, Permanent=True)
        result = idp.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
        )["AuthenticationResult"]
        sub = next(
            a["Value"]
            for a in idp.admin_get_user(UserPoolId=pool_id, Username=email)["UserAttributes"]
            if a["Name"] == "sub"
        )
        issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}"
        # moto intercepts requests (not urllib) inside mock_aws and serves the pool's JWKS.
        response = requests.get(f"{issuer}/.well-known/jwks.json", timeout=5)
        response.raise_for_status()
        yield MotoPool(
            pool_id=pool_id,
            client_id=client_id,
            issuer=issuer,
            jwks=response.json(),
            access_token=result["AccessToken"],
            id_token=result["IdToken"],
            sub=sub,
            email=email,
        )


class CountingFetch:
    """A JWKS fetcher that serves prepared documents in turn (the last one repeats) and counts calls."""

    def __init__(self, *documents: dict[str, Any]) -> None:
        self.documents = list(documents)
        self.urls: list[str] = []

    def __call__(self, url: str) -> dict[str, Any]:
        self.urls.append(url)
        return self.documents[min(len(self.urls), len(self.documents)) - 1]

    @property
    def calls(self) -> int:
        return len(self.urls)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def moto_verifier(pool: MotoPool, fetch: Callable[[str], dict[str, Any]] | None = None) -> CognitoVerifier:
    return CognitoVerifier(
        issuer=pool.issuer,
        jwks_url=f"{pool.issuer}/.well-known/jwks.json",
        client_id=pool.client_id,
        fetch=fetch or CountingFetch(pool.jwks),
    )


# -- our own signing key, for claim-level cases -------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks_for(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {"keys": [{**jwk, "kid": kid, "alg": "RS256", "use": "sig"}]}


@pytest.fixture
def test_fetch(rsa_key: rsa.RSAPrivateKey) -> CountingFetch:
    return CountingFetch(jwks_for(rsa_key, TEST_KID))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def verifier(test_fetch: CountingFetch, clock: FakeClock) -> CognitoVerifier:
    return CognitoVerifier(
        issuer=ISSUER,
        jwks_url=f"{ISSUER}/.well-known/jwks.json",
        client_id=CLIENT_ID,
        fetch=test_fetch,
        clock=clock,
    )


def claims_for(kind: str = "access", **overrides: Any) -> dict[str, Any]:
    """Valid claims of a Cognito `kind` ("access"/"id") token; an override of None drops the claim."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "5f0c3e1a-0000-4000-8000-000000000001",
        "token_use": kind,
        "iat": now,
        "exp": now + 600,
    }
    if kind == "id":
        claims.update(aud=CLIENT_ID, email="grace@example.com", email_verified=True, name="Grace Hopper")
    else:
        claims.update(client_id=CLIENT_ID, scope="openid email")
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def sign(claims: dict[str, Any], key: rsa.RSAPrivateKey, *, kid: str = TEST_KID) -> str:
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unverified_claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def hand_made_token(header: dict[str, Any], claims: dict[str, Any], sign_with: bytes | None = None) -> str:
    """A JWT built without PyJWT, which (rightly) refuses to make the malicious ones."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = b""
    if sign_with is not None:
        signature = hmac.new(sign_with, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


# -- core verifier: real moto tokens --------------------------------------------------------------------


def test_verifier_accepts_moto_access_token(moto_pool: MotoPool) -> None:
    claims = moto_verifier(moto_pool).verify(moto_pool.access_token)

    assert claims["token_use"] == "access"
    assert claims["sub"] == moto_pool.sub
    assert claims["client_id"] == moto_pool.client_id


def test_verifier_accepts_moto_id_token(moto_pool: MotoPool) -> None:
    claims = moto_verifier(moto_pool).verify(moto_pool.id_token)

    assert claims["token_use"] == "id"
    assert claims["sub"] == moto_pool.sub
    assert claims["email"] == moto_pool.email


def test_verifier_rejects_tampered_payload(moto_pool: MotoPool) -> None:
    header, _, signature = moto_pool.access_token.split(".")
    forged = {**_unverified_claims(moto_pool.access_token), "sub": "someone-else"}
    token = f"{header}.{_b64(json.dumps(forged).encode())}.{signature}"

    with pytest.raises(InvalidToken, match="signature is invalid"):
        moto_verifier(moto_pool).verify(token)


def test_verifier_rejects_alg_none(moto_pool: MotoPool) -> None:
    token = hand_made_token({"alg": "none", "kid": "dummy"}, _unverified_claims(moto_pool.access_token))

    with pytest.raises(InvalidToken, match="only RS256"):
        moto_verifier(moto_pool).verify(token)


def test_verifier_rejects_hs256_signed_with_the_public_key(moto_pool: MotoPool) -> None:
    public_pem = jwt.PyJWK(moto_pool.jwks["keys"][0]).key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    token = hand_made_token(
        {"alg": "HS256", "kid": "dummy", "typ": "JWT"},
        _unverified_claims(moto_pool.access_token),
        sign_with=public_pem,
    )

    with pytest.raises(InvalidToken, match="'HS256'"):
        moto_verifier(moto_pool).verify(token)


def test_verifier_rejects_moto_token_from_another_pool(moto_pool: MotoPool) -> None:
    other_pool = CognitoVerifier(
        issuer=f"https://cognito-idp.{REGION}.amazonaws.com/{REGION}_OtherPool",
        jwks_url="https://example.invalid/jwks.json",
        client_id=moto_pool.client_id,
        fetch=CountingFetch(moto_pool.jwks),
    )

    with pytest.raises(InvalidToken, match="iss mismatch"):
        other_pool.verify(moto_pool.access_token)


def test_verifier_rejects_moto_tokens_for_another_app_client(moto_pool: MotoPool) -> None:
    verifier = CognitoVerifier(
        issuer=moto_pool.issuer,
        jwks_url="https://example.invalid/jwks.json",
        client_id="another-client",
        fetch=CountingFetch(moto_pool.jwks),
    )

    with pytest.raises(InvalidToken, match="client_id mismatch"):
        verifier.verify(moto_pool.access_token)
    with pytest.raises(InvalidToken, match="aud mismatch"):
        verifier.verify(moto_pool.id_token)


def test_verifier_enforces_requested_token_use(moto_pool: MotoPool) -> None:
    verifier = moto_verifier(moto_pool)

    assert verifier.verify(moto_pool.id_token, token_use="id")["token_use"] == "id"
    with pytest.raises(InvalidToken, match="expected an id token"):
        verifier.verify(moto_pool.access_token, token_use="id")


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b", "a.b.c.d.e", "!!!.???.***"])
def test_verifier_rejects_malformed_tokens(verifier: CognitoVerifier, token: str) -> None:
    with pytest.raises(InvalidToken, match="malformed"):
        verifier.verify(token)


# -- core verifier: claim-level cases with our own key ----------------------------------------------------


def test_verifier_accepts_own_signed_access_and_id_tokens(verifier: CognitoVerifier, rsa_key) -> None:
    assert verifier.verify(sign(claims_for("access"), rsa_key))["client_id"] == CLIENT_ID
    assert verifier.verify(sign(claims_for("id"), rsa_key))["email"] == "grace@example.com"


def test_verifier_rejects_wrong_issuer(verifier: CognitoVerifier, rsa_key) -> None:
    token = sign(claims_for(iss="https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Evil"), rsa_key)

    with pytest.raises(InvalidToken, match="iss mismatch"):
        verifier.verify(token)


def test_verifier_rejects_access_token_for_another_client(verifier: CognitoVerifier, rsa_key) -> None:
    with pytest.raises(InvalidToken, match="client_id mismatch"):
        verifier.verify(sign(claims_for("access", client_id="other-client"), rsa_key))


def test_verifier_rejects_access_token_that_only_has_a_matching_aud(
    verifier: CognitoVerifier, rsa_key
) -> None:
    # An access token must name our client in client_id; aud is the ID-token field.
    token = sign(claims_for("access", client_id=None, aud=CLIENT_ID), rsa_key)

    with pytest.raises(InvalidToken, match="client_id mismatch"):
        verifier.verify(token)


def test_verifier_rejects_id_token_for_another_audience(verifier: CognitoVerifier, rsa_key) -> None:
    with pytest.raises(InvalidToken, match="aud mismatch"):
        verifier.verify(sign(claims_for("id", aud="other-client"), rsa_key))


def test_verifier_rejects_expired_token(verifier: CognitoVerifier, rsa_key) -> None:
    token = sign(claims_for(exp=int(time.time()) - 120), rsa_key)

    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(token)


def test_verifier_tolerates_clock_skew_within_leeway(verifier: CognitoVerifier, rsa_key) -> None:
    token = sign(claims_for(exp=int(time.time()) - 5), rsa_key)

    assert verifier.verify(token)["sub"] == claims_for()["sub"]


@pytest.mark.parametrize("claim", ["exp", "sub", "iss"])
def test_verifier_rejects_token_missing_required_claim(
    verifier: CognitoVerifier, rsa_key, claim: str
) -> None:
    token = sign(claims_for(**{claim: None}), rsa_key)

    with pytest.raises(InvalidToken, match=f"'{claim}'"):
        verifier.verify(token)


@pytest.mark.parametrize("token_use", ["refresh", "", None])
def test_verifier_rejects_token_use_other_than_access_or_id(
    verifier: CognitoVerifier, rsa_key, token_use: str | None
) -> None:
    token = sign(claims_for("access", token_use=token_use), rsa_key)

    with pytest.raises(InvalidToken, match="token_use must be"):
        verifier.verify(token)


def test_verifier_rejects_token_signed_by_an_unpublished_key(verifier: CognitoVerifier) -> None:
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    with pytest.raises(InvalidToken, match="signature is invalid"):
        verifier.verify(sign(claims_for(), impostor, kid=TEST_KID))


# -- JWKS cache -----------------------------------------------------------------------------------------


def test_jwks_is_fetched_lazily_once_and_cached(verifier, test_fetch: CountingFetch, rsa_key) -> None:
    assert test_fetch.calls == 0

    for _ in range(3):
        verifier.verify(sign(claims_for(), rsa_key))

    assert test_fetch.urls == [f"{ISSUER}/.well-known/jwks.json"]


def test_jwks_is_refetched_after_the_ttl(
    verifier, test_fetch: CountingFetch, clock: FakeClock, rsa_key
) -> None:
    verifier.verify(sign(claims_for(), rsa_key))
    clock.now += 3600

    verifier.verify(sign(claims_for(), rsa_key))

    assert test_fetch.calls == 2


def test_unknown_kid_triggers_exactly_one_refetch(
    verifier, test_fetch: CountingFetch, clock, rsa_key
) -> None:
    verifier.verify(sign(claims_for(), rsa_key))
    clock.now += 61

    with pytest.raises(InvalidToken, match="unknown key"):
        verifier.verify(sign(claims_for(), rsa_key, kid="forged-1"))
    assert test_fetch.calls == 2

    # More forged kids right after must not reach the JWKS endpoint again.
    for n in range(5):
        with pytest.raises(InvalidToken, match="unknown key"):
            verifier.verify(sign(claims_for(), rsa_key, kid=f"forged-{n + 2}"))
    assert test_fetch.calls == 2


def test_unknown_kid_on_a_cold_cache_fetches_only_once(verifier, test_fetch: CountingFetch, rsa_key) -> None:
    with pytest.raises(InvalidToken, match="unknown key"):
        verifier.verify(sign(claims_for(), rsa_key, kid="forged"))

    assert test_fetch.calls == 1


def test_unknown_kid_refetch_picks_up_a_rotated_key(rsa_key, clock: FakeClock) -> None:
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fetch = CountingFetch(jwks_for(rsa_key, TEST_KID), jwks_for(new_key, "rotated"))
    verifier = CognitoVerifier(
        issuer=ISSUER, jwks_url=f"{ISSUER}/jwks", client_id=CLIENT_ID, fetch=fetch, clock=clock
    )
    verifier.verify(sign(claims_for(), rsa_key))
    clock.now += 120

    claims = verifier.verify(sign(claims_for(), new_key, kid="rotated"))

    assert claims["sub"] == claims_for()["sub"]
    assert fetch.calls == 2


def test_jwks_outage_keeps_cached_keys(rsa_key, clock: FakeClock) -> None:
    documents = [jwks_for(rsa_key, TEST_KID)]

    def flaky_fetch(url: str) -> dict[str, Any]:
        if not documents:
            raise OSError("connection refused")
        return documents.pop()

    verifier = CognitoVerifier(
        issuer=ISSUER, jwks_url=f"{ISSUER}/jwks", client_id=CLIENT_ID, fetch=flaky_fetch, clock=clock
    )
    verifier.verify(sign(claims_for(), rsa_key))
    clock.now += 7200  # past the TTL: the refetch fails

    assert verifier.verify(sign(claims_for(), rsa_key))["token_use"] == "access"


def test_jwks_unavailable_on_cold_start_is_an_invalid_token(rsa_key, clock: FakeClock) -> None:
    calls = []

    def down(url: str) -> dict[str, Any]:
        calls.append(url)
        raise OSError("timed out")

    verifier = CognitoVerifier(
        issuer=ISSUER, jwks_url=f"{ISSUER}/jwks", client_id=CLIENT_ID, fetch=down, clock=clock
    )

    for _ in range(3):
        with pytest.raises(InvalidToken, match="signing keys are unavailable"):
            verifier.verify(sign(claims_for(), rsa_key))
    assert len(calls) == 1  # the outage is not hammered on every request


def test_jwks_entries_for_other_algorithms_are_ignored(rsa_key, clock: FakeClock) -> None:
    jwks = jwks_for(rsa_key, TEST_KID)
    jwks["keys"][0]["alg"] = "RS512"
    verifier = CognitoVerifier(
        issuer=ISSUER, jwks_url=f"{ISSUER}/jwks", client_id=CLIENT_ID, fetch=CountingFetch(jwks), clock=clock
    )

    with pytest.raises(InvalidToken, match="unknown key"):
        verifier.verify(sign(claims_for(), rsa_key))


def test_default_fetch_refuses_non_https_urls() -> None:
    from accounts.cognito import fetch_jwks

    with pytest.raises(ValueError, match="https"):
        fetch_jwks("file:///etc/passwd")


# -- claims helpers and OIDC settings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"name": "Grace Hopper", "given_name": "G"}, "Grace Hopper"),
        ({"given_name": "Grace", "family_name": "Hopper"}, "Grace Hopper"),
        ({"family_name": "Hopper"}, "Hopper"),
        ({}, ""),
    ],
)
def test_display_name_prefers_name_then_given_and_family(claims: dict[str, str], expected: str) -> None:
    assert claims_display_name(claims) == expected


@pytest.mark.parametrize(
    "domain",
    [
        "botwright.auth.eu-west-1.amazoncognito.com",
        "https://botwright.auth.eu-west-1.amazoncognito.com",
        "https://botwright.auth.eu-west-1.amazoncognito.com/",
    ],
)
def test_oidc_settings_point_at_the_hosted_ui_and_the_pool_jwks(domain: str) -> None:
    oidc = oidc_settings_from_env("eu-west-1", "eu-west-1_AbC", domain, "client-1", "s3cret")

    base = "https://botwright.auth.eu-west-1.amazoncognito.com"
    assert oidc["OIDC_OP_AUTHORIZATION_ENDPOINT"] == f"{base}/oauth2/authorize"
    assert oidc["OIDC_OP_TOKEN_ENDPOINT"] == f"{base}/oauth2/token"
    assert oidc["OIDC_OP_USER_ENDPOINT"] == f"{base}/oauth2/userInfo"
    assert oidc["OIDC_OP_JWKS_ENDPOINT"] == (
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC/.well-known/jwks.json"
    )
    assert (oidc["OIDC_RP_CLIENT_ID"], oidc["OIDC_RP_CLIENT_SECRET"]) == ("client-1", "s3cret")
    assert oidc["OIDC_RP_SIGN_ALGO"] == "RS256"
    assert oidc["OIDC_RP_SCOPES"] == "openid email profile"
    assert oidc["OIDC_TOKEN_USE_BASIC_AUTH"] is True


def test_oidc_settings_for_a_public_client_do_not_use_basic_auth() -> None:
    oidc = oidc_settings_from_env("eu-west-1", "eu-west-1_AbC", "auth.example.com", "client-1", "")

    assert oidc["OIDC_TOKEN_USE_BASIC_AUTH"] is False
    assert oidc["OIDC_OP_TOKEN_ENDPOINT"] == "https://auth.example.com/oauth2/token"


@pytest.mark.parametrize(("domain", "message"), [("", "empty"), ("http://auth.example.com", "https")])
def test_oidc_settings_refuse_a_missing_or_plain_http_domain(domain: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        oidc_settings_from_env("eu-west-1", "eu-west-1_AbC", domain, "client-1", "")


# -- DRF authenticator ----------------------------------------------------------------------------------


def whoami_view(verifier: CognitoVerifier) -> Callable[..., Any]:
    """A tiny endpoint authenticated only by CognitoJWTAuthentication bound to `verifier`."""

    class Auth(CognitoJWTAuthentication):
        def __init__(self) -> None:
            super().__init__(verifier=verifier)

    class WhoAmI(APIView):
        authentication_classes = [Auth]
        permission_classes = [IsAuthenticated]

        def get_exception_handler(self) -> Callable[..., Any]:
            return exception_handler  # DRF's own, independent of the project's handler

        def get(self, request: Request) -> Response:
            return Response({"email": request.user.email, "token_use": request.auth["token_use"]})

    return WhoAmI.as_view()


def get_with(view: Callable[..., Any], authorization: str | None) -> Response:
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    return view(APIRequestFactory().get("/whoami", **extra))


def test_drf_accepts_moto_access_token_for_a_known_user(db, moto_pool: MotoPool) -> None:
    User.objects.create_user(email=moto_pool.email, external_id=moto_pool.sub)

    response = get_with(whoami_view(moto_verifier(moto_pool)), f"Bearer {moto_pool.access_token}")

    assert response.status_code == 200
    assert response.data == {"email": moto_pool.email, "token_use": "access"}


def test_drf_id_token_creates_the_user_keyed_by_sub(db, moto_pool: MotoPool) -> None:
    response = get_with(whoami_view(moto_verifier(moto_pool)), f"Bearer {moto_pool.id_token}")

    assert response.status_code == 200
    user = User.objects.get(external_id=moto_pool.sub)
    assert user.email == moto_pool.email


def test_drf_id_token_links_an_existing_local_account_by_email(db, moto_pool: MotoPool) -> None:
    local = User.objects.create_user(email=moto_pool.email, password="pw-123456")

    response = get_with(whoami_view(moto_verifier(moto_pool)), f"Bearer {moto_pool.id_token}")

    assert response.status_code == 200
    local.refresh_from_db()
    assert local.external_id == moto_pool.sub
    assert User.objects.count() == 1


def test_drf_access_token_of_a_never_seen_user_asks_for_an_id_token_sign_in(db, moto_pool: MotoPool) -> None:
    response = get_with(whoami_view(moto_verifier(moto_pool)), f"Bearer {moto_pool.access_token}")

    assert response.status_code == 401
    assert "sign in once with an ID token" in str(response.data["detail"])
    assert not User.objects.exists()


def test_drf_rejects_a_disabled_user(db, moto_pool: MotoPool) -> None:
    User.objects.create_user(email=moto_pool.email, external_id=moto_pool.sub, is_active=False)

    response = get_with(whoami_view(moto_verifier(moto_pool)), f"Bearer {moto_pool.access_token}")

    assert response.status_code == 401
    assert "disabled" in str(response.data["detail"])


def test_drf_refuses_to_link_an_unverified_email(db, verifier: CognitoVerifier, rsa_key) -> None:
    token = sign(claims_for("id", email_verified=False), rsa_key)

    response = get_with(whoami_view(verifier), f"Bearer {token}")

    assert response.status_code == 401
    assert "not verified" in str(response.data["detail"])


def _tampered(key: rsa.RSAPrivateKey) -> str:
    header, _, signature = sign(claims_for(), key).split(".")
    payload = _b64(json.dumps(claims_for(sub="admin")).encode())
    return f"{header}.{payload}.{signature}"


def _hs256_with_public_pem(key: rsa.RSAPrivateKey) -> str:
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hand_made_token({"alg": "HS256", "kid": TEST_KID}, claims_for(), sign_with=pem)


INVALID_TOKENS: dict[str, tuple[Callable[[rsa.RSAPrivateKey], str], str]] = {
    "tampered payload": (_tampered, "signature is invalid"),
    "alg none": (lambda key: hand_made_token({"alg": "none", "kid": TEST_KID}, claims_for()), "only RS256"),
    "hs256 with public key": (_hs256_with_public_pem, "only RS256"),
    "wrong issuer": (lambda key: sign(claims_for(iss="https://evil.example.com"), key), "iss mismatch"),
    "wrong client id": (lambda key: sign(claims_for(client_id="x"), key), "client_id mismatch"),
    "wrong audience": (lambda key: sign(claims_for("id", aud="x"), key), "aud mismatch"),
    "expired": (lambda key: sign(claims_for(exp=int(time.time()) - 3600), key), "expired"),
    "unknown kid": (lambda key: sign(claims_for(), key, kid="nope"), "unknown key"),
    "refresh token_use": (lambda key: sign(claims_for(token_use="refresh"), key), "token_use"),
    "missing token_use": (lambda key: sign(claims_for(token_use=None), key), "token_use"),
}


@pytest.mark.parametrize("case", list(INVALID_TOKENS))
def test_drf_answers_401_with_the_reason_for_invalid_tokens(
    verifier: CognitoVerifier, rsa_key, case: str
) -> None:
    make_token, reason = INVALID_TOKENS[case]

    response = get_with(whoami_view(verifier), f"Bearer {make_token(rsa_key)}")

    assert response.status_code == 401
    assert reason in str(response.data["detail"])
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_drf_unauthenticated_request_gets_a_bearer_challenge(verifier: CognitoVerifier) -> None:
    response = get_with(whoami_view(verifier), None)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize(
    "authorization",
    ["Bearer bw_live_0123456789abcdef", "Bearer bw_a.b.c", "Bearer opaque-token", "Basic dTpw", "Bearer", ""],
)
def test_drf_leaves_non_jwt_credentials_to_other_authenticators(
    verifier: CognitoVerifier, test_fetch: CountingFetch, authorization: str
) -> None:
    request = Request(APIRequestFactory().get("/", HTTP_AUTHORIZATION=authorization))

    assert CognitoJWTAuthentication(verifier=verifier).authenticate(request) is None
    assert test_fetch.calls == 0


@pytest.fixture
def fresh_verifier_cache() -> Iterator[None]:
    get_verifier.cache_clear()
    yield
    get_verifier.cache_clear()


def test_drf_authenticates_nobody_when_cognito_is_not_configured(
    settings, fresh_verifier_cache, rsa_key
) -> None:
    settings.COGNITO_USER_POOL_ID = ""
    request = Request(
        APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {sign(claims_for(), rsa_key)}")
    )

    assert get_verifier() is None
    assert CognitoJWTAuthentication().authenticate(request) is None


def test_get_verifier_derives_issuer_and_jwks_from_the_pool_id(settings, fresh_verifier_cache) -> None:
    settings.COGNITO_USER_POOL_ID = "eu-central-1_Pool42"
    settings.COGNITO_APP_CLIENT_ID = "client-42"
    settings.COGNITO_REGION = ""
    settings.COGNITO_ISSUER = ""
    settings.COGNITO_JWKS_URL = ""

    verifier = get_verifier()

    assert verifier is not None
    assert verifier.issuer == "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_Pool42"
    assert verifier.jwks_url == verifier.issuer + "/.well-known/jwks.json"
    assert verifier.client_id == "client-42"
    assert get_verifier() is verifier


# -- OIDC backend (hosted UI sign-in) ---------------------------------------------------------------------


@pytest.fixture
def oidc_backend(settings, verifier: CognitoVerifier) -> CognitoOIDCBackend:
    oidc = oidc_settings_from_env("eu-west-1", "eu-west-1_TestPool", "auth.example.com", CLIENT_ID, "secret")
    for name, value in oidc.items():
        setattr(settings, name, value)
    return CognitoOIDCBackend(verifier=verifier)


def test_oidc_backend_verifies_the_id_token_and_its_nonce(oidc_backend: CognitoOIDCBackend, rsa_key) -> None:
    token = sign(claims_for("id", nonce="n-1"), rsa_key)

    assert oidc_backend.verify_token(token, nonce="n-1")["sub"] == claims_for()["sub"]
    with pytest.raises(SuspiciousOperation, match="nonce"):
        oidc_backend.verify_token(token, nonce="n-2")


def test_oidc_backend_refuses_access_tokens_and_foreign_id_tokens(oidc_backend, rsa_key) -> None:
    with pytest.raises(SuspiciousOperation, match="expected an id token"):
        oidc_backend.verify_token(sign(claims_for("access", nonce="n"), rsa_key), nonce="n")
    with pytest.raises(SuspiciousOperation, match="aud mismatch"):
        oidc_backend.verify_token(sign(claims_for("id", aud="other", nonce="n"), rsa_key), nonce="n")


def test_oidc_backend_creates_a_user_keyed_by_sub(db, oidc_backend: CognitoOIDCBackend) -> None:
    claims = claims_for("id")

    user = oidc_backend.get_or_create_user("access-token", "id-token", claims)

    assert (user.external_id, user.email, user.name) == (claims["sub"], "grace@example.com", "Grace Hopper")


def test_oidc_backend_links_by_email_once_then_follows_the_sub(db, oidc_backend: CognitoOIDCBackend) -> None:
    local = User.objects.create_user(email="grace@example.com", password="pw-123456")

    first = oidc_backend.get_or_create_user("a", "i", claims_for("id"))
    renamed = oidc_backend.get_or_create_user("a", "i", claims_for("id", email="grace@navy.example.mil"))

    assert first.pk == renamed.pk == local.pk
    local.refresh_from_db()
    # The sub is the identity; the email a later token carries never rewrites the account's.
    assert (local.external_id, local.email) == (claims_for()["sub"], "grace@example.com")
    assert User.objects.count() == 1


def test_oidc_backend_refuses_unverified_email(db, oidc_backend: CognitoOIDCBackend) -> None:
    # PermissionDenied: django.contrib.auth.authenticate() turns it into a refused sign-in.
    with pytest.raises(PermissionDenied, match="not verified"):
        oidc_backend.get_or_create_user("a", "i", claims_for("id", email_verified=False))
    assert not User.objects.exists()


def test_cognito_logout_url_ends_the_hosted_ui_session_and_returns(settings, rf) -> None:
    settings.COGNITO_DOMAIN = "auth.example.com"
    settings.COGNITO_APP_CLIENT_ID = "client-1"
    settings.LOGOUT_REDIRECT_URL = "/signed-out/"

    url = cognito_logout_url(rf.get("/logout"))

    assert url == (
        "https://auth.example.com/logout?client_id=client-1&logout_uri=http%3A%2F%2Ftestserver%2Fsigned-out%2F"
    )
