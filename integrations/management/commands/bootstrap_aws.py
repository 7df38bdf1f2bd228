"""`manage.py bootstrap_aws [--dry-run] [--point-in-time-recovery] [--skip-table] [--[no-]vector-index]`.

Creates or corrects the S3 bucket (AWS_STORAGE_BUCKET_NAME), the analytics feed's prefix and
lifecycle rule (ANALYTICS_BUCKET, ANALYTICS_PREFIX, ANALYTICS_RETENTION_DAYS) and the DynamoDB
vectors table (DYNAMODB_VECTORS_TABLE) in AWS_REGION, through AWS_ENDPOINT_URL when set (LocalStack, MinIO).
The table's native vector index is created when DYNAMODB_VECTOR_INDEX_THRESHOLD is set (the searches
that need it) or with --vector-index; --no-vector-index leaves it out. Its dimension is the configured
embedder's. Safe to re-run; exits non-zero when any check ends in an error.

`--monitoring [--alarm-email ADDR] [--stage STAGE]` also creates or verifies the stage's SNS alarm
topic (and the address's email subscription), its CloudWatch alarms and dashboard
(integrations.aws_monitoring), reading the function's name and timeout from zappa_settings.json.
"""

from __future__ import annotations

import argparse
from typing import Any

import boto3
from botocore.config import Config
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.aws_bootstrap import bootstrap, format_actions, has_errors
from integrations.aws_monitoring import Plan, Target, Thresholds, bootstrap_monitoring, monitoring_plan
from integrations.zappa_stage import load_stage


class Command(BaseCommand):
    help = "Create or update Botwright's S3 bucket and DynamoDB vectors table (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Only report what would change.")
        parser.add_argument(
            "--point-in-time-recovery",
            action="store_true",
            help="Also enable DynamoDB point-in-time recovery on the table.",
        )
        parser.add_argument(
            "--skip-table",
            action="store_true",
            help="Leave DynamoDB alone (when VECTOR_STORE is the database).",
        )
        parser.add_argument(
            "--vector-index",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="Create the native vector index (default: when DYNAMODB_VECTOR_INDEX_THRESHOLD is set).",
        )
        parser.add_argument(
            "--monitoring",
            action="store_true",
            help="Also create or verify the alarm topic, CloudWatch alarms and dashboard of the stage.",
        )
        parser.add_argument(
            "--alarm-email",
            default=None,
            help="Subscribe this address to the alarm topic (default: MONITORING_ALARM_EMAIL).",
        )
        parser.add_argument(
            "--stage",
            default=None,
            help="The zappa_settings.json stage to monitor (default: METRICS_STAGE).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        bucket = settings.AWS_STORAGE_BUCKET_NAME
        table = "" if options["skip_table"] else settings.DYNAMODB_VECTORS_TABLE
        if not bucket:
            raise CommandError("AWS_STORAGE_BUCKET_NAME is empty; set it to the documents bucket name.")
        endpoint_url = settings.AWS_ENDPOINT_URL or None
        session = boto3.session.Session(region_name=settings.AWS_REGION or None)
        region = session.region_name
        if not region:
            raise CommandError("No AWS region: set AWS_REGION.")
        # Checked before anything is created: a wrong stage must not leave half a bootstrap behind.
        plan = self._monitoring_plan(region, table, options) if options["monitoring"] else None
        # Emulators behind a custom endpoint rarely support virtual-hosted bucket addressing.
        s3_config = Config(s3={"addressing_style": "path"}) if endpoint_url else None
        vector_index = options["vector_index"]
        if vector_index is None:
            vector_index = settings.DYNAMODB_VECTOR_INDEX_THRESHOLD is not None
        vector_index_dim = None
        if vector_index and table:
            from integrations.embeddings import get_embedder

            vector_index_dim = get_embedder().dim  # the index holds this embedder's vectors
        actions = bootstrap(
            s3_client=session.client("s3", endpoint_url=endpoint_url, config=s3_config),
            dynamodb_client=session.client("dynamodb", endpoint_url=endpoint_url),
            bucket=bucket,
            table=table,
            cors_origins=list(settings.CORS_ALLOWED_ORIGINS),
            region=region,
            dry_run=options["dry_run"],
            point_in_time_recovery=options["point_in_time_recovery"],
            vector_index_dim=vector_index_dim,
            analytics_bucket=settings.ANALYTICS_BUCKET,
            analytics_prefix=settings.ANALYTICS_PREFIX,
            analytics_retention_days=settings.ANALYTICS_RETENTION_DAYS,
        )
        if plan is not None:
            email = options["alarm_email"]
            actions += bootstrap_monitoring(
                cloudwatch_client=session.client("cloudwatch", endpoint_url=endpoint_url),
                sns_client=session.client("sns", endpoint_url=endpoint_url),
                plan=plan,
                alarm_email=settings.MONITORING_ALARM_EMAIL if email is None else email,
                dry_run=options["dry_run"],
            )
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing was changed.")
        self.stdout.write(format_actions(actions))
        if has_errors(actions):
            raise CommandError("Some resources are not in the desired state; see the 'error' lines.")

    def _monitoring_plan(self, region: str, table: str, options: dict) -> Plan:
        stage_name = options["stage"] or settings.METRICS_STAGE
        try:
            stage = load_stage(settings.ZAPPA_SETTINGS_PATH, stage_name)
        except ValueError as exc:
            raise CommandError(f"{exc} Pass --stage or set METRICS_STAGE.") from exc
        try:
            thresholds = Thresholds(**settings.MONITORING_THRESHOLDS)
        except TypeError as exc:
            raise CommandError(f"MONITORING_THRESHOLDS_JSON has an unknown key: {exc}") from exc
        return monitoring_plan(
            Target(
                stage=stage.stage,
                region=region,
                function_name=stage.function_name,
                timeout_s=stage.timeout_s,
                api_name=stage.function_name,
                table=table,
                rds_instance=settings.MONITORING_RDS_INSTANCE,
                namespace=settings.METRICS_NAMESPACE,
                thresholds=thresholds,
            )
        )
