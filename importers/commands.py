"""What the two import commands share: --since parsing, the report at the end, the exit code."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from django.core.management.base import CommandError
from django.utils.dateparse import parse_date, parse_datetime

from tenants.errors import ApplicationError

from .report import ImportReport


def parse_since(value: str | None) -> datetime | None:
    """`2025-01-31` or `2025-01-31T12:00:00+02:00`; a time without zone is UTC."""
    if not value:
        return None
    try:
        moment = parse_datetime(value)
        if moment is None and (day := parse_date(value)) is not None:
            moment = datetime.combine(day, time.min)
    except ValueError:
        moment = None
    if moment is None:
        raise CommandError(f"--since {value!r} is not an ISO date or date-time (e.g. 2025-01-31T12:00:00Z).")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def finish(
    command: Any, report: ImportReport, *, report_path: str | None, error: ApplicationError | None = None
) -> None:
    """Print the report, write the JSON one, and fail the command when anything failed."""
    if error is not None:
        report.info["error"] = error.message
        report.finish()
    command.stdout.write(report.render())
    if report_path:
        report.write_json(report_path)
        command.stdout.write(f"JSON report written to {report_path}")
    if error is not None:
        raise CommandError(error.message, returncode=2)
    if not report.ok:
        raise CommandError(
            f"{report.failed} row(s) or check(s) failed; see the report above"
            + (f" and {report_path}" if report_path else "")
            + ". Fix the cause and run the same command again: it picks up where it stopped.",
            returncode=1,
        )
