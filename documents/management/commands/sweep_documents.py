from django.core.management.base import BaseCommand

from documents.tasks import sweep_stuck_documents


class Command(BaseCommand):
    help = (
        "Retry documents stuck in processing (bounded attempts), then mark them failed; queue a re-index "
        "of documents embedded by another model than the configured one."
    )

    def handle(self, *args, **options):
        result = sweep_stuck_documents()
        self.stdout.write(
            f"retried {result['retried']}, failed {result['failed']}, requeued {result['requeued']}, "
            f"re-indexing {result['stale_model']} embedded by another model, "
            f"{result['abandoned']} abandoned direct upload(s) failed"
        )
