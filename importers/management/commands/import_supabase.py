"""manage.py import_supabase: users (with their passwords), orgs, bots and documents from Supabase."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from importers.commands import finish, parse_since
from importers.mapping import load_mapping
from importers.progress import tqdm_bars
from importers.report import ImportReport
from importers.supabase import BATCH_SIZE, supabase_import
from importers.supabase_source import FileSource, SupabaseSource, redact_dsn
from tenants.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Import users (passwords kept), bots and documents from a Supabase project. Re-runnable: rows are "
        "keyed by their source id; --since imports only what changed after that instant."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dsn",
            default=os.environ.get("SUPABASE_DB_URL", ""),
            help="The Supabase Postgres URL (postgres://…); default $SUPABASE_DB_URL, which keeps the "
            "password off the command line. Opened read-only.",
        )
        parser.add_argument("--mapping", help="YAML or JSON file naming other tables/columns (see README).")
        parser.add_argument("--dry-run", action="store_true", help="Show what would change; write nothing.")
        parser.add_argument(
            "--since", help="Only rows created or updated after this ISO date/time (sync mode)."
        )
        parser.add_argument(
            "--cognito",
            action="store_true",
            help="Also pre-create the users in the Cognito pool (COGNITO_USER_POOL_ID), email verified, "
            "no message sent.",
        )
        parser.add_argument(
            "--storage-dir", help="A Supabase Storage export; files are read at DIR/<storage_path>."
        )
        parser.add_argument(
            "--storage-base-url",
            help="Read files from <URL>/<storage_path> instead (sends $SUPABASE_SERVICE_ROLE_KEY when set).",
        )
        parser.add_argument(
            "--defer-processing",
            action="store_true",
            help="Store documents without extracting/embedding them now: for when import_qdrant brings "
            "their vectors. Documents it does not cover are processed by the sweep or "
            "`process_documents --pending`.",
        )
        parser.add_argument(
            "--report", dest="report_path", help="Also write the report as JSON to this file."
        )
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="Rows per committed batch.")

    def handle(self, *args, **options):
        if not options["dsn"]:
            raise CommandError("Give --dsn postgres://… (or set SUPABASE_DB_URL).")
        since = parse_since(options["since"])
        report = ImportReport(
            "import_supabase",
            dry_run=options["dry_run"],
            options={
                "dsn": redact_dsn(options["dsn"]),
                "since": since.isoformat() if since else None,
                "mapping": options["mapping"],
                "cognito": options["cognito"],
                "storage_dir": options["storage_dir"],
                "defer_processing": options["defer_processing"],
            },
        )
        try:
            mapping = load_mapping(options["mapping"]).supabase
            key = os.environ.get("SUPABASE_SERVICE_ROLE_KEY", "")
            files = FileSource(
                storage_dir=options["storage_dir"],
                base_url=options["storage_base_url"] or mapping.storage_base_url,
                max_bytes=settings.DOCUMENT_MAX_UPLOAD_BYTES,
                headers={"Authorization": f"Bearer {key}", "apikey": key} if key else None,
            )
            cognito = None
            if options["cognito"]:
                from importers.cognito import CognitoProvisioner

                cognito = CognitoProvisioner(
                    pool_id=settings.COGNITO_USER_POOL_ID,
                    region=settings.COGNITO_REGION,
                    endpoint_url=settings.AWS_ENDPOINT_URL,
                    source_id_attribute=settings.COGNITO_SOURCE_ID_ATTRIBUTE,
                )
            with SupabaseSource(options["dsn"], mapping) as source:
                supabase_import(
                    source=source,
                    files=files,
                    mapping=mapping,
                    dry_run=options["dry_run"],
                    since=since,
                    cognito=cognito,
                    process_documents=not options["defer_processing"],
                    bars=tqdm_bars(self.stderr),
                    batch_size=max(1, options["batch_size"]),
                    report=report,
                )
        except ApplicationError as exc:
            finish(self, report, report_path=options["report_path"], error=exc)
        finish(self, report, report_path=options["report_path"])
