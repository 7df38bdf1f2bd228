"""Cognito User Migration Lambda trigger: users sign in to Cognito with their old Supabase password.

Cognito cannot import password hashes. Instead, when someone unknown to the user pool signs in (or
asks to reset a password), Cognito calls this trigger; it checks the password against the hash
`import_supabase` stored (Django's `check_password`, bcrypt for imported users) and returns the
user's attributes, and Cognito then creates the user, `CONFIRMED`, with the password just typed.
Nobody has to reset anything. Wired up in `zappa_settings.json` (`cognito.triggers`, both trigger
sources) and described in docs/deploy.md.

Event shape (AWS): `triggerSource` is `UserMigration_Authentication` (with `request.password`) or
`UserMigration_ForgotPassword`; `userName` is what the user typed (the email: Botwright's pool signs
in with email). Raising an exception tells Cognito to refuse the sign-in; the message is not shown
to the user as-is, so it never reveals whether the account exists.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

AUTHENTICATION = "UserMigration_Authentication"
FORGOT_PASSWORD = "UserMigration_ForgotPassword"


class MigrationRefused(Exception):
    """Cognito answers the sign-in with an error; the user is not created."""


def _setup_django() -> None:
    # Zappa sets Django up before calling a trigger; a bare Lambda handler or a test may not have.
    from django.apps import apps

    if not apps.ready:
        import django

        django.setup()


def _user_attributes(user: Any) -> dict[str, str]:
    from django.conf import settings

    from .selectors import imported_source_id

    attributes = {"email": user.email, "email_verified": "true"}
    if user.name:
        attributes["name"] = user.name
    attribute = settings.COGNITO_SOURCE_ID_ATTRIBUTE
    source_id = imported_source_id(user=user) if attribute else None
    if source_id:
        attributes[attribute] = source_id
    return attributes


def user_migration(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The trigger handler (`importers.cognito_trigger.user_migration`); returns the event, answered."""
    trigger = event.get("triggerSource") if isinstance(event, dict) else None
    if trigger not in (AUTHENTICATION, FORGOT_PASSWORD):
        raise MigrationRefused(
            f"Unsupported trigger {trigger!r}; this handler answers {AUTHENTICATION} and {FORGOT_PASSWORD}."
        )
    try:
        _setup_django()
        from django.contrib.auth import get_user_model
        from django.contrib.auth.hashers import make_password

        from tenants.emails import canonical_email_or_none

        email = canonical_email_or_none(str(event.get("userName") or ""))
        user = get_user_model().objects.filter(email=email, is_active=True).first() if email else None
        if trigger == AUTHENTICATION:
            password = str((event.get("request") or {}).get("password") or "")
            if user is None:
                make_password(password)  # about as slow as a real check: timing does not reveal accounts
                raise MigrationRefused("Bad username or password.")
            if not password or not user.check_password(password):
                raise MigrationRefused("Bad username or password.")
        elif user is None:  # a forgotten password: Cognito creates the user and sends a reset code
            raise MigrationRefused("Bad username or password.")
        response = event.setdefault("response", {})
        response["userAttributes"] = _user_attributes(user)
        response["messageAction"] = "SUPPRESS"
        if trigger == AUTHENTICATION:
            response["finalUserStatus"] = "CONFIRMED"
        logger.info("cognito user migration", extra={"trigger": trigger, "user_id": str(user.pk)})
        return event
    except MigrationRefused:
        logger.info("cognito user migration refused", extra={"trigger": trigger})
        raise
    except Exception as exc:
        # Zappa retries a handler that raised TypeError with fewer arguments: never let one escape.
        logger.exception("cognito user migration failed", extra={"trigger": trigger})
        raise MigrationRefused(f"The migration check failed: {type(exc).__name__}.") from exc
