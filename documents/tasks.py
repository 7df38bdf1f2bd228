"""How processing is dispatched: in-process (sync or a background thread) or Zappa async on Lambda.

Tasks take ids, never objects, and re-fetch inside the org.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections, connection

logger = logging.getLogger(__name__)

try:  # Zappa's @task invokes the function asynchronously on Lambda and runs it inline elsewhere.
    from zappa.asynchronous import task as zappa_task
except ImportError:  # zappa is a deploy-time extra

    def zappa_task(func):
        return func


# One worker: embedding already uses every core, and SQLite prefers one writer.
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _get_executor() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="botwright-ingest")
        return _executor


def process_document(document_id: str, org_id: str) -> None:
    from .services import document_process

    document_process(document_id=document_id, org_id=org_id)


@zappa_task
def process_document_async(document_id: str, org_id: str) -> None:
    process_document(document_id, org_id)


def _run_in_thread(document_id: str, org_id: str) -> None:
    close_old_connections()
    try:
        process_document(document_id, org_id)
    except Exception:
        logger.exception("background processing crashed", extra={"document_id": document_id})
    finally:
        connection.close()


def enqueue_processing(*, document_id: str, org_id: str) -> None:
    mode = settings.DOCUMENT_PROCESSING
    if mode == "sync":
        process_document(document_id, org_id)
    elif mode == "thread":
        _get_executor().submit(_run_in_thread, document_id, org_id)
    elif mode == "zappa":
        process_document_async(document_id, org_id)
    else:
        raise ValueError(f"DOCUMENT_PROCESSING must be sync, thread or zappa, not {mode!r}.")


def sweep_stuck_documents(event=None, context=None) -> dict:
    """Scheduled by Zappa (`events` in zappa_settings.json) and by `manage.py sweep_documents`."""
    from .services import documents_requeue_stale_model, documents_sweep_stuck

    result = documents_sweep_stuck()
    result["stale_model"] = documents_requeue_stale_model()
    logger.info("sweep finished", extra=result)
    return result
