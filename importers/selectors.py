"""Reads on import records."""

from __future__ import annotations

from typing import Any

from tenants.models import Membership

from .models import ImportedRecord, Kind


def imported_source_id(*, user: Any, source: str = "supabase") -> str | None:
    """The source id the user was imported from, if any (looked up inside each of the user's orgs)."""
    for org_id in Membership.objects.filter(user=user).values_list("org_id", flat=True):
        record = (
            ImportedRecord.objects.for_org(org_id)
            .filter(source=source, kind=Kind.USER, target_id=str(user.pk))
            .values_list("source_id", flat=True)
            .first()
        )
        if record:
            return record
    return None
