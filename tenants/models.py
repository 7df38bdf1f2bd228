"""Organisations (tenants), their members, invitations and the audit log."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from .emails import InvalidEmail, canonical_email
from .scoping import TenantScopedModel, UnscopedQueryError  # noqa: F401  (re-exported)


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"


ROLE_RANK = {Role.VIEWER: 1, Role.EDITOR: 2, Role.ADMIN: 3, Role.OWNER: 4}


def role_at_least(role: str, minimum: str) -> bool:
    return ROLE_RANK[Role(role)] >= ROLE_RANK[Role(minimum)]


def _quota_field(what: str) -> models.PositiveBigIntegerField:
    return models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text=f"Limit on {what}. Empty: the deployment's default (QUOTA_DEFAULTS); 0: unlimited.",
    )


class Organization(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Per-organisation quota overrides (tenants.quotas): empty = settings.QUOTA_DEFAULTS, 0 = unlimited.
    quota_bots = _quota_field("bots")
    quota_documents = _quota_field("documents")
    quota_storage_bytes = _quota_field("storage (bytes)")
    quota_chunks = _quota_field("passages (chunks)")
    quota_messages_per_month = _quota_field("messages per calendar month (UTC)")
    quota_tokens_per_month = _quota_field("model tokens per calendar month (UTC)")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's role in an organisation. Not a TenantScopedModel: it is what scoping is decided from."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [models.UniqueConstraint(fields=["org", "user"], name="uniq_membership_org_user")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.org} ({self.role})"


def _invitation_expiry():
    return timezone.now() + timedelta(days=settings.INVITATION_TTL_DAYS)


class CanonicalEmailMixin:
    """Keeps a model's `email` in canonical form (`tenants.emails`): matched exactly, never folded."""

    def clean(self) -> None:
        # Before super().clean(): AbstractBaseUser's NFKC normalisation would turn look-alike
        # letters (the Kelvin sign) into ASCII ones that canonical_email must refuse instead.
        try:
            self.email = canonical_email(self.email)
        except InvalidEmail as exc:
            raise ValidationError({"email": [str(exc)]})
        super().clean()

    def save(self, *args, **kwargs) -> None:
        # The last guard for writes that skip clean() (shell, scripts): never store another form.
        # Saves that do not write the email (last_login on sign-in) leave a legacy row alone.
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "email" in update_fields:
            self.email = canonical_email(self.email)
        super().save(*args, **kwargs)


class Invitation(CanonicalEmailMixin, models.Model):
    """A role offered to an email address; the person at that address accepts it (or declines)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(default=_invitation_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                "org",
                condition=models.Q(accepted_at__isnull=True),
                name="uniq_open_invitation",
            )
        ]

    @property
    def status(self) -> str:
        if self.accepted_at:
            return "accepted"
        return "expired" if self.expires_at <= timezone.now() else "pending"

    def __str__(self) -> str:
        return f"{self.email} → {self.org} ({self.role}, {self.status})"


class AuditEvent(models.Model):
    """Who did what to which org, membership, bot or document. Written by services only.

    Keeps the org id (not a foreign key) so an org's history survives the org's deletion.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_email = models.CharField(max_length=254, blank=True)
    org_id = models.UUIDField(null=True, blank=True, db_index=True)
    org_name = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=64, db_index=True)  # e.g. "bot.updated"
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    target_repr = models.CharField(max_length=255, blank=True)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        who = self.actor_email or "system"
        return f"{self.created_at:%Y-%m-%d %H:%M} {who} {self.action} {self.target_repr}"
