"""Browser sign-in through the Cognito hosted UI (mozilla-django-oidc, authorization-code flow + PKCE).

`oidc_settings_from_env` turns the COGNITO_* values into the OIDC_* settings mozilla-django-oidc
reads; `CognitoOIDCBackend` maps a Cognito identity (its `sub`) to a Botwright user through
`accounts.services.user_sync_from_claims`, the same path the API authenticator uses.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from tenants.emails import canonical_email_or_none
from tenants.errors import ApplicationError

from .cognito import (
    CognitoVerifier,
    InvalidToken,
    claims_display_name,
    claims_email_verified,
    get_verifier,
    hosted_ui_base_url,
    oidc_settings_from_env,
)

# oidc_settings_from_env lives in the Django-free accounts.cognito so that settings can import it
# (this module imports mozilla-django-oidc, which needs the app registry); re-exported for callers.
__all__ = ["CognitoOIDCBackend", "cognito_logout_url", "oidc_settings_from_env"]


def cognito_logout_url(request: HttpRequest) -> str:
    """Where OIDCLogoutView sends the browser: the hosted UI's /logout, which ends the Cognito session
    too and then returns to LOGOUT_REDIRECT_URL (register that URL as a sign-out URL of the client)."""
    from django.conf import settings
    from django.shortcuts import resolve_url

    back = request.build_absolute_uri(resolve_url(settings.LOGOUT_REDIRECT_URL or "/"))
    query = urlencode({"client_id": settings.COGNITO_APP_CLIENT_ID, "logout_uri": back})
    return f"{hosted_ui_base_url(settings.COGNITO_DOMAIN)}/logout?{query}"


class CognitoOIDCBackend(OIDCAuthenticationBackend):
    """Maps the hosted-UI sign-in to a user by Cognito `sub` (external_id), linking by verified email once.

    The ID token is verified with the shared `CognitoVerifier` (RS256, issuer, audience, expiry,
    token_use=id) plus the nonce, and its claims serve as the user info, which saves a round trip to
    the userinfo endpoint; `verifier` overrides the settings-built one in tests.
    """

    def __init__(self, *args: Any, verifier: CognitoVerifier | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._verifier = verifier

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        verifier = self._verifier or get_verifier()
        if verifier is None:
            raise SuspiciousOperation("Cognito is not configured (COGNITO_USER_POOL_ID/APP_CLIENT_ID).")
        try:
            claims = verifier.verify(token, token_use="id")
        except InvalidToken as exc:
            raise SuspiciousOperation(f"Cognito ID token rejected: {exc.reason}")
        if self.get_settings("OIDC_USE_NONCE", True) and kwargs.get("nonce") != claims.get("nonce"):
            raise SuspiciousOperation("JWT nonce verification failed.")
        return claims

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> dict[str, Any]:
        return payload

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        # Whether the email may create or link an account is decided in user_sync_from_claims,
        # which also lets a known `sub` in whatever its email's state.
        return bool(claims.get("sub"))

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        # Only the count matters to mozilla-django-oidc (0: create_user, 1: update_user); both
        # end in user_sync_from_claims, which applies the linking rules.
        users = self.UserModel.objects.filter(external_id=claims["sub"])
        if users.exists():
            return users
        email = canonical_email_or_none(claims.get("email") or "")
        return self.UserModel.objects.filter(email=email) if email else self.UserModel.objects.none()

    def create_user(self, claims: dict[str, Any]) -> Any:
        return self._sync(claims)

    def update_user(self, user: Any, claims: dict[str, Any]) -> Any:
        return self._sync(claims)

    def describe_user_by_claims(self, claims: dict[str, Any]) -> str:
        return f"sub {claims.get('sub')} / email {claims.get('email')}"

    def _sync(self, claims: dict[str, Any]) -> Any:
        from .services import user_sync_from_claims

        try:
            return user_sync_from_claims(
                sub=claims["sub"],
                email=claims.get("email") or "",
                email_verified=claims_email_verified(claims),
                name=claims_display_name(claims),
            )
        except ApplicationError as exc:
            # Shown on the login page the failed sign-in returns to; PermissionDenied makes
            # django.contrib.auth.authenticate() refuse the sign-in (not a server error).
            request = getattr(self, "request", None)
            if request is not None and hasattr(request, "_messages"):
                messages.error(request, exc.message)
            raise PermissionDenied(exc.message)
