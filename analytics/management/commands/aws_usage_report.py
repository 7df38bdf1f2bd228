"""`manage.py aws_usage_report [--month YYYY-MM] [--stage STAGE] [--json]`: a month of AWS usage.

Estimates, from the platform's own records, the month's Lambda requests and GB-seconds, API Gateway
calls, DynamoDB request units and storage, S3 storage and requests, RDS hours and storage and Cognito
MAUs against the free tier and list prices (settings.AWS_USAGE_TABLE), per organisation where the
usage can be attributed; flags lines about to leave the free tier and recommends the Lambda memory
and timeout from the durations observed. The current month is projected to its end.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from analytics.aws_costs import Deployment, estimate, format_report
from analytics.aws_usage import all_activity, database_bytes, month_bounds
from integrations.zappa_stage import ZappaStage, load_stage


class Command(BaseCommand):
    help = "Estimate a month of AWS usage and cost against the free tier, per organisation."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", help="YYYY-MM (UTC); default: this month, projected to its end.")
        parser.add_argument(
            "--stage",
            help="zappa_settings.json stage giving memory, timeout, schedules (default: METRICS_STAGE).",
        )
        parser.add_argument("--json", action="store_true", help="Print JSON instead of tables.")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        month = options["month"] or now.strftime("%Y-%m")
        try:
            start, end = month_bounds(month)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if start > now:
            raise CommandError(f"{month} has not started yet; give this month or an earlier one.")
        stage = self._stage(options["stage"])
        current = start <= now < end
        elapsed = (min(now, end) - start).total_seconds()
        activities, distinct_users = all_activity(start, end)
        deployment = Deployment(
            memory_mb=stage.memory_mb,
            timeout_s=stage.timeout_s,
            schedules=stage.schedules,
            keep_warm=stage.keep_warm,
            month_hours=elapsed / 3600,
            month_fraction=elapsed / (end - start).total_seconds(),
            database_bytes=database_bytes(),
            distinct_active_users=distinct_users,
        )
        report = estimate(activities, deployment, settings.AWS_USAGE_TABLE)
        if options["json"]:
            payload = {"month": month, "stage": stage.stage, "projected": current, **report.as_dict()}
            self.stdout.write(json.dumps(payload, indent=2))
        else:
            self.stdout.write(f"Stage {stage.stage}: {stage.memory_mb} MB, timeout {stage.timeout_s} s")
            self.stdout.write(format_report(report, month=month, projected=current))

    def _stage(self, explicit: str | None) -> ZappaStage:
        path = settings.ZAPPA_SETTINGS_PATH
        try:
            return load_stage(path, explicit or settings.METRICS_STAGE)
        except ValueError as exc:
            if explicit:
                raise CommandError(str(exc)) from exc
        try:  # METRICS_STAGE is "local" on a laptop: estimate as the dev stage would run
            return load_stage(path, "dev")
        except ValueError as exc:
            raise CommandError(f"{exc} Pass --stage.") from exc
