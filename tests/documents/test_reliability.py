"""No work lost: transient failures are retried, a document fails only for reasons of its own, stuck
work is recovered, and files and vectors of deleted things go only after the deletion commits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from bots.services import bot_delete
from documents import tasks
from documents.chunking import Chunk as Piece
from documents.models import Chunk, Document
from documents.retrieval import retrieve
from documents.services import (
    document_process,
    document_upload,
    document_write_generation,
    documents_sweep_stuck,
)
from integrations import storage
from integrations.embeddings.fake import FakeEmbedder
from integrations.embeddings.gemini import EmbeddingUnavailable
from integrations.models import ChunkVector
from integrations.transient import is_transient
from integrations.vectors.factory import get_vector_store
from tenants.services import org_delete
from tests.factories import make_bot

from .malformed import truncated_pdf

pytestmark = pytest.mark.django_db

TEXT = b"# Returns\n\nRefunds are issued within 14 days of receiving the parcel.\n"


def _throttled(operation: str = "BatchWriteItem") -> ClientError:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, operation)


class FlakyStore:
    """The configured vector store, whose `method` fails `failures` times with `error` first."""

    def __init__(self, *, method: str = "upsert", failures: int, error: Exception) -> None:
        self.inner = get_vector_store()
        self.method, self.failures_left, self.error = method, failures, error
        self.calls = 0

    def __getattr__(self, name):
        attribute = getattr(self.inner, name)
        if name != self.method:
            return attribute

        def flaky(*args, **kwargs):
            self.calls += 1
            if self.failures_left:
                self.failures_left -= 1
                raise self.error
            return attribute(*args, **kwargs)

        return flaky


@pytest.fixture(autouse=True)
def fast_retries(settings):
    settings.DOCUMENT_RETRY_ATTEMPTS = 4
    settings.DOCUMENT_RETRY_BACKOFF_S = 0.001


def _pending(bot, user, data=TEXT, name="returns.md"):
    document, _ = document_upload(bot=bot, user=user, data=data, filename=name, enqueue=False)
    return document


def _process(document, **kwargs):
    return document_process(document_id=str(document.pk), org_id=str(document.org_id), **kwargs)


# --- Transient failures ----------------------------------------------------------------------


def test_a_throttled_vector_store_is_retried_and_the_document_ends_ready(bot, editor):
    store = FlakyStore(failures=3, error=_throttled())
    document = _process(_pending(bot, editor), store=store)
    assert document.status == "ready" and document.error == ""
    assert document.attempts == 1  # one processing attempt; the retries were inside it
    assert store.calls == 4
    assert [p.text for p in retrieve(bot=bot, query="refunds issued days")]


def test_unreachable_storage_is_retried(bot, editor, monkeypatch):
    failures = {"left": 2}
    real_read = storage.read

    def flaky_read(key):
        if failures["left"]:
            failures["left"] -= 1
            raise EndpointConnectionError(endpoint_url="https://s3.eu-west-1.amazonaws.com")
        return real_read(key)

    monkeypatch.setattr(storage, "read", flaky_read)
    document = _process(_pending(bot, editor))
    assert document.status == "ready"
    assert failures["left"] == 0


def test_an_unavailable_embedding_provider_is_retried(bot, editor):
    class FlakyEmbedder(FakeEmbedder):
        failures = 2

        def embed(self, texts):
            if self.failures:
                self.failures -= 1
                raise EmbeddingUnavailable("Gemini answered 503")
            return super().embed(texts)

    document = _process(_pending(bot, editor), embedder=FlakyEmbedder())
    assert document.status == "ready"


@pytest.mark.django_db(transaction=True)
def test_a_locked_database_is_retried_outside_a_transaction(bot, editor):
    # Committed for real (no test transaction around it): a lock error outside any transaction
    # can be retried, and is.
    store = FlakyStore(failures=2, error=OperationalError("database is locked"))
    document = _process(_pending(bot, editor), store=store)
    assert document.status == "ready"
    assert store.calls == 3


def test_transient_failures_outlasting_the_retries_put_the_document_back_to_pending(bot, editor):
    store = FlakyStore(failures=100, error=_throttled())
    document = _process(_pending(bot, editor), store=store)
    assert document.status == "pending"
    assert document.error.startswith("Waiting to retry: AWS was unavailable (ClientError")
    assert "resumes automatically" in document.error
    assert document.attempts == 0  # not the document's fault: the attempt does not count
    assert document.active_generation is None
    assert not Chunk.objects.for_org(bot.org).filter(document=document).exists()
    assert not ChunkVector.objects.filter(document_id=str(document.pk)).exists()

    document = _process(document, require_pending=True)  # the store is back
    assert document.status == "ready" and document.error == "" and document.attempts == 1


def test_a_reindex_put_back_after_transient_failures_keeps_the_old_version_live(bot, editor):
    document = _process(_pending(bot, editor))
    before = [p.chunk_id for p in retrieve(bot=bot, query="refunds issued days")]
    document = _process(document, store=FlakyStore(failures=100, error=_throttled()))
    assert document.status == "pending" and document.active_generation == 1
    assert [p.chunk_id for p in retrieve(bot=bot, query="refunds issued days")] == before
    assert not Chunk.objects.for_org(bot.org).filter(document=document, generation=2).exists()


def test_an_unexpected_error_fails_the_document_at_once_and_says_so(bot, editor):
    store = FlakyStore(failures=1, error=ValueError("vector has 12 dimensions, expected 384"))
    document = _process(_pending(bot, editor), store=store)
    assert store.calls == 1  # a bug fails the same way every time: no retries
    assert document.status == "failed"
    assert document.error.startswith(
        "Processing failed because of an unexpected error (ValueError: vector has"
    )
    assert "Re-index the document to try again" in document.error


def test_a_broken_file_fails_with_its_own_reason_and_is_not_retried(bot, editor):
    store = FlakyStore(failures=0, error=_throttled())
    document = _process(_pending(bot, editor, data=truncated_pdf(), name="broken.pdf"), store=store)
    assert document.status == "failed"
    assert "PDF" in document.error and "Processing failed" not in document.error
    assert store.calls == 0


def test_a_file_missing_from_storage_fails_with_a_clear_reason(bot, editor):
    document = _pending(bot, editor)
    default_storage.delete(document.storage_key)
    document = _process(document)
    assert document.status == "failed"
    assert document.error == "The uploaded file is missing from storage; upload it again."


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (OperationalError("database is locked"), True),
        (OperationalError("server closed the connection unexpectedly"), True),
        (OperationalError("no such table: botwright_cache"), False),
        (IntegrityError("duplicate key value violates unique constraint"), False),
        (_throttled(), True),
        (
            ClientError(
                {"Error": {"Code": "AccessDenied"}, "ResponseMetadata": {"HTTPStatusCode": 403}}, "Get"
            ),
            False,
        ),
        (ClientError({"Error": {"Code": "Oops"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "Get"), True),
        (EndpointConnectionError(endpoint_url="https://dynamodb"), True),
        (ConnectionResetError(), True),
        (TimeoutError(), True),
        (EmbeddingUnavailable("Gemini answered 429"), True),
        (FileNotFoundError("gone"), False),
        (ValueError("bad vector"), False),
        (RuntimeError("embedding service fell over"), False),
    ],
)
def test_transient_failures_are_told_apart_from_permanent_ones(error, transient):
    assert is_transient(error) is transient


# --- Claims and sweeps -------------------------------------------------------------------------


def test_a_queue_message_delivered_twice_processes_the_document_once(bot, editor):
    document = _process(_pending(bot, editor), require_pending=True)
    assert document.status == "ready" and document.generation == 1
    assert _process(document, require_pending=True) is None  # no longer waiting: nothing to do
    document.refresh_from_db()
    assert document.generation == 1 and document.attempts == 1


def test_a_stuck_document_another_worker_took_up_meanwhile_is_left_to_it(bot, editor):
    long_ago = timezone.now() - timedelta(hours=2)
    stuck = [
        _pending(bot, editor, f"Fact {i}: the depot opens at {i}:00.".encode(), f"{i}.txt") for i in (1, 2)
    ]
    Document.objects.for_org(bot.org).update(status="processing", attempts=1, processing_started_at=long_ago)
    dispatched = []

    def dispatch(document):
        # While the sweep handles the first one, another worker claims the second (a new generation).
        dispatched.append(document.pk)
        other = next(d for d in stuck if d.pk != document.pk)
        Document.objects.for_org(bot.org).filter(pk=other.pk).update(generation=F("generation") + 1)

    assert documents_sweep_stuck(dispatch=dispatch)["retried"] == 1
    assert len(dispatched) == 1
    untouched = Document.objects.for_org(bot.org).exclude(pk=dispatched[0]).get()
    assert untouched.status == "processing"  # still the other worker's


def test_sweep_documents_command_processes_inline_and_starts_no_worker(bot, editor, settings):
    # Regression: the command handed the work to the background thread of a process about to exit.
    settings.DOCUMENT_PROCESSING = "thread"
    document = _pending(bot, editor)
    Document.objects.for_org(bot.org).filter(pk=document.pk).update(
        status="processing", attempts=1, processing_started_at=timezone.now() - timedelta(hours=2)
    )
    call_command("sweep_documents")
    document.refresh_from_db()
    assert document.status == "ready"  # done before the command returned
    assert tasks._worker is None


def test_uploads_in_thread_mode_without_a_worker_stay_queued_in_the_database(
    bot, editor, settings, django_capture_on_commit_callbacks
):
    # A process without a worker (a command, a script) leaves the document pending for a server's
    # worker instead of starting threads that die with it.
    settings.DOCUMENT_PROCESSING = "thread"
    with django_capture_on_commit_callbacks(execute=True):
        document, _ = document_upload(bot=bot, user=editor, data=TEXT, filename="r.md")
    document.refresh_from_db()
    assert document.status == "pending"
    assert tasks._worker is None


def test_process_document_task_never_raises(bot, editor, monkeypatch):
    def broken(**kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr("documents.services.document_process", broken)
    assert tasks.process_document("00000000-0000-0000-0000-000000000000", str(bot.org_id)) is None


# --- The re-index contract for importers --------------------------------------------------------


def _pieces(*texts: str) -> list[Piece]:
    offsets, pieces = 0, []
    for ordinal, text in enumerate(texts):
        pieces.append(Piece(ordinal, text, None, None, ("Imported",), offsets, offsets + len(text)))
        offsets += len(text) + 1
    return pieces


def test_write_generation_switches_ready_made_passages_live_atomically(bot, editor):
    document = _process(_pending(bot, editor))
    old = {p.chunk_id for p in retrieve(bot=bot, query="refunds issued days")}
    seen = []

    class Watching(FakeEmbedder):
        def embed(self, texts):
            seen.append(
                {p.chunk_id for p in retrieve(bot=bot, query="refunds issued days", embedder=FakeEmbedder())}
            )
            return super().embed(texts)

    document = document_write_generation(
        document_id=str(document.pk),
        org_id=str(bot.org_id),
        pieces=_pieces("Refunds are now issued within 30 days.", "Exchanges are free of charge."),
        embedder=Watching(),
    )
    assert seen == [old]  # mid-write, readers saw exactly the old generation
    assert document.status == "ready" and document.active_generation == 2 and document.chunk_count == 2
    texts = [p.text for p in retrieve(bot=bot, query="refunds issued days")]
    assert "Refunds are now issued within 30 days." in texts
    assert not Chunk.objects.for_org(bot.org).filter(document=document, generation=1).exists()


def test_write_generation_without_passages_fails_and_keeps_the_old_version(bot, editor):
    document = _process(_pending(bot, editor))
    document = document_write_generation(document_id=str(document.pk), org_id=str(bot.org_id), pieces=[])
    assert document.status == "failed" and document.active_generation == 1
    assert "stays searchable" in document.error


# --- Deletions: files and vectors go after commit ---------------------------------------------------


@pytest.fixture
def deleted_bots(monkeypatch):
    """Records the bots whose vectors the store was asked to delete."""
    store = get_vector_store()
    calls = []
    real = store.delete_bot

    def recording(*, org_id, bot_id):
        calls.append(bot_id)
        return real(org_id=org_id, bot_id=bot_id)

    monkeypatch.setattr(store, "delete_bot", recording)
    return calls


def test_bot_deletion_removes_files_and_vectors_only_after_commit(
    bot, editor, deleted_bots, django_capture_on_commit_callbacks
):
    document, bot_id = _process(_pending(bot, editor)), str(bot.pk)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        bot_delete(bot=bot, user=editor)
    # Deleted in the database, not yet outside it: a rollback here would have lost nothing.
    assert default_storage.exists(document.storage_key) and deleted_bots == []
    for callback in callbacks:
        callback()
    assert not default_storage.exists(document.storage_key)
    assert deleted_bots == [bot_id]


def test_a_rolled_back_org_deletion_keeps_files_and_vectors(org, bot, owner, deleted_bots):
    document = _process(_pending(bot, owner))
    with pytest.raises(RuntimeError), transaction.atomic():
        org_delete(org=org, user=owner)
        raise RuntimeError("something later in the request failed")
    assert default_storage.exists(document.storage_key) and deleted_bots == []
    assert ChunkVector.objects.filter(document_id=str(document.pk)).exists()


def test_org_deletion_removes_every_bots_files_and_vectors_after_commit(
    org, bot, owner, deleted_bots, django_capture_on_commit_callbacks
):
    second = make_bot(org, "Second bot")
    documents = [
        _process(_pending(bot, owner)),
        _process(_pending(second, owner, b"Shipping takes two days.", "s.txt")),
    ]
    bot_ids = sorted([str(bot.pk), str(second.pk)])
    with django_capture_on_commit_callbacks(execute=True):
        org_delete(org=org, user=owner)
    assert sorted(deleted_bots) == bot_ids
    assert not any(default_storage.exists(d.storage_key) for d in documents)


def test_a_generation_left_half_written_by_a_stopped_run_is_removed_by_the_next_switch(bot, editor):
    document = _process(_pending(bot, editor))
    # A run killed after writing its chunks (generation 2), never finished; the sweep re-queues it.
    Chunk.objects.create(
        org_id=bot.org_id, bot=bot, document=document, generation=2, ordinal=0, text="half written"
    )
    Document.objects.for_org(bot.org).filter(pk=document.pk).update(generation=2)
    document = _process(document)
    assert document.active_generation == 3
    assert set(
        Chunk.objects.for_org(bot.org).filter(document=document).values_list("generation", flat=True)
    ) == {3}


def test_write_generation_stores_given_vectors_and_runs_on_activate_with_the_switch(bot, editor):
    document = _process(_pending(bot, editor))
    vectors = FakeEmbedder().embed(["Exchanges are free of charge.", "Refunds take 30 days now."])
    seen = []

    class Refusing(FakeEmbedder):
        def embed(self, texts):
            raise AssertionError("given vectors must not be embedded again")

    document = document_write_generation(
        document_id=str(document.pk),
        org_id=str(bot.org_id),
        pieces=_pieces("Exchanges are free of charge.", "Refunds take 30 days now."),
        vectors=list(vectors),
        embedding_model="source-model-384",
        embedder=Refusing(),
        on_activate=lambda d: seen.append((d.active_generation, d.status)),
    )
    assert seen == [(2, "ready")]
    assert document.embedding_model == "source-model-384" and document.active_generation == 2
    stored = ChunkVector.objects.filter(document_id=str(document.pk)).order_by("ordinal")
    assert [bytes(v.vector) for v in stored] == [v.astype("<f4").tobytes() for v in vectors]
