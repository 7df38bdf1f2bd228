"""Fail-closed tenant scoping.

Every tenant-owned model inherits :class:`TenantScopedModel`. Its default manager (`objects`) hands
out querysets that refuse to run until they are scoped with ``.for_org(org)``; the only other way
in is the loudly named ``all_orgs`` manager, reserved for the Django admin, migrations and
operator commands (grep for it in review).

Reverse relations of an already-fetched tenant object (``bot.documents.all()``) count as scoped:
the parent was fetched inside its org and a child's org always equals its parent's (enforced in
``TenantScopedModel.clean``/``save``).
"""

from __future__ import annotations

import contextvars
import uuid
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models


class UnscopedQueryError(RuntimeError):
    """A tenant model was queried without `.for_org(org)` — a potential cross-tenant leak."""


# Django's own uniqueness/constraint validation queries `_default_manager` and only asks "does a
# clashing row exist?". Those checks may run unscoped (global uniqueness such as `public_id` needs it).
_validation_in_progress: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "tenant_validation", default=False
)


@contextmanager
def _model_validation():
    token = _validation_in_progress.set(True)
    try:
        yield
    finally:
        _validation_in_progress.reset(token)


class TenantQuerySet(models.QuerySet):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tenant_scoped = False

    def _clone(self):
        clone = super()._clone()
        clone._tenant_scoped = self._tenant_scoped
        return clone

    def for_org(self, org: Any) -> TenantQuerySet:
        if org is None:
            raise UnscopedQueryError(
                f"{self.model.__name__}.objects.for_org() needs an organisation, not None."
            )
        org_id = org.pk if hasattr(org, "pk") else org
        qs = self.filter(org_id=org_id)
        qs._tenant_scoped = True
        return qs

    def _require_scope(self) -> None:
        if not self._tenant_scoped and not _validation_in_progress.get():
            raise UnscopedQueryError(
                f"Unscoped query on tenant model {self.model.__name__}: use "
                f"{self.model.__name__}.objects.for_org(org) (or `all_orgs` in admin/migrations only)."
            )

    def _fetch_all(self) -> None:
        if self._result_cache is None:
            self._require_scope()
        super()._fetch_all()

    def iterator(self, *args: Any, **kwargs: Any):
        self._require_scope()
        return super().iterator(*args, **kwargs)

    def count(self) -> int:
        if self._result_cache is None:
            self._require_scope()
        return super().count()

    def exists(self) -> bool:
        if self._result_cache is None:
            self._require_scope()
        return super().exists()

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._require_scope()
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs: Any) -> int:
        self._require_scope()
        return super().update(**kwargs)

    def delete(self):
        self._require_scope()
        return super().delete()


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    def get_queryset(self) -> TenantQuerySet:
        qs = super().get_queryset()
        # Related managers (bot.documents) are subclasses of this manager bound to a parent instance.
        instance = getattr(self, "instance", None)
        if instance is not None and (
            isinstance(instance, TenantScopedModel) or instance._meta.label == "tenants.Organization"
        ):
            qs._tenant_scoped = True
        return qs


class TenantScopedModel(models.Model):
    """Base of every model owned by one organisation."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey("tenants.Organization", on_delete=models.CASCADE, related_name="+")

    objects = TenantManager()
    # Escape hatch for the admin, migrations and operator commands only.
    all_orgs = models.Manager()

    class Meta:
        abstract = True
        default_manager_name = "objects"
        base_manager_name = "all_orgs"

    def validate_unique(self, exclude: Any = None) -> None:
        with _model_validation():
            super().validate_unique(exclude=exclude)

    def validate_constraints(self, exclude: Any = None) -> None:
        with _model_validation():
            super().validate_constraints(exclude=exclude)

    def clean(self) -> None:
        super().clean()
        self._check_parent_orgs()

    def save(self, *args: Any, **kwargs: Any) -> None:
        self._check_parent_orgs()
        super().save(*args, **kwargs)

    def _check_parent_orgs(self) -> None:
        """A row may only point at parents of its own organisation."""
        for field in self._meta.concrete_fields:
            if not isinstance(field, models.ForeignKey) or field.name == "org":
                continue
            related_model = field.related_model
            if not (isinstance(related_model, type) and issubclass(related_model, TenantScopedModel)):
                continue
            parent = getattr(self, field.name, None) if getattr(self, field.attname) is not None else None
            if parent is not None and parent.org_id != self.org_id:
                raise ValidationError({field.name: "Belongs to another organisation."})
