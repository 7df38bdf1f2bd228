"""Verification of Amazon Cognito access and ID tokens (RS256 JWTs signed with the pool's keys).

Django-free: the verifier takes plain values, so it is tested without settings. `get_verifier()`
builds the process-wide instance from settings (imported lazily) for the DRF authenticator and
the OIDC backend.

Security contract of `CognitoVerifier.verify` (every failure raises `InvalidToken`):
- only RS256; the algorithm is pinned here, never taken from the token, so `none` and
  HS256-signed-with-the-public-key ("algorithm confusion") tokens are refused before any key is used;
- the key is chosen by `kid` from the pool's JWKS, fetched lazily and cached; an unknown `kid`
  triggers at most one refetch per `refetch_min_interval_s`, so forged kids cannot make us hammer
  the JWKS endpoint;
- `iss` equals the pool's issuer, `exp` is present and not past (with `leeway_s`), `sub` is present;
- `token_use` is "access" (then `client_id` must be our app client) or "id" (then `aud` must be).
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import jwt

logger = logging.getLogger(__name__)

JwksFetcher = Callable[[str], dict[str, Any]]

ALGORITHM = "RS256"
TOKEN_USES = ("access", "id")
# A JWKS is a few kilobytes; the cap stops a hostile or broken endpoint from filling memory.
_MAX_JWKS_BYTES = 512 * 1024
# While no keys were ever loaded every token needs a fetch, but an outage must not turn each
# request into one: retry at most this often.
_COLD_RETRY_S = 5.0


class InvalidToken(Exception):
    """The token must not be trusted; `reason` says why (safe to show to the client)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def cognito_issuer(*, region: str, pool_id: str) -> str:
    """The `iss` of every token a user pool signs."""
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


def cognito_jwks_url(*, region: str, pool_id: str) -> str:
    return f"{cognito_issuer(region=region, pool_id=pool_id)}/.well-known/jwks.json"


def fetch_jwks(url: str, *, timeout_s: float = 5.0) -> dict[str, Any]:
    """GET a JWKS document over HTTPS with a short timeout (the request that triggered it is waiting)."""
    loopback = url.startswith(
        ("http://127.0.0.1:", "http://localhost:", "http://127.0.0.1/", "http://localhost/")
    )
    if not url.startswith("https://") and not loopback:
        # urlopen would also follow file:// and ftp:// URLs; a JWKS is only trusted over TLS, or on
        # this machine's loopback (moto server / LocalStack in development and tests).
        raise ValueError(f"JWKS URL must be https, got {url!r}")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 (scheme checked)
        body = response.read(_MAX_JWKS_BYTES + 1)
    if len(body) > _MAX_JWKS_BYTES:
        raise ValueError(f"JWKS at {url} is larger than {_MAX_JWKS_BYTES} bytes")
    return json.loads(body)


