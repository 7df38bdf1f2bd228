"""Processing guarantees: atomic re-index, failures keep the old index, concurrency, sweep, commands."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from documents.models import Chunk, Document
from documents.retrieval import retrieve
from documents.services import document_process, document_upload, documents_sweep_stuck
from integrations.embeddings.fake import FakeEmbedder
from integrations.models import ChunkVector
from integrations.vectors.factory import get_vector_store

pytestmark = pytest.mark.django_db

TEXT_V1 = b"# Returns\n\nRefunds are issued within 14 days of receiving the parcel.\n"


def _upload(bot, user, data=TEXT_V1, name="returns.md"):
    document, _ = document_upload(bot=bot, user=user, data=data, filename=name)
    return document_process(document_id=str(document.pk), org_id=str(bot.org_id))


class SearchingEmbedder(FakeEmbedder):
    """Runs a search while the new generation is half written, then optionally fails."""

    def __init__(self, bot, fail: bool = False):
        super().__init__()
        self.bot, self.fail, self.seen = bot, fail, []

    def embed(self, texts):
        vectors = super().embed(texts)
        if len(texts) > 1 or not self.seen:  # the ingest batch, not the probe query itself
            self.seen.append(
                [
                    p.chunk_id
                    for p in retrieve(bot=self.bot, query="refunds issued days", embedder=FakeEmbedder())
                ]
            )
            if self.fail:
                raise RuntimeError("embedding service fell over")
        return vectors


def test_reindex_is_atomic_for_readers_and_drops_the_old_generation(bot, editor):
    document = _upload(bot, editor)
    old_chunks = {
        str(c) for c in Chunk.objects.for_org(bot.org).filter(document=document).values_list("pk", flat=True)
    }
    assert document.status == "ready" and document.active_generation == 1

    embedder = SearchingEmbedder(bot)
    document = document_process(document_id=str(document.pk), org_id=str(bot.org_id), embedder=embedder)

    # Mid-reindex, search saw exactly the old generation: never nothing, never a mix.
    assert embedder.seen and all(set(ids) <= old_chunks and ids for ids in embedder.seen)
    assert document.status == "ready" and document.active_generation == 2
    live = set(
        map(str, Chunk.objects.for_org(bot.org).filter(document=document).values_list("pk", flat=True))
    )
    assert live.isdisjoint(old_chunks)
    assert ChunkVector.objects.filter(org_id=str(bot.org_id), document_id=str(document.pk)).count() == len(
        live
    )
    assert {p.chunk_id for p in retrieve(bot=bot, query="refunds issued days")} <= live


def test_failed_reindex_keeps_the_previous_version_searchable(bot, editor):
    document = _upload(bot, editor)
    before = [p.chunk_id for p in retrieve(bot=bot, query="refunds issued days")]
    document = document_process(
        document_id=str(document.pk), org_id=str(bot.org_id), embedder=SearchingEmbedder(bot, fail=True)
    )
    assert document.status == "failed"
    assert "embedding service fell over" in document.error
    assert "previously indexed version stays searchable" in document.error
    assert document.active_generation == 1
    assert [p.chunk_id for p in retrieve(bot=bot, query="refunds issued days")] == before
    # The half-written generation 2 left nothing behind.
    assert not Chunk.objects.for_org(bot.org).filter(document=document, generation=2).exists()
    assert not ChunkVector.objects.filter(
        org_id=str(bot.org_id), document_id=str(document.pk), generation=2
    ).exists()


def test_first_index_failure_leaves_nothing_searchable(bot, editor):
    document, _ = document_upload(bot=bot, user=editor, data=TEXT_V1, filename="r.md")
    document = document_process(
        document_id=str(document.pk), org_id=str(bot.org_id), embedder=SearchingEmbedder(bot, fail=True)
    )
    assert document.status == "failed" and document.active_generation is None
    assert retrieve(bot=bot, query="refunds") == []
    assert Chunk.objects.for_org(bot.org).count() == 0


def test_a_model_change_hides_stale_vectors_and_forces_a_reindex(
    bot, editor, django_capture_on_commit_callbacks
):
    from documents.services import documents_requeue_stale_model

    other_model = FakeEmbedder()
    other_model.name = "other-model-384"
    document = _upload(bot, editor)
    assert document.embedding_model == "fake-hash-384"
    # Vectors of another model live in another space: never compared with the new model's queries.
    assert retrieve(bot=bot, query="refunds issued days", embedder=other_model) == []
    assert retrieve(bot=bot, query="refunds issued days")

    from documents import tasks

    original = tasks.process_document
    tasks.process_document = lambda doc_id, org_id: document_process(
        document_id=doc_id, org_id=org_id, embedder=other_model
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert documents_requeue_stale_model(embedder=other_model) == 1
    finally:
        tasks.process_document = original
    document.refresh_from_db()
    assert document.embedding_model == "other-model-384" and document.status == "ready"
    assert retrieve(bot=bot, query="refunds issued days", embedder=other_model)
    assert documents_requeue_stale_model(embedder=other_model) == 0


def test_vectors_are_unit_length_float32_bytes(bot, editor):
    document = _upload(bot, editor)
    blob = ChunkVector.objects.filter(org_id=str(bot.org_id), document_id=str(document.pk)).values_list(
        "vector", flat=True
    )[0]
    vector = np.frombuffer(bytes(blob), dtype="<f4")
    assert vector.shape == (384,)
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5


def test_search_cache_follows_the_index(bot, editor):
    store = get_vector_store()
    _upload(bot, editor)
    retrieve(bot=bot, query="refunds")
    retrieve(bot=bot, query="parcel")
    assert store.last_loaded_from_db is False  # the second search reused the cached matrix
    _upload(bot, editor, b"Shipping takes three working days.", "ship.txt")
    hits = retrieve(bot=bot, query="shipping takes three working days")
    assert store.last_loaded_from_db is True  # a new document changed the live set
    assert "three working days" in hits[0].text


def test_sweep_retries_stuck_documents_then_fails_them(
    bot, editor, settings, django_capture_on_commit_callbacks
):
    settings.DOCUMENT_MAX_ATTEMPTS = 2
    document, _ = document_upload(bot=bot, user=editor, data=TEXT_V1, filename="r.md")
    long_ago = timezone.now() - timedelta(hours=2)
    Document.objects.for_org(bot.org).filter(pk=document.pk).update(
        status="processing", attempts=1, processing_started_at=long_ago
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert documents_sweep_stuck()["retried"] == 1
    document.refresh_from_db()
    assert document.status == "ready" and document.attempts == 2

    Document.objects.for_org(bot.org).filter(pk=document.pk).update(
        status="processing", attempts=2, processing_started_at=long_ago
    )
    assert documents_sweep_stuck()["failed"] == 1
    document.refresh_from_db()
    assert document.status == "failed"
    assert "did not finish after 2 attempts" in document.error
    assert "stays searchable" in document.error


def test_process_documents_command_processes_pending(bot, editor, capsys):
    document, _ = document_upload(bot=bot, user=editor, data=TEXT_V1, filename="r.md")
    assert document.status == "pending"  # on_commit never fired inside the test transaction
    call_command("process_documents", "--pending")
    document.refresh_from_db()
    assert document.status == "ready"
    assert "Processed 1 document(s), 0 failed." in capsys.readouterr().out
    call_command("process_documents", "--bot", str(bot.pk))
    document.refresh_from_db()
    assert document.active_generation == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_to_one_bot_lose_nothing(org, bot, editor):
    from django.db import connection

    if connection.vendor == "sqlite":
        pytest.skip("SQLite's in-memory test database takes one writer at a time; CI runs this on PostgreSQL")

    texts = [f"Fact number {i}: the depot in town {i} opens at {i}:00.".encode() for i in range(8)]
    uploads = texts + texts[:4]  # four exact duplicates racing their originals
    barrier = threading.Barrier(len(uploads))

    def worker(data):
        try:
            barrier.wait()
            document, created = document_upload(bot=bot, user=editor, data=data, filename="fact.txt")
            return str(document.pk), created
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(uploads)) as pool:
        results = list(pool.map(worker, uploads))
    ids = {doc_id for doc_id, _ in results}
    assert len(ids) == 8
    assert sum(created for _, created in results) == 8
    assert Document.objects.for_org(org).filter(bot=bot).count() == 8
    # Every one of them indexes (sync processing ran on commit in each thread).
    assert set(Document.objects.for_org(org).values_list("status", flat=True)) == {"ready"}


def test_sweep_documents_command_reports_what_it_did(bot, editor, capsys):
    _upload(bot, editor)
    call_command("sweep_documents")
    assert capsys.readouterr().out.strip() == (
        "retried 0, failed 0, requeued 0, re-indexing 0 embedded by another model, "
        "0 abandoned direct upload(s) failed"
    )


def test_sweep_fails_direct_uploads_never_completed(bot, editor):
    stale = Document.objects.create(
        org_id=bot.org_id, bot=bot, title="big", upload_method="presigned", storage_key="x/y/z"
    )
    fresh = Document.objects.create(
        org_id=bot.org_id, bot=bot, title="new", upload_method="presigned", storage_key="x/y/w"
    )
    Document.objects.for_org(bot.org).filter(pk=stale.pk).update(
        created_at=timezone.now() - timedelta(days=2)
    )
    assert documents_sweep_stuck()["abandoned"] == 1
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.status == "failed" and "never completed" in stale.error
    assert fresh.status == "pending"
