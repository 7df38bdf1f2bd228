"""How processing is dispatched (`DOCUMENT_PROCESSING`):

- ``sync``: in the calling thread, once the transaction that queued the document commits (tests).
- ``thread``: the local worker of a server process (:class:`LocalWorker`). The database is the
  queue: a document waits as ``pending`` until a worker claims it, so nothing is lost when a process
  exits, two processes never process one document twice, and a worker started later finds the work
  left behind. Queuing only wakes the worker of this process, if it has one; a management command
  has none and processes inline instead.
- ``zappa``: each document is its own asynchronous Lambda invocation.

Tasks take ids, never objects, and re-fetch inside the org.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction

from .fairness import FairPicker, Job

logger = logging.getLogger(__name__)

try:  # Zappa's @task invokes the function asynchronously on Lambda and runs it inline elsewhere.
    from zappa.asynchronous import task as zappa_task
except ImportError:  # zappa is a deploy-time extra

    def zappa_task(func):
        return func


# A document whose processing was put back for a transient failure waits this long before this
# process's worker tries it again (its retries inside the attempt already waited with backoff).
RELEASED_RETRY_DELAY_S = 30.0
# How many pending documents one scheduling decision looks at (oldest first).
SCHEDULING_WINDOW = 500


def process_document(document_id: str, org_id: str) -> Any:
    """Process one queued document if it is still waiting; never raises (a task has nobody to tell).

    A failure to even claim the document (the database down longer than the retries last) leaves it
    pending, where the sweep or a worker finds it again.
    """
    from .services import document_process

    try:
        return document_process(document_id=document_id, org_id=org_id, require_pending=True)
    except Exception:
        logger.exception("document processing could not start", extra={"document_id": document_id})
        return None


@zappa_task
def process_document_async(document_id: str, org_id: str) -> None:
    process_document(document_id, org_id)


def enqueue_processing(*, document_id: str, org_id: str) -> None:
    mode = settings.DOCUMENT_PROCESSING
    if mode == "sync":
        process_document(document_id, org_id)
    elif mode == "thread":
        if _worker is not None:
            _worker.wake()
    elif mode == "zappa":
        process_document_async(document_id, org_id)
    else:
        raise ValueError(f"DOCUMENT_PROCESSING must be sync, thread or zappa, not {mode!r}.")


def enqueue_after_commit(document: Any) -> None:
    """Queue `document` for processing once the current transaction commits (at once outside one)."""
    doc_id, org_id = str(document.pk), str(document.org_id)
    transaction.on_commit(lambda: enqueue_processing(document_id=doc_id, org_id=org_id))


def sweep_stuck_documents(event=None, context=None) -> dict:
    """Scheduled by Zappa (`events` in zappa_settings.json); the local worker runs it too."""
    from .services import documents_requeue_stale_model, documents_sweep_stuck

    result = documents_sweep_stuck()
    result["stale_model"] = documents_requeue_stale_model()
    logger.info("sweep finished", extra=result)
    return result


# --- The local worker ------------------------------------------------------------------------


class LocalWorker:
    """A small pool of threads processing pending documents, fair across orgs and bots.

    Threads are daemons: a server stopping mid-document leaves it `processing`, and the stuck sweep
    (run here at start-up and every ``sweep_interval_s``) puts it back in the queue.
    """

    def __init__(
        self,
        *,
        workers: int,
        large_bytes: int,
        sweep_interval_s: float,
        poll_interval_s: float = 5.0,
        process: Callable[[str, str], Any] = process_document,
        sweep: Callable[[], Any] = sweep_stuck_documents,
    ) -> None:
        self.workers = max(1, workers)
        self.sweep_interval_s = sweep_interval_s
        self.poll_interval_s = poll_interval_s
        self._process = process
        self._sweep = sweep
        self._picker = FairPicker(large_bytes=large_bytes, large_slots=self.workers - 1)
        self._lock = threading.Lock()
        self._cond = threading.Condition()
        self._wakeups = 0
        self._stopping = False
        self._stopped = threading.Event()
        self._not_before: dict[str, float] = {}
        self._threads: list[threading.Thread] = []

    def start(self) -> LocalWorker:
        targets = [self._work_loop] * self.workers + [self._sweep_loop]
        for n, target in enumerate(targets):
            thread = threading.Thread(target=target, name=f"botwright-worker-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def wake(self) -> None:
        with self._cond:
            self._wakeups += 1
            self._cond.notify_all()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the documents in hand, take no more (tests and orderly shutdowns)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._stopped.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _wait(self, seen: int, timeout: float) -> None:
        with self._cond:
            if self._wakeups == seen and not self._stopping:
                self._cond.wait(timeout)

    def _pending(self) -> list[Job]:
        # The worker serves every org (an operator component, like the sweep): the loudly named
        # escape hatch, and each document is then processed by id inside its own org.
        from .models import Document, DocumentStatus

        rows = (
            Document.all_orgs.filter(status=DocumentStatus.PENDING)
            .exclude(sha256="")
            .order_by("created_at", "id")
            .values_list("pk", "org_id", "bot_id", "size_bytes")[:SCHEDULING_WINDOW]
        )
        now = time.monotonic()
        for expired in [pk for pk, when in self._not_before.items() if when <= now]:
            del self._not_before[expired]
        return [
            Job(str(pk), str(org_id), str(bot_id), size)
            for pk, org_id, bot_id, size in rows
            if self._not_before.get(str(pk), 0.0) <= now
        ]

    def _next(self) -> Job | None:
        with self._lock:
            return self._picker.pick(self._pending())

    def _work_loop(self) -> None:
        while not self._stopping:
            with self._cond:
                seen = self._wakeups
            close_old_connections()
            try:
                job = self._next()
            except Exception:  # the database is unreachable: try again after a pause
                logger.exception("local worker could not read the queue")
                job = None
            if job is None:
                self._wait(seen, self.poll_interval_s)
                continue
            document = None
            try:
                document = self._process(job.document_id, job.org_id)
            except Exception:
                logger.exception("local worker crashed on a document", extra={"document_id": job.document_id})
            finally:
                with self._lock:
                    self._picker.done(job)
                    if getattr(document, "status", None) == "pending":  # put back after transient failures
                        self._not_before[job.document_id] = time.monotonic() + RELEASED_RETRY_DELAY_S
                close_old_connections()
                self.wake()  # a freed slot may let another thread take a large file

    def _sweep_loop(self) -> None:
        while not self._stopping:
            close_old_connections()
            try:
                self._sweep()
            except Exception:
                logger.exception("local sweep failed; trying again at the next interval")
            finally:
                close_old_connections()
            self.wake()  # documents the sweep put back are pending again
            if self._stopped.wait(self.sweep_interval_s):
                return


_worker: LocalWorker | None = None
_worker_lock = threading.Lock()


def start_local_worker(**overrides: Any) -> LocalWorker | None:
    """Start this process's worker once (server start-up); None unless DOCUMENT_PROCESSING=thread.

    ``overrides`` replace the settings-derived arguments of :class:`LocalWorker` (tests pass a
    ``process`` with a slow fake embedder).
    """
    global _worker
    if settings.DOCUMENT_PROCESSING != "thread":
        return None
    with _worker_lock:
        if _worker is None:
            options: dict[str, Any] = {
                "workers": settings.DOCUMENT_WORKERS,
                "large_bytes": settings.DOCUMENT_LARGE_BYTES,
                "sweep_interval_s": settings.DOCUMENT_SWEEP_INTERVAL_S,
            }
            _worker = LocalWorker(**{**options, **overrides}).start()
        return _worker


def stop_local_worker(timeout: float = 30.0) -> None:
    global _worker
    with _worker_lock:
        worker, _worker = _worker, None
    if worker is not None:
        worker.stop(timeout)
