"""The `database` vector store on its own table: scoping, generations, the warm cache, metering, migration."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from integrations import metering
from integrations.models import ChunkVector
from integrations.vectors.base import VectorItem, VectorStore
from integrations.vectors.database import DatabaseVectorStore
from integrations.vectors.exact import top_k

pytestmark = pytest.mark.django_db
DIM = 384


def unit_vectors(n: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def items(document_id: str, vectors: np.ndarray, label: str = "") -> list[VectorItem]:
    return [
        VectorItem(
            chunk_id=f"{document_id}-{label}{i}",
            document_id=document_id,
            ordinal=i,
            vector=v,
            text=f"{label}text {document_id} {i}",
            metadata={"page_start": i + 1, "page_end": i + 1, "heading_path": ["H"], "title": "T"},
        )
        for i, v in enumerate(vectors)
    ]


@pytest.fixture
def store() -> DatabaseVectorStore:
    return DatabaseVectorStore()


def test_store_satisfies_the_protocol_and_returns_text_and_metadata_from_its_own_table(store):
    vectors = unit_vectors(20, seed=1)
    store.upsert(org_id="o", bot_id="b", document_id="d", generation=1, items=items("d", vectors))

    hits = store.search(org_id="o", bot_id="b", query=vectors[3], top_k=3, active={"d": 1})

    assert isinstance(store, VectorStore)
    assert [h.chunk_id for h in hits] == [f"d-{i}" for i in top_k(vectors, vectors[3], 3)[0]]
    assert hits[0].text == "text d 3" and hits[0].document_id == "d"
    assert hits[0].metadata == {
        "page_start": 4,
        "page_end": 4,
        "heading_path": ["H"],
        "title": "T",
        "ordinal": 3,
    }
    assert hits[0].score == pytest.approx(1.0, abs=1e-6)
    assert (
        store.count(org_id="o", bot_id="b") == 20
        and store.count(org_id="o", bot_id="b", document_id="x") == 0
    )


def test_orgs_and_bots_never_see_each_others_rows_even_with_the_same_ids(store):
    vectors = unit_vectors(5, seed=2)
    for org, bot in (("o1", "b"), ("o2", "b"), ("o1", "b2")):
        store.upsert(
            org_id=org, bot_id=bot, document_id="d", generation=1, items=items("d", vectors, label=org + bot)
        )

    hits = store.search(org_id="o2", bot_id="b", query=vectors[0], top_k=10, active={"d": 1})

    assert {h.text.split()[0] for h in hits} == {"o2btext"}
    store.delete_bot(org_id="o1", bot_id="b")
    assert store.count(org_id="o2", bot_id="b") == 5 and store.count(org_id="o1", bot_id="b2") == 5


def test_upsert_is_idempotent_and_only_the_live_generation_is_searched(store):
    old, new = unit_vectors(6, seed=3), unit_vectors(6, seed=4)
    store.upsert(org_id="o", bot_id="b", document_id="d", generation=1, items=items("d", old))
    store.upsert(org_id="o", bot_id="b", document_id="d", generation=1, items=items("d", old))
    store.upsert(org_id="o", bot_id="b", document_id="d", generation=2, items=items("d", new, label="v2-"))

    assert store.count(org_id="o", bot_id="b") == 12
    live_one = store.search(org_id="o", bot_id="b", query=old[0], top_k=20, active={"d": 1})
    live_two = store.search(org_id="o", bot_id="b", query=old[0], top_k=20, active={"d": 2})
    assert {h.chunk_id for h in live_one} == {f"d-{i}" for i in range(6)}
    assert {h.chunk_id for h in live_two} == {f"d-v2-{i}" for i in range(6)}


def test_a_warm_query_reads_only_the_winners_and_a_filter_is_served_from_the_cached_matrix(store):
    vectors = {doc: unit_vectors(50, seed=10 + n) for n, doc in enumerate(("a", "b", "c"))}
    for doc, v in vectors.items():
        store.upsert(org_id="o", bot_id="b", document_id=doc, generation=1, items=items(doc, v))
    active = {"a": 1, "b": 1, "c": 1}

    with metering.collect() as cold:
        store.search(org_id="o", bot_id="b", query=vectors["b"][7], top_k=5, active=active)
    assert store.last_loaded_from_db
    assert cold["vector_items_read"] == 150 + 5 and cold["vector_bytes_read"] > 150 * DIM * 4

    with metering.collect() as warm:
        hits = store.search(org_id="o", bot_id="b", query=vectors["b"][7], top_k=5, active=active)
    assert not store.last_loaded_from_db
    assert warm["vector_items_read"] == 5 and warm["vector_bytes_read"] < 5 * 1000
    assert hits[0].chunk_id == "b-7"

    # A search filtered to some documents reuses the bot's matrix, masked: no vectors read.
    filtered = store.search(org_id="o", bot_id="b", query=vectors["b"][7], top_k=5, active={"a": 1, "c": 1})
    assert not store.last_loaded_from_db
    assert {h.document_id for h in filtered} <= {"a", "c"} and len(filtered) == 5


def test_the_cache_follows_a_reindex_and_a_delete(store):
    old, new = unit_vectors(10, seed=20), unit_vectors(10, seed=21)
    store.upsert(org_id="o", bot_id="b", document_id="d", generation=1, items=items("d", old))
    store.upsert(
        org_id="o", bot_id="b", document_id="e", generation=1, items=items("e", unit_vectors(10, seed=22))
    )
    store.search(org_id="o", bot_id="b", query=old[0], top_k=3, active={"d": 1, "e": 1})  # cached

    # Re-index: generation 2 becomes live, then generation 1 is deleted (the pipeline's order).
    store.upsert(org_id="o", bot_id="b", document_id="d", generation=2, items=items("d", new, label="v2-"))
    hits = store.search(org_id="o", bot_id="b", query=new[4], top_k=1, active={"d": 2, "e": 1})
    assert store.last_loaded_from_db and hits[0].chunk_id == "d-v2-4"
    store.delete_document(org_id="o", bot_id="b", document_id="d", generation=1)
    assert (
        store.search(org_id="o", bot_id="b", query=new[4], top_k=1, active={"d": 2, "e": 1})[0].chunk_id
        == "d-v2-4"
    )
    assert not store.last_loaded_from_db

    # Delete: the document leaves the live set at once; the store drops the cached matrix holding it.
    store.delete_document(org_id="o", bot_id="b", document_id="d")
    hits = store.search(org_id="o", bot_id="b", query=new[4], top_k=20, active={"e": 1})
    assert {h.document_id for h in hits} == {"e"}
    assert store.count(org_id="o", bot_id="b", document_id="d") == 0


def test_cached_matrices_stay_within_the_configured_bound():
    store = DatabaseVectorStore(cache_max_bytes=2 * 60 * DIM * 4)  # room for two bots of 50 vectors
    for n in range(4):
        vectors = unit_vectors(50, seed=30 + n)
        store.upsert(org_id="o", bot_id=f"bot{n}", document_id="d", generation=1, items=items("d", vectors))
        store.search(org_id="o", bot_id=f"bot{n}", query=vectors[0], top_k=1, active={"d": 1})
        assert store.matrix_cache.total_bytes <= store.matrix_cache.max_bytes
    assert len(store.matrix_cache) == 2


# --- migrating the old documents.StoredVector rows -----------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_rows_of_the_old_vector_table_are_copied_and_stay_searchable():
    executor = MigrationExecutor(connection)
    # Bots stay at their latest state: the old models are built against the columns the table has now.
    bots_now = ("bots", dict(executor.loader.graph.leaf_nodes())["bots"])
    before = [
        ("integrations", "0001_chunk_vector"),
        ("documents", "0002_alter_chunk_org_alter_document_org_and_more"),
        bots_now,
    ]
    after = [
        ("integrations", "0002_copy_documents_storedvector"),
        ("documents", "0003_move_vectors_to_integrations"),
        bots_now,
    ]
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    Organization, Bot = old.get_model("tenants", "Organization"), old.get_model("bots", "Bot")
    Document, Chunk = old.get_model("documents", "Document"), old.get_model("documents", "Chunk")
    StoredVector = old.get_model("documents", "StoredVector")
    org = Organization.objects.create(name="Legacy")
    bot = Bot.all_orgs.create(org=org, name="Old bot")
    document = Document.all_orgs.create(org=org, bot=bot, title="Handbook", active_generation=1, generation=1)
    vectors = unit_vectors(3, seed=40)
    for i, vector in enumerate(vectors):
        chunk = Chunk.all_orgs.create(
            org=org,
            bot=bot,
            document=document,
            generation=1,
            ordinal=i,
            text=f"passage {i}",
            page_start=i + 1,
            page_end=i + 2,
            heading_path=["Intro", f"Part {i}"],
        )
        StoredVector.all_orgs.create(
            org=org, bot=bot, document=document, chunk=chunk, generation=1, ordinal=i, vector=vector.tobytes()
        )

    executor = MigrationExecutor(connection)
    executor.migrate(after)

    hits = DatabaseVectorStore().search(
        org_id=str(org.pk), bot_id=str(bot.pk), query=vectors[1], top_k=3, active={str(document.pk): 1}
    )
    assert [h.text for h in hits][0] == "passage 1" and len(hits) == 3
    assert hits[0].metadata == {
        "page_start": 2,
        "page_end": 3,
        "heading_path": ["Intro", "Part 1"],
        "title": "Handbook",
        "ordinal": 1,
    }
    assert hits[0].score == pytest.approx(1.0, abs=1e-6)
    assert ChunkVector.objects.filter(org_id=str(org.pk)).count() == 3
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())  # back to the latest state for the next tests


def test_read_document_returns_one_generation_exactly_as_written_in_ordinal_order(store):
    old, new = unit_vectors(3, seed=7), unit_vectors(5, seed=8)
    store.upsert(org_id="o", bot_id="b", document_id="d", generation=1, items=items("d", old, "old"))
    store.upsert(org_id="o", bot_id="b", document_id="d", generation=2, items=items("d", new)[::-1])
    store.upsert(org_id="o", bot_id="other", document_id="d", generation=2, items=items("d", old))

    read = store.read_document(org_id="o", bot_id="b", document_id="d", generation=2)

    assert [item.ordinal for item in read] == [0, 1, 2, 3, 4]
    assert [item.chunk_id for item in read] == [f"d-{i}" for i in range(5)]
    assert np.array_equal(np.stack([item.vector for item in read]), new)
    assert read[2].text == "text d 2" and read[2].metadata["page_start"] == 3
    assert store.read_document(org_id="o", bot_id="b", document_id="d", generation=3) == []
