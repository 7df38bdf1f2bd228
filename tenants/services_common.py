"""Building blocks every app's services share (HackSoft's `common/services.py`).

It lives in `tenants`, the bottom of the dependency graph next to `tenants.errors` and
`tenants.audit`, so bots, documents, chat and accounts can all import it without a cycle.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from .audit import diff_fields
from .errors import InvalidInput


def model_validate(*, instance: models.Model, exclude: Collection[str] | None = None) -> None:
    """Run the model's own validation (`full_clean`), as a domain error listing every field's messages."""
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        first = next(iter(errors.values()))[0]
        raise InvalidInput(first, extra={"errors": errors}) from exc


def model_update(
    *, instance: models.Model, fields: Collection[str], data: Mapping[str, Any]
) -> dict[str, list]:
    """Write `data` onto `instance`, validate it and save the fields that changed.

    Only names in `fields` may be written; any other key is refused (InvalidInput), never silently
    dropped or written. Returns `{field: [old, new]}` for the fields that changed (what an audit event
    records); nothing is saved when nothing changed. Call it inside the caller's transaction.
    """
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise InvalidInput(
            f"Unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}.",
            extra={"errors": {name: ["Unknown field."] for name in unknown}},
        )
    changes = diff_fields(instance, dict(data))
    if not changes:
        return {}
    for name in changes:
        setattr(instance, name, data[name])
    model_validate(instance=instance)
    update_fields = list(changes)
    if any(f.name == "updated_at" for f in instance._meta.concrete_fields):
        update_fields.append("updated_at")  # auto_now only runs for fields being saved
    instance.save(update_fields=update_fields)
    return changes
