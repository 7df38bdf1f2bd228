"""The verification report of an import run: per entity what was read and what became of it.

Django-free. Outcomes: `created`, `updated`, `unchanged`, `skipped` (the source row is not importable
or not wanted: a banned user, a bot without an owner; the reason is listed) and `failed` (the row
should have been imported and was not: a missing file, a write error, a verification mismatch).
A run *failed* — the command exits non-zero — when any row failed or any verification check did.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

OUTCOMES = ("created", "updated", "unchanged", "skipped", "failed")
# Every problem is in the JSON report; the console shows the first few per entity.
_CONSOLE_PROBLEMS = 10


@dataclass
class EntityReport:
    name: str
    read: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    problems: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)

    def add(self, outcome: str, source_id: Any = None, reason: str = "", *, count: int = 1) -> None:
        """Count `count` rows with this outcome; a skip or failure is listed once with its reason."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        self.counts[outcome] += count
        if outcome in ("skipped", "failed"):
            problem = {"source_id": _str(source_id), "outcome": outcome, "reason": reason}
            if count != 1:
                problem["rows"] = count
            self.problems.append(problem)

    def note(self, source_id: Any, message: str) -> None:
        """Imported, but changed on the way (a clamped value, a dropped password): worth knowing."""
        self.notes.append({"source_id": _str(source_id), "note": message})

    def to_dict(self) -> dict[str, Any]:
        return {"read": self.read, **self.counts, "problems": self.problems, "notes": self.notes}


@dataclass
class ImportReport:
    command: str
    dry_run: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    entities: dict[str, EntityReport] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def entity(self, name: str) -> EntityReport:
        if name not in self.entities:
            self.entities[name] = EntityReport(name)
        return self.entities[name]

    def check(self, name: str, *, passed: bool, **detail: Any) -> None:
        """A verification check (vectors read back, a passage found by its own text)."""
        self.checks.append({"check": name, "passed": bool(passed), **detail})

    @property
    def failed(self) -> int:
        return sum(e.counts["failed"] for e in self.entities.values()) + sum(
            1 for c in self.checks if not c["passed"]
        )

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def finish(self) -> None:
        self.finished_at = datetime.now(UTC)

    def to_dict(self) -> dict[str, Any]:
        finished = self.finished_at or datetime.now(UTC)
        return {
            "command": self.command,
            "dry_run": self.dry_run,
            "options": self.options,
            "started_at": self.started_at.isoformat(),
            "finished_at": finished.isoformat(),
            "duration_s": round((finished - self.started_at).total_seconds(), 3),
            "entities": {name: e.to_dict() for name, e in self.entities.items()},
            "checks": self.checks,
            "info": self.info,
            "failed": self.failed,
            "ok": self.ok,
        }

    def write_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n", encoding="utf-8")

    def render(self) -> str:
        """The table printed at the end of a run (the JSON report has every detail)."""
        verbs = ("would create", "would update") if self.dry_run else ("created", "updated")
        header = ["entity", "read", *verbs, "unchanged", "skipped", "failed"]
        rows = [
            [name, str(e.read), *(str(e.counts[o]) for o in OUTCOMES)] for name, e in self.entities.items()
        ]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        lines = [
            ("DRY RUN — nothing was written. " if self.dry_run else "") + f"{self.command} report",
            "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
        ]
        lines += [
            "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
            for r in rows
        ]
        for name, e in self.entities.items():
            for problem in e.problems[:_CONSOLE_PROBLEMS]:
                lines.append(f"  {problem['outcome']}: {name} {problem['source_id']}: {problem['reason']}")
            if len(e.problems) > _CONSOLE_PROBLEMS:
                lines.append(
                    f"  … {len(e.problems) - _CONSOLE_PROBLEMS} more {name} problems in the JSON report"
                )
            for note in e.notes[:_CONSOLE_PROBLEMS]:
                lines.append(f"  note: {name} {note['source_id']}: {note['note']}")
            if len(e.notes) > _CONSOLE_PROBLEMS:
                lines.append(f"  … {len(e.notes) - _CONSOLE_PROBLEMS} more {name} notes in the JSON report")
        for check in self.checks:
            detail = ", ".join(f"{k}={v}" for k, v in check.items() if k not in ("check", "passed"))
            lines.append(f"check {check['check']}: {'passed' if check['passed'] else 'FAILED'} ({detail})")
        lines.append(f"failed: {self.failed}")
        return "\n".join(lines)


def _str(value: Any) -> str | None:
    return None if value is None else str(value)
