"""DRF authentication with Cognito JWTs: `Authorization: Bearer <access or ID token>`.

Only bearer tokens shaped like a JWT (three dot-separated parts, the first a base64url JSON header)
are claimed; any other bearer credential (the chat API's `bw_…` keys) is left to the next
authenticator. Nothing is fetched per
request beyond the cached JWKS — in particular the userinfo endpoint is never called.

Mapping claims to a user:
- ID token: `accounts.services.user_sync_from_claims` (found by `sub`; created, or linked to an
  unbound account, by verified email only).
- access token: it carries no email, so the user is looked up by `sub` only; a user who never
  signed in with an ID token (or the hosted UI) gets a 401 saying so.
"""

from __future__ import annotations

from typing import Any

import jwt
from django.contrib.auth import get_user_model
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from tenants.errors import ApplicationError

from .cognito import CognitoVerifier, InvalidToken, claims_display_name, claims_email_verified, get_verifier


def _bearer_jwt(request: Request) -> str | None:
    """The bearer token when it looks like a JWT, else None (not ours to judge)."""
    parts = get_authorization_header(request).split()
    if len(parts) != 2 or parts[0].lower() != b"bearer":
        return None
    try:
        token = parts[1].decode("ascii")
    except UnicodeDecodeError:
        return None
    if token.count(".") != 2:
        return None
    try:
        # A JWT's first part is a JSON object; API keys and other opaque tokens are not.
        jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return None
    return token


class CognitoJWTAuthentication(BaseAuthentication):
    """Authenticates Cognito access/ID tokens; `request.auth` is the verified claims dict.

    `verifier` overrides the settings-built one (tests); when Cognito is not configured the class
    authenticates nobody and lets the other authenticators run.
    """

    www_authenticate_realm = "api"

    def __init__(self, verifier: CognitoVerifier | None = None) -> None:
        self._verifier = verifier

    def authenticate(self, request: Request) -> tuple[Any, dict[str, Any]] | None:
        token = _bearer_jwt(request)
        if token is None:
            return None
        verifier = self._verifier or get_verifier()
        if verifier is None:
            return None
        try:
            claims = verifier.verify(token)
        except InvalidToken as exc:
            raise exceptions.AuthenticationFailed(f"Invalid token: {exc.reason}")
        user = self._user_for(claims)
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User account is disabled.")
        return user, claims

    def authenticate_header(self, request: Request) -> str:
        # A WWW-Authenticate value makes DRF answer 401 instead of 403 for unauthenticated requests.
        return f'Bearer realm="{self.www_authenticate_realm}"'

    def _user_for(self, claims: dict[str, Any]) -> Any:
        sub = claims["sub"]
        if claims["token_use"] == "access":
            user = get_user_model().objects.filter(external_id=sub).first()
            if user is None:
                raise exceptions.AuthenticationFailed(
                    "Unknown user: sign in once with an ID token or through the hosted UI, "
                    "then access tokens are accepted."
                )
            return user
        # Imported here: services pull in tenant models, and DRF imports authenticators at start-up.
        from .services import user_sync_from_claims

        try:
            return user_sync_from_claims(
                sub=sub,
                email=claims.get("email") or "",
                email_verified=claims_email_verified(claims),
                name=claims_display_name(claims),
            )
        except ApplicationError as exc:
            raise exceptions.AuthenticationFailed(exc.message, code=exc.code)
