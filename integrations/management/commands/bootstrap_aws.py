"""`manage.py bootstrap_aws [--dry-run] [--point-in-time-recovery] [--skip-table]`.

Creates or corrects the S3 bucket (AWS_STORAGE_BUCKET_NAME), the analytics feed's prefix and
lifecycle rule (ANALYTICS_BUCKET, ANALYTICS_PREFIX, ANALYTICS_RETENTION_DAYS) and the DynamoDB
vectors table (DYNAMODB_VECTORS_TABLE) in AWS_REGION, through AWS_ENDPOINT_URL when set (LocalStack, MinIO).
Safe to re-run; exits non-zero when any check ends in an error.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.aws_bootstrap import bootstrap, format_actions, has_errors


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

    def handle(self, *args: Any, **options: Any) -> None:
        bucket = getattr(settings, "AWS_STORAGE_BUCKET_NAME", "") or ""
        table = "" if options["skip_table"] else getattr(settings, "DYNAMODB_VECTORS_TABLE", "") or ""
        if not bucket:
            raise CommandError("AWS_STORAGE_BUCKET_NAME is empty; set it to the documents bucket name.")
        endpoint_url = getattr(settings, "AWS_ENDPOINT_URL", "") or None
        session = boto3.session.Session(region_name=getattr(settings, "AWS_REGION", "") or None)
        region = session.region_name
        if not region:
            raise CommandError("No AWS region: set AWS_REGION.")
        # Emulators behind a custom endpoint rarely support virtual-hosted bucket addressing.
        s3_config = Config(s3={"addressing_style": "path"}) if endpoint_url else None
        actions = bootstrap(
            s3_client=session.client("s3", endpoint_url=endpoint_url, config=s3_config),
            dynamodb_client=session.client("dynamodb", endpoint_url=endpoint_url),
            bucket=bucket,
            table=table,
            cors_origins=list(getattr(settings, "CORS_ALLOWED_ORIGINS", []) or []),
            region=region,
            dry_run=options["dry_run"],
            point_in_time_recovery=options["point_in_time_recovery"],
            analytics_bucket=getattr(settings, "ANALYTICS_BUCKET", "") or "",
            analytics_prefix=getattr(settings, "ANALYTICS_PREFIX", "") or "",
            analytics_retention_days=getattr(settings, "ANALYTICS_RETENTION_DAYS", 0) or 0,
        )
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing was changed.")
        self.stdout.write(format_actions(actions))
        if has_errors(actions):
            raise CommandError("Some resources are not in the desired state; see the 'error' lines.")
