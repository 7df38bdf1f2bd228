"""The import records of one source, loaded once per run and written as rows are imported."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from .models import ImportedRecord


def checksum(values: Any) -> str:
    """A stable digest of a source row as imported (equal digest on a later run: nothing changed)."""
    blob = json.dumps(values, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class RecordIndex:
    """(kind, source id) -> record for one source.

    The importers are operator commands across organisations: this is where they use the
    `all_orgs` escape hatch, once, keyed by the globally unique (source, kind, source id). Every
    Botwright row a record points at is then fetched inside the record's org.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self._rows: dict[tuple[str, str], ImportedRecord] = {
            (r.kind, r.source_id): r for r in ImportedRecord.all_orgs.filter(source=source)
        }

    def get(self, kind: str, source_id: Any) -> ImportedRecord | None:
        return self._rows.get((kind, str(source_id)))

    def by_target(self, kind: str, target_id: Any) -> list[ImportedRecord]:
        return [r for (k, _), r in self._rows.items() if k == kind and r.target_id == str(target_id)]

    def put(
        self,
        *,
        kind: str,
        source_id: Any,
        org_id: Any,
        target_id: Any,
        checksum: str,
        source_updated_at: datetime | None = None,
        detail: dict[str, Any] | None = None,
    ) -> ImportedRecord:
        record, _ = ImportedRecord.all_orgs.update_or_create(
            source=self.source,
            kind=kind,
            source_id=str(source_id),
            defaults={
                "org_id": org_id,
                "target_id": str(target_id),
                "checksum": checksum,
                "source_updated_at": source_updated_at,
                "detail": detail or {},
            },
        )
        self._rows[(kind, str(source_id))] = record
        return record

    def refresh(self, kind: str, source_id: Any) -> None:
        """Re-read one record after its row's transaction rolled back."""
        key = (kind, str(source_id))
        record = ImportedRecord.all_orgs.filter(source=self.source, kind=kind, source_id=key[1]).first()
        if record is None:
            self._rows.pop(key, None)
        else:
            self._rows[key] = record
