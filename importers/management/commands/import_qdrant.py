"""manage.py import_qdrant: passages and vectors of a Qdrant collection into the imported bots."""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand

from importers.commands import finish
from importers.mapping import load_mapping
from importers.progress import tqdm_bars
from importers.report import ImportReport
from integrations.embeddings import get_embedder
from integrations.vectors.factory import get_vector_store
from tenants.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Import a Qdrant collection's points (payload text + vectors) as passages of the bots and documents "
        "imported from Supabase, one atomic generation per document. Needs qdrant-client "
        "(the `migration` extra)."
    )

    def add_arguments(self, parser):
        where = parser.add_mutually_exclusive_group(required=True)
        where.add_argument("--url", help="A Qdrant server, e.g. http://localhost:6333.")
        where.add_argument("--path", help="A Qdrant local-mode directory (QdrantClient(path=…)).")
        parser.add_argument(
            "--api-key", default=os.environ.get("QDRANT_API_KEY", ""), help="Default $QDRANT_API_KEY."
        )
        parser.add_argument("--collection", required=True)
        parser.add_argument(
            "--mapping", help="YAML or JSON file naming other payload fields or the vector (see README)."
        )
        parser.add_argument("--dry-run", action="store_true", help="Show what would change; write nothing.")
        parser.add_argument(
            "--reembed",
            action="store_true",
            help="Embed the passages again with Botwright's embedder instead of importing the source vectors "
            "(needed when they come from another model).",
        )
        parser.add_argument(
            "--report", dest="report_path", help="Also write the report as JSON to this file."
        )

    def handle(self, *args, **options):
        report = ImportReport(
            "import_qdrant",
            dry_run=options["dry_run"],
            options={
                "url": options["url"],
                "path": options["path"],
                "collection": options["collection"],
                "mapping": options["mapping"],
                "reembed": options["reembed"],
            },
        )
        try:
            mapping = load_mapping(options["mapping"]).qdrant
            # Imported here: qdrant-client is an optional extra and this command says how to get it.
            from importers.qdrant import qdrant_import
            from importers.qdrant_source import QdrantSource, connect

            client = connect(url=options["url"], api_key=options["api_key"], path=options["path"])
            source = QdrantSource(client, collection=options["collection"], mapping=mapping)
            try:
                qdrant_import(
                    source=source,
                    mapping=mapping,
                    embedder=get_embedder(),
                    store=get_vector_store(),
                    dry_run=options["dry_run"],
                    reembed=options["reembed"],
                    bars=tqdm_bars(self.stderr),
                    report=report,
                )
            finally:
                source.close()
        except ApplicationError as exc:
            finish(self, report, report_path=options["report_path"], error=exc)
        finish(self, report, report_path=options["report_path"])
