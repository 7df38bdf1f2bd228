"""manage.py import_org: restore an `export_org` directory, all or nothing."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from importers.backup_import import org_import
from tenants.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Import an organisation exported by `export_org`. Checks the manifest and every checksum first; "
        "writes rows in one transaction and removes its files and vectors again on failure. Keeps ids "
        "unless --new-id. See README, 'Backup and restore'."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", help="The export directory (holds manifest.json).")
        existing = parser.add_mutually_exclusive_group()
        existing.add_argument(
            "--replace",
            action="store_true",
            help="When the org already exists, delete it (rows, files, vectors) and restore the export "
            "in its place.",
        )
        existing.add_argument(
            "--new-id",
            action="store_true",
            help="Import a copy with fresh ids (org, bots, public widget ids, documents, ...); API keys "
            "are not copied.",
        )
        parser.add_argument(
            "--reembed",
            action="store_true",
            help="Import without the exported vectors and re-index every document with this platform's "
            "embedder (needed when the embedders differ).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Check everything and write nothing.")
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args, **options):
        try:
            result = org_import(
                directory=Path(options["directory"]),
                replace=options["replace"],
                new_id=options["new_id"],
                reembed=options["reembed"],
                dry_run=options["dry_run"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        if options["json"]:
            self.stdout.write(json.dumps(result.__dict__, default=str))
            return
        verb = "Would import" if result.dry_run else "Imported"
        self.stdout.write(f"{verb} organisation {result.org_id}")
        for table, count in result.counts.items():
            self.stdout.write(f"  {table:<22} {count}")
        self.stdout.write(
            f"  users matched by email {result.users_matched}, created {result.users_created}; "
            f"files {result.files}; vectors {result.vectors}; documents queued for processing {result.queued}"
        )
