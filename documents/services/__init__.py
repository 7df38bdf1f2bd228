"""Knowledge-base writes, one module per stage (zulip's `actions/` as the model):

- `uploads` — an API upload, or a direct (presigned) upload started and completed;
- `processing` — extract, chunk, embed, store and switch a new generation live; transient failures
  retried, the document's own failures recorded;
- `lifecycle` — re-index, delete, and the after-commit clean-up of files and vectors;
- `sweeps` — operator jobs across orgs: stuck documents, re-index after a model change.

The public names are re-exported here, so `from documents.services import document_upload` and
`services.document_upload(...)` keep working.
"""

from .lifecycle import (
    bot_purge_external_data_after_commit,
    bot_reindex,
    document_delete,
    document_reindex,
    org_purge_external_data_after_commit,
    queue_reindex,
)
from .processing import EMBED_BATCH, document_process, document_write_generation, embedding_text
from .sweeps import documents_requeue_stale_model, documents_sweep_stuck
from .uploads import (
    UploadTooLarge,
    default_title,
    document_upload,
    document_upload_complete,
    document_upload_start,
)

__all__ = [
    "EMBED_BATCH",
    "UploadTooLarge",
    "bot_purge_external_data_after_commit",
    "bot_reindex",
    "default_title",
    "document_delete",
    "document_process",
    "document_reindex",
    "document_upload",
    "document_upload_complete",
    "document_upload_start",
    "document_write_generation",
    "documents_requeue_stale_model",
    "documents_sweep_stuck",
    "embedding_text",
    "org_purge_external_data_after_commit",
    "queue_reindex",
]
