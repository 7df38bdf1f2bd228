"""Users: email is the login identifier; `external_id` holds the identity provider's `sub` (Cognito).

The email is stored in its canonical form (`tenants.emails.canonical_email`: lower-case ASCII,
IDNA domain) and only ever compared exactly, so two spellings of one address are one account and a
look-alike address is never mistaken for another.
"""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone

from tenants.emails import canonical_email, canonical_email_or_none
from tenants.models import CanonicalEmailMixin


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=canonical_email(email), **extra)
        user.set_password(password) if password else user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        # Password login (admin, HTTP Basic) compares the canonical form exactly, like every lookup.
        canonical = canonical_email_or_none(username or "")
        if canonical is None:
            raise self.model.DoesNotExist(f"No user with the email {username!r}.")
        return self.get(email=canonical)


class User(CanonicalEmailMixin, AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200, blank=True)
    external_id = models.CharField(
        max_length=255,
        unique=True,
        null=True,
        blank=True,
        help_text="Identity provider subject (Cognito sub).",
    )
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="Can log into the Django admin.")
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email
