"""Recover stuck documents now, processing them in this process (operator command, all orgs)."""

from django.core.management.base import BaseCommand

from documents.services import document_process, documents_requeue_stale_model, documents_sweep_stuck


def _process_inline(document) -> None:
    # A command's process is about to exit: whatever the sweep puts back is processed here and now,
    # never handed to a queue or thread that would die with it.
    document_process(document_id=str(document.pk), org_id=str(document.org_id), require_pending=True)


class Command(BaseCommand):
    help = (
        "Retry documents stuck in processing (bounded attempts), then mark them failed; re-index "
        "documents embedded by another model than the configured one. Runs the work in this process."
    )

    def handle(self, *args, **options):
        result = documents_sweep_stuck(dispatch=_process_inline)
        stale = documents_requeue_stale_model(dispatch=_process_inline)
        self.stdout.write(
            f"retried {result['retried']}, failed {result['failed']}, requeued {result['requeued']}, "
            f"re-indexing {stale} embedded by another model, "
            f"{result['abandoned']} abandoned direct upload(s) failed"
        )