def _rsa_keys_from_jwks(jwks: Any) -> dict[str, Any]:
    """Map kid -> public key for the RS256 signing keys of a JWKS; other keys are ignored."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise ValueError("JWKS document has no 'keys' list")
    keys: dict[str, Any] = {}
    for jwk in jwks["keys"]:
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or not jwk.get("kid"):
            continue
        if jwk.get("alg", ALGORITHM) != ALGORITHM or jwk.get("use", "sig") != "sig":
            continue
        try:
            keys[str(jwk["kid"])] = jwt.PyJWK(jwk, algorithm=ALGORITHM).key
        except jwt.PyJWTError as exc:
            logger.warning("Skipping unusable JWK kid=%s: %s", jwk.get("kid"), exc)
    return keys


class CognitoVerifier:
    """Verifies Cognito-issued JWTs for one user pool and one app client. Thread-safe.

    `fetch(url) -> dict` loads the JWKS (default: urllib, 5 s timeout); `clock() -> float` is the
    monotonic clock used for the key cache (tests pass a fake one). Token expiry uses wall time.
    """

    def __init__(
        self,
        *,
        issuer: str,
        jwks_url: str,
        client_id: str,
        fetch: JwksFetcher | None = None,
        cache_ttl_s: float = 3600,
        leeway_s: float = 30,
        refetch_min_interval_s: float = 60,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not issuer or not jwks_url or not client_id:
            raise ValueError("CognitoVerifier needs issuer, jwks_url and client_id")
        self.issuer = issuer.rstrip("/")
        self.jwks_url = jwks_url
        self.client_id = client_id
        self._fetch = fetch or fetch_jwks
        self._cache_ttl_s = cache_ttl_s
        self._leeway_s = leeway_s
        self._refetch_min_interval_s = refetch_min_interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, Any] | None = None
        self._fetched_at = float("-inf")
        self._last_attempt_at = float("-inf")

    # -- public ---------------------------------------------------------------------------------
    def verify(self, token: str, *, token_use: str | None = None) -> dict[str, Any]:
        """Return the claims of a valid token, else raise `InvalidToken`.

        `token_use` ("access" or "id") additionally demands that kind of token.
        """
        if not isinstance(token, str) or token.count(".") != 2:
            raise InvalidToken("malformed token: expected a JWT with three dot-separated parts")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"malformed token header: {exc}")
        alg = header.get("alg")
        if alg != ALGORITHM:
            raise InvalidToken(f"unsupported signing algorithm {alg!r}; only {ALGORITHM} is accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("token header has no key id (kid)")
        key = self._signing_key(kid)

        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                leeway=self._leeway_s,
                # Cognito access tokens carry no `aud`; audience is checked below per token_use.
                options={"require": ["exp", "iss", "sub"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("token has expired; refresh it and retry")
        except jwt.InvalidSignatureError:
            raise InvalidToken("token signature is invalid")
        except jwt.InvalidIssuerError:
            raise InvalidToken("token was issued by another identity provider (iss mismatch)")
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(f"token lacks the required {exc.claim!r} claim")
        except jwt.ImmatureSignatureError:
            raise InvalidToken("token is not valid yet (iat/nbf in the future)")
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"token rejected: {exc}")

        self._check_claims(claims, token_use=token_use)
        return claims

    def clear_cache(self) -> None:
        with self._lock:
            self._keys = None
            self._fetched_at = self._last_attempt_at = float("-inf")

    # -- internals --------------------------------------------------------------------------------
    def _check_claims(self, claims: dict[str, Any], *, token_use: str | None) -> None:
        use = claims.get("token_use")
        if use not in TOKEN_USES:
            raise InvalidToken(f"token_use must be 'access' or 'id', got {use!r}")
        if token_use is not None and use != token_use:
            raise InvalidToken(f"expected an {token_use} token, got an {use} token")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise InvalidToken("token lacks the required 'sub' claim")
        if use == "access":
            if claims.get("client_id") != self.client_id:
                raise InvalidToken("access token was issued to another app client (client_id mismatch)")
        else:
            aud = claims.get("aud")
            if aud != self.client_id and aud != [self.client_id]:
                raise InvalidToken("ID token was issued to another app client (aud mismatch)")

    def _signing_key(self, kid: str) -> Any:
        gap = self._refetch_min_interval_s
        with self._lock:
            now = self._clock()
            if self._keys is None:
                if now - self._last_attempt_at >= _COLD_RETRY_S:
                    self._load(now)
            elif now - self._fetched_at >= self._cache_ttl_s and now - self._last_attempt_at >= gap:
                self._load(now)
            keys = self._keys
            if keys is not None and kid not in keys and now - self._last_attempt_at >= gap:
                # Unknown kid: the pool may have rotated its keys since we cached them.
                self._load(now)
                keys = self._keys
        if keys is None:
            raise InvalidToken("signing keys are unavailable right now; retry shortly")
        if kid not in keys:
            raise InvalidToken(f"token was signed with an unknown key (kid={kid!r})")
        return keys[kid]

    def _load(self, now: float) -> None:
        """Fetch the JWKS; on failure keep any keys we already have (caller holds the lock)."""
        self._last_attempt_at = now
        try:
            keys = _rsa_keys_from_jwks(self._fetch(self.jwks_url))
        except Exception as exc:  # any network, HTTP or parse failure is handled the same way
            logger.warning("Could not load Cognito JWKS from %s: %s", self.jwks_url, exc)
            return
        self._keys = keys
        self._fetched_at = now


@functools.cache
def get_verifier() -> CognitoVerifier | None:
    """The process-wide verifier built from settings, or None when Cognito is not configured.

    Cached for the process (keys are cached inside it); tests call `get_verifier.cache_clear()`.
    """
    from django.conf import settings

    pool_id = settings.COGNITO_USER_POOL_ID
    client_id = settings.COGNITO_APP_CLIENT_ID
    if not pool_id or not client_id:
        return None
    # Pool ids are "<region>_<random>", so the region can be derived when it is not set.
    region = settings.COGNITO_REGION or pool_id.split("_", 1)[0]
    issuer = settings.COGNITO_ISSUER or cognito_issuer(region=region, pool_id=pool_id)
    jwks_url = settings.COGNITO_JWKS_URL or cognito_jwks_url(region=region, pool_id=pool_id)
    return CognitoVerifier(issuer=issuer, jwks_url=jwks_url, client_id=client_id)


# -- helpers shared by the API authenticator, the OIDC backend and settings --------------------


def claims_email_verified(claims: dict[str, Any]) -> bool:
    """True only when the IdP asserts the email is verified: boolean true or the exact string
    "true" (older pools send strings). A missing claim, "True", "FALSE" or 1 is not verified:
    linking an unverified address to an account would let anyone claim that account."""
    value = claims.get("email_verified")
    return value is True or value == "true"


def claims_display_name(claims: dict[str, Any]) -> str:
    if claims.get("name"):
        return str(claims["name"]).strip()
    return " ".join(str(claims[k]) for k in ("given_name", "family_name") if claims.get(k)).strip()


def hosted_ui_base_url(domain: str) -> str:
    """`https://<domain>` for a hosted-UI domain given bare (`app.auth.eu-west-1.amazoncognito.com`,
    a custom domain) or as a URL; trailing slashes are dropped."""
    domain = domain.strip().rstrip("/")
    if not domain:
        raise ValueError("COGNITO_DOMAIN is empty; set it to the user pool's hosted UI domain")
    if domain.startswith("http://"):
        raise ValueError(f"COGNITO_DOMAIN must use https, got {domain!r}")
    return domain if domain.startswith("https://") else f"https://{domain}"


def oidc_settings_from_env(
    region: str, pool_id: str, domain: str, client_id: str, client_secret: str
) -> dict[str, Any]:
    """The mozilla-django-oidc settings for a Cognito user pool and app client.

    ``config/settings`` assigns each of them by name when COGNITO_* are set. A client without a
    secret (a public client) sends its id in the body; one with a secret uses HTTP Basic, which the
    Cognito token endpoint expects for confidential clients.
    """
    base = hosted_ui_base_url(domain)
    return {
        "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{base}/oauth2/authorize",
        "OIDC_OP_TOKEN_ENDPOINT": f"{base}/oauth2/token",
        "OIDC_OP_USER_ENDPOINT": f"{base}/oauth2/userInfo",
        "OIDC_OP_JWKS_ENDPOINT": cognito_jwks_url(region=region, pool_id=pool_id),
        "OIDC_OP_LOGOUT_URL_METHOD": "accounts.oidc.cognito_logout_url",
        "OIDC_RP_CLIENT_ID": client_id,
        "OIDC_RP_CLIENT_SECRET": client_secret,
        "OIDC_RP_SIGN_ALGO": "RS256",
        "OIDC_RP_SCOPES": "openid email profile",
        "OIDC_TOKEN_USE_BASIC_AUTH": bool(client_secret),
        "OIDC_USE_PKCE": True,
        "OIDC_TIMEOUT": 10,
    }
