"""manage.py export_org: one organisation, with files, chunks and vectors, into a directory."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from importers.backup_export import org_export, org_find
from tenants.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Export an organisation (users, memberships, invitations, bots, API keys as hashes, documents with "
        "their files, chunks with their vectors, conversations, analytics) into a new directory that "
        "`import_org` restores. See README, 'Backup and restore'."
    )

    def add_arguments(self, parser):
        parser.add_argument("org", help="The organisation's id, or its exact name (refused when ambiguous).")
        parser.add_argument("--output", required=True, help="A new (or empty) directory to write.")
        parser.add_argument(
            "--with-password-hashes",
            action="store_true",
            help="Also export the members' Django password hashes (off by default: sign-in goes through "
            "Cognito, and a backup without hashes is one secret less to guard).",
        )
        parser.add_argument("--json", action="store_true", help="Print the manifest's summary as JSON.")

    def handle(self, *args, **options):
        try:
            org = org_find(ref=options["org"])
            result = org_export(
                org=org,
                directory=Path(options["output"]),
                include_password_hashes=options["with_password_hashes"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        counts = result.manifest.counts
        files = sum(1 for name in result.manifest.files if name.startswith("files/"))
        if options["json"]:
            self.stdout.write(json.dumps({"org": result.manifest.org, "counts": counts, "files": files}))
            return
        self.stdout.write(f"Exported {org.name!r} ({org.pk}) to {result.directory}")
        for table, count in counts.items():
            self.stdout.write(f"  {table:<22} {count}")
        self.stdout.write(f"  {'stored files':<22} {files}")
        for key in result.manifest.options.get("missing_files", []):
            self.stderr.write(f"warning: {key} is not in storage; its row is exported without the file")
