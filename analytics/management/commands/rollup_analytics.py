"""`manage.py rollup_analytics [--date D | --from D --to D] [--org ID]`: rebuild the daily rollup.

Recomputes each UTC day from raw messages, conversations and documents, replacing that day's
rows; safe to re-run. Default: yesterday.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.services import analytics_rebuild
from analytics.tasks import yesterday
from tenants.models import Organization


def parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date; write it as YYYY-MM-DD.")


class Command(BaseCommand):
    help = "Rebuild the analytics daily rollup from raw rows (idempotent). Default: yesterday (UTC)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="One UTC day, YYYY-MM-DD.")
        parser.add_argument("--from", dest="start", help="First UTC day of a range.")
        parser.add_argument("--to", dest="end", help="Last UTC day of a range (inclusive).")
        parser.add_argument("--org", help="Only this organisation (id).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["date"] and (options["start"] or options["end"]):
            raise CommandError("Give either --date or --from/--to, not both.")
        if options["date"]:
            start = end = parse_day(options["date"])
        elif options["start"] or options["end"]:
            if not (options["start"] and options["end"]):
                raise CommandError("--from and --to go together.")
            start, end = parse_day(options["start"]), parse_day(options["end"])
            if start > end:
                raise CommandError(f"--from {start} is after --to {end}.")
        else:
            start = end = yesterday()
        orgs = Organization.objects.order_by("pk")
        if options["org"]:
            orgs = orgs.filter(pk=options["org"])
            if not orgs.exists():
                raise CommandError(f"No organisation {options['org']}.")
        days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        for org in orgs.iterator():
            written = {"metrics": 0, "visitors": 0, "groups": 0, "knowledge_base": 0}
            for day in days:
                for key, value in analytics_rebuild(org=org, day=day).items():
                    written[key] += value
            self.stdout.write(
                f"{org.name}: {len(days)} day(s) {start}..{end}: {written['metrics']} rollup rows, "
                f"{written['visitors']} visitor-days, {written['groups']} question groups"
            )
