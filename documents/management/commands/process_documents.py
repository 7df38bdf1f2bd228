"""Process documents in this process, with a progress bar (operator command, all orgs)."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from documents.models import Document, DocumentStatus
from documents.services import document_process


class Command(BaseCommand):
    help = "Extract, chunk, embed and index documents now: --pending (default), --bot ID or --all."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group()
        group.add_argument(
            "--pending", action="store_true", help="Documents waiting to be processed (default)."
        )
        group.add_argument("--bot", help="Every document of this bot (re-index).")
        group.add_argument("--all", action="store_true", help="Every document of every bot (re-index).")

    def handle(self, *args, **options):
        # Operator command across orgs: the loudly named escape hatch, then work by id inside each org.
        qs = Document.all_orgs.exclude(sha256="")
        reindex = bool(options["bot"] or options["all"])
        if options["bot"]:
            qs = qs.filter(bot_id=options["bot"])
            if not qs.exists():
                raise CommandError(f"No documents for bot {options['bot']}.")
        elif not options["all"]:
            qs = qs.filter(status=DocumentStatus.PENDING)
        targets = list(qs.values_list("pk", "org_id", "title"))
        if not targets:
            self.stdout.write("Nothing to process.")
            return
        counts = {DocumentStatus.FAILED: 0, DocumentStatus.PENDING: 0, "skipped": 0}
        for doc_id, org_id, title in tqdm(targets, desc="documents", unit="doc", file=self.stderr):
            bar = tqdm(total=0, desc=title[:40], unit="chunk", leave=False, file=self.stderr)

            def progress(done, total, bar=bar):
                bar.total = total
                bar.n = done
                bar.refresh()

            # Inline, in this process: never handed to a background thread that dies when we exit.
            # Pending documents are claimed only if still pending (a server's worker may be faster).
            document = document_process(
                document_id=str(doc_id), org_id=str(org_id), on_progress=progress, require_pending=not reindex
            )
            bar.close()
            if document is None:
                counts["skipped"] += 1
            elif document.status in counts:
                counts[document.status] += 1
                self.stderr.write(f"{document.status}: {title}: {document.error}")
        summary = f"Processed {len(targets)} document(s), {counts[DocumentStatus.FAILED]} failed"
        if counts[DocumentStatus.PENDING]:
            summary += f", {counts[DocumentStatus.PENDING]} put back to retry"
        if counts["skipped"]:
            summary += f", {counts['skipped']} taken by another worker"
        self.stdout.write(summary + ".")
