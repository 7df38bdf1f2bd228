"""`manage.py export_analytics [--date D] [--dataset all|NAME]`: write a day to the S3 feed.

Each dataset of the UTC day (default yesterday) goes to
`s3://ANALYTICS_BUCKET/ANALYTICS_PREFIX/<dataset>/dt=YYYY-MM-DD/part-0000.csv.gz`, with its
QuickSight manifest and Athena DDL under `_meta/`. Re-running a day replaces it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.exports import DATASETS
from analytics.management.commands.rollup_analytics import parse_day
from analytics.tasks import export_day, yesterday


class Command(BaseCommand):
    help = "Export one UTC day of analytics datasets to S3 for QuickSight / Athena (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="The UTC day, YYYY-MM-DD (default: yesterday).")
        parser.add_argument(
            "--dataset", default="all", choices=["all", *sorted(DATASETS)], help="One dataset, or all."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.ANALYTICS_BUCKET:
            raise CommandError(
                "No bucket: set ANALYTICS_BUCKET (or AWS_STORAGE_BUCKET_NAME, which it defaults to)."
            )
        day = parse_day(options["date"]) if options["date"] else yesterday()
        datasets = sorted(DATASETS) if options["dataset"] == "all" else [options["dataset"]]
        for item in export_day(day, datasets):
            self.stdout.write(
                f"{item['dataset']}: {item['rows']} rows, {item['bytes']} bytes gzip -> "
                f"s3://{settings.ANALYTICS_BUCKET}/{item['key']}"
            )
