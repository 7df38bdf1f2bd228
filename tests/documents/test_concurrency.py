"""Many writers at once (PostgreSQL, like production): 50 concurrent uploads across 5 bots, some of
them the same bytes twice, with deletes interleaved — some landing while the document is processed.
Afterwards every document is ready or gone, nothing is indexed twice, and nothing is left behind in
the vector store or in file storage."""

from __future__ import annotations

import hashlib
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.client import BaseClient
from django.db import connection
from django.db.models import F

from documents.models import Chunk, Document
from documents.services import document_delete, document_upload
from integrations.models import ChunkVector
from integrations.vectors import factory
from tests.factories import make_bot, stored_files

BOTS = 5
UPLOADS_PER_BOT = 10
DISTINCT_PER_BOT = 8  # so two uploads per bot repeat earlier bytes
DELETES = 12
THREADS = 10


def _content(bot_n: int, n: int) -> bytes:
    lines = [f"# Depot {bot_n}-{n}"] + [
        f"Line {i}: depot {bot_n}-{n} ships order {i} from aisle {i % 9} before noon."
        for i in range(40 + n * 15)
    ]
    return "\n\n".join(lines).encode()


@pytest.fixture
def moto_one_call_at_a_time(monkeypatch):
    """moto's in-memory backends are not thread-safe (a Query iterating a table while a BatchWriteItem
    adds to it raises "dictionary changed size during iteration" inside moto), which real DynamoDB and
    S3 never do. One AWS call at a time keeps the fake consistent; the application's threads, database
    transactions and locks still race as before, only each single AWS request is atomic."""
    lock = threading.Lock()
    make_api_call = BaseClient._make_api_call

    def serialised(self, operation_name, api_params):
        with lock:
            return make_api_call(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", serialised)


@pytest.fixture(params=["database", pytest.param("dynamodb", marks=pytest.mark.slow)])
def vector_store(request):
    if request.param == "dynamodb":
        request.getfixturevalue("moto_one_call_at_a_time")
        return request.getfixturevalue("dynamodb_store")
    factory.get_vector_store.cache_clear()
    return factory.get_vector_store()


@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_and_deletes_leave_every_document_ready_or_gone(
    org, editor, vector_store, settings
):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite's in-memory test database takes one writer at a time; CI runs this on PostgreSQL")
    settings.DOCUMENT_PROCESSING = "sync"  # each upload is processed in its own thread once committed
    bots = [make_bot(org, f"Bot {n}") for n in range(BOTS)]
    rng = random.Random(9)  # a fixed interleaving plan; the threads still race for real
    uploads = [("upload", b, n % DISTINCT_PER_BOT) for b in range(BOTS) for n in range(UPLOADS_PER_BOT)]
    deletes = [("delete", rng.randrange(BOTS), rng.randrange(DISTINCT_PER_BOT)) for _ in range(DELETES)]
    plan = uploads + deletes
    rng.shuffle(plan)
    errors: list[str] = []
    deleted: list[tuple[int, int]] = []

    def run(step):
        action, bot_n, n = step
        bot = bots[bot_n]
        try:
            if action == "upload":
                document_upload(bot=bot, user=editor, data=_content(bot_n, n), filename=f"depot-{n}.md")
                return
            sha256 = hashlib.sha256(_content(bot_n, n)).hexdigest()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # delete it as soon as it exists, even mid-processing
                document = Document.objects.for_org(org).filter(bot=bot, sha256=sha256).first()
                if document is not None:
                    document_delete(document=document, user=editor)
                    deleted.append((bot_n, n))
                    return
                time.sleep(0.01)
        except Exception as exc:  # collected: an exception in a thread must fail the test
            errors.append(f"{action} {bot_n}/{n}: {exc!r}")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        list(pool.map(run, plan))

    assert errors == []
    assert deleted, "no delete found its document: the plan did not interleave"
    documents = list(Document.objects.for_org(org).order_by("bot_id"))
    # Ready or gone: nothing failed, pending or half-processed.
    assert [(d.title, d.status, d.error) for d in documents if d.status != "ready"] == []
    for bot_n, bot in enumerate(bots):
        mine = [d for d in documents if d.bot_id == bot.pk]
        hashes = [d.sha256 for d in mine]
        assert len(hashes) == len(set(hashes)), f"bot {bot_n} indexed the same bytes twice"
        # Every distinct upload is there unless a delete took it away.
        expected = {hashlib.sha256(_content(bot_n, n)).hexdigest() for n in range(DISTINCT_PER_BOT)}
        removed = {hashlib.sha256(_content(b, n)).hexdigest() for b, n in deleted if b == bot_n}
        assert expected - removed <= set(hashes) <= expected
        # No orphans: the store holds exactly the live generation of the documents that exist.
        live = sum(d.chunk_count for d in mine)
        assert vector_store.count(org_id=str(org.pk), bot_id=str(bot.pk)) == live
        for d in mine:
            assert d.chunk_count > 0
            assert (
                vector_store.count(org_id=str(org.pk), bot_id=str(bot.pk), document_id=str(d.pk))
                == d.chunk_count
            )
    assert Chunk.objects.for_org(org).count() == sum(d.chunk_count for d in documents)
    assert not Chunk.objects.for_org(org).exclude(generation=F("document__active_generation")).exists()
    if settings.VECTOR_STORE == "database":
        assert ChunkVector.objects.filter(org_id=str(org.pk)).count() == sum(d.chunk_count for d in documents)
    # No orphaned files: storage holds exactly the files of the documents that exist.
    assert stored_files(str(org.pk)) == {d.storage_key for d in documents}
