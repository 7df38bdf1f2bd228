"""DynamoDB vector store against moto (exact search) and botocore's Stubber (native vector index)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.stub import ANY, Stubber

from integrations import metering
from integrations.vectors import exact
from integrations.vectors.base import VectorItem, VectorStore
from integrations.vectors.dynamodb import (
    VECTOR_INDEX_NAME,
    DynamoDBStoreError,
    DynamoDBVectorStore,
    create_table,
    item_size,
    tenant_pk,
    vector_index_definition,
)

TABLE = "botwright-vectors-test"
REGION = "us-east-1"
DIM = 384


@pytest.fixture
def ddb(aws: None) -> Any:
    client = boto3.client("dynamodb", region_name=REGION)
    create_table(client, TABLE)
    return client


@pytest.fixture
def store(ddb: Any) -> DynamoDBVectorStore:
    return DynamoDBVectorStore(TABLE, client=ddb, sleep=lambda _: None)


def clustered_unit_vectors(n: int, *, dim: int = DIM, clusters: int = 20, spread: float = 1.0, seed: int = 0):
    """Unit vectors scattered around random centres: nearest neighbours are mostly in one cluster."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    noise = rng.standard_normal((n, dim)).astype(np.float32) * (spread / np.sqrt(dim))
    points = centres[rng.integers(0, clusters, n)] + noise
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def make_items(
    document_id: str, vectors: np.ndarray, *, label: str = "", first_ordinal: int = 0
) -> list[VectorItem]:
    return [
        VectorItem(
            chunk_id=f"{document_id}-{label}{i + first_ordinal}",
            document_id=document_id,
            ordinal=i + first_ordinal,
            vector=vector,
            text=f"{label}text of {document_id} chunk {i + first_ordinal}",
            metadata={
                "page_start": i + 1,
                "page_end": i + 1,
                "heading_path": ["Intro", "Part"],
                "title": "T",
            },
        )
        for i, vector in enumerate(vectors)
    ]


def scan_all(client: Any) -> list[dict[str, Any]]:
    items, kwargs = [], {"TableName": TABLE}
    while True:
        page = client.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class CountingClient:
    """Passes calls to a real client, counting them and optionally leaving work unprocessed once."""

    def __init__(self, client: Any, *, unprocessed_writes: int = 0, unprocessed_reads: int = 0) -> None:
        self._client = client
        self.calls: dict[str, int] = {}
        self.unprocessed_writes = unprocessed_writes
        self.unprocessed_reads = unprocessed_reads

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            return target(**kwargs)

        return call

    def batch_write_item(self, *, RequestItems: dict[str, list]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        self.calls["batch_write_item"] = self.calls.get("batch_write_item", 0) + 1
        ((table, requests),) = RequestItems.items()
        if self.unprocessed_writes and len(requests) > 1:
            self.unprocessed_writes -= 1
            half = len(requests) // 2
            self._client.batch_write_item(RequestItems={table: requests[:half]})
            return {"UnprocessedItems": {table: requests[half:]}}
        return self._client.batch_write_item(RequestItems=RequestItems)

    def batch_get_item(self, *, RequestItems: dict[str, dict]) -> dict[str, Any]:  # noqa: N803
        self.calls["batch_get_item"] = self.calls.get("batch_get_item", 0) + 1
        ((table, request),) = RequestItems.items()
        if self.unprocessed_reads and len(request["Keys"]) > 1:
            self.unprocessed_reads -= 1
            keys = request["Keys"]
            response = self._client.batch_get_item(RequestItems={table: {"Keys": keys[:1]}})
            response["UnprocessedKeys"] = {table: {"Keys": keys[1:]}}
            return response
        return self._client.batch_get_item(RequestItems=RequestItems)


def brute_force(vectors: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    return exact.top_k(vectors, query, k)[0].tolist()


# --- basics ------------------------------------------------------------------------------------


def test_store_satisfies_the_vector_store_protocol(store):
    assert isinstance(store, VectorStore)


def test_search_returns_the_nearest_chunks_with_text_metadata_and_cosine_scores(store):
    vectors = clustered_unit_vectors(60, seed=1)
    store.upsert(
        org_id="org-a",
        bot_id="bot-1",
        document_id="doc-a",
        generation=1,
        items=make_items("doc-a", vectors[:30]),
    )
    store.upsert(
        org_id="org-a",
        bot_id="bot-1",
        document_id="doc-b",
        generation=1,
        items=make_items("doc-b", vectors[30:]),
    )
    query = vectors[42] + 0.01

    hits = store.search(org_id="org-a", bot_id="bot-1", query=query, top_k=5, active={"doc-a": 1, "doc-b": 1})

    expected = brute_force(vectors, query, 5)
    chunk_ids = [f"doc-a-{i}" if i < 30 else f"doc-b-{i - 30}" for i in expected]
    assert [h.chunk_id for h in hits] == chunk_ids
    assert hits[0].document_id == "doc-b"
    assert hits[0].text == "text of doc-b chunk 12"
    assert hits[0].metadata == {
        "page_start": 13,
        "page_end": 13,
        "heading_path": ["Intro", "Part"],
        "title": "T",
    }
    np.testing.assert_allclose(
        [h.score for h in hits], (vectors @ query.astype(np.float32))[expected], rtol=1e-6
    )
    assert store.last_search_path == "exact"


def test_search_orders_equal_scores_by_document_then_ordinal(store):
    same = clustered_unit_vectors(1, seed=2)[0]
    for doc in ("doc-c", "doc-a", "doc-b"):
        store.upsert(
            org_id="o",
            bot_id="b",
            document_id=doc,
            generation=0,
            items=make_items(doc, np.stack([same, same])),
        )
    active = {"doc-a": 0, "doc-b": 0, "doc-c": 0}
    hits = store.search(org_id="o", bot_id="b", query=same, top_k=4, active=active)
    assert [h.chunk_id for h in hits] == ["doc-a-0", "doc-a-1", "doc-b-0", "doc-b-1"]


def test_search_with_nothing_active_or_zero_k_reads_nothing(store, ddb):
    put(store, "d", 1, 3)
    assert store.search(org_id="o", bot_id="b", query=np.ones(DIM), top_k=5, active={}) == []
    assert store.search(org_id="o", bot_id="b", query=np.ones(DIM), top_k=0, active={"d": 1}) == []
    assert store.bytes_read == 0


def test_vectors_are_stored_as_binary_blocks_never_as_lists_of_numbers(store, ddb):
    put(store, "d", 1, 300)
    items = scan_all(ddb)
    blocks = [i for i in items if i["sk"]["S"].startswith("v#")]
    assert len(blocks) == 2  # ~170 float32 vectors per block
    assert sum(int(b["n"]["N"]) for b in blocks) == 300
    assert all(set(b["v"]) == {"B"} and len(b["v"]["B"]) == int(b["n"]["N"]) * DIM * 4 for b in blocks)
    assert not any("L" in value or "NS" in value for item in items for value in item.values())
    assert all(item_size(b) < 400_000 for b in blocks)


def test_every_key_starts_with_the_org_id(store, ddb):
    store.upsert(
        org_id="org-7",
        bot_id="bot-3",
        document_id="d",
        generation=1,
        items=make_items("d", clustered_unit_vectors(5)),
    )
    assert tenant_pk("org-7", "bot-3") == "org-7#bot-3"
    assert {item["pk"]["S"] for item in scan_all(ddb)} == {"org-7#bot-3"}


def test_ids_that_could_break_the_key_layout_are_rejected(store):
    items = make_items("d", clustered_unit_vectors(1))
    with pytest.raises(ValueError, match="org_id"):
        store.upsert(org_id="org#1", bot_id="b", document_id="d", generation=1, items=items)
    with pytest.raises(ValueError, match="document_id"):
        store.delete_document(org_id="o", bot_id="b", document_id="a b")
    with pytest.raises(ValueError, match="generation"):
        store.upsert(org_id="o", bot_id="b", document_id="d", generation=-1, items=items)
    with pytest.raises(ValueError, match="belongs to document"):
        store.upsert(org_id="o", bot_id="b", document_id="other", generation=1, items=items)


def test_upserting_the_same_generation_twice_is_idempotent(store):
    items = make_items("d", clustered_unit_vectors(40, seed=3))
    for _ in range(2):
        store.upsert(org_id="o", bot_id="b", document_id="d", generation=1, items=items)
    assert store.count(org_id="o", bot_id="b") == 40
    hits = store.search(org_id="o", bot_id="b", query=items[0].vector, top_k=40, active={"d": 1})
    assert len({h.chunk_id for h in hits}) == 40


def test_non_consecutive_ordinals_survive_the_block_encoding(store):
    vectors = clustered_unit_vectors(3, seed=4)
    items = [
        VectorItem(chunk_id=f"c{o}", document_id="d", ordinal=o, vector=v, text=f"t{o}", metadata={})
        for o, v in zip((9, 0, 5), vectors, strict=True)
    ]
    store.upsert(org_id="o", bot_id="b", document_id="d", generation=1, items=items)
    for item in items:
        hit = store.search(org_id="o", bot_id="b", query=item.vector, top_k=1, active={"d": 1})[0]
        assert (hit.chunk_id, hit.text) == (item.chunk_id, item.text)


def test_a_query_of_another_dimension_is_reported_clearly(store):
    put(store, "d", 1, 2)
    with pytest.raises(ValueError, match="another embedder"):
        store.search(org_id="o", bot_id="b", query=np.ones(768), top_k=1, active={"d": 1})


# --- generations, filters, tenants --------------------------------------------------------------


def test_search_only_sees_the_active_generation_of_each_document(store):
    old = clustered_unit_vectors(20, seed=5)
    new = clustered_unit_vectors(25, seed=6)
    other = clustered_unit_vectors(10, seed=7)
    store.upsert(
        org_id="o", bot_id="b", document_id="d", generation=1, items=make_items("d", old, label="old-")
    )
    store.upsert(
        org_id="o", bot_id="b", document_id="d", generation=2, items=make_items("d", new, label="new-")
    )
    store.upsert(org_id="o", bot_id="b", document_id="e", generation=4, items=make_items("e", other))

    for generation, label, count in ((1, "old-", 20), (2, "new-", 25)):
        hits = store.search(org_id="o", bot_id="b", query=old[0], top_k=100, active={"d": generation, "e": 4})
        from_d = [h for h in hits if h.document_id == "d"]
        assert len(from_d) == count
        assert all(h.chunk_id.startswith(f"d-{label}") for h in from_d), "generations were mixed"
        assert len(hits) == count + 10

    # A generation that does not exist (yet) hides the document instead of showing an old one.
    hits = store.search(org_id="o", bot_id="b", query=old[0], top_k=100, active={"d": 3, "e": 4})
    assert {h.document_id for h in hits} == {"e"}


def test_restricting_active_filters_the_search_to_those_documents(ddb):
    # Cold reads are what this is about: a warm container would serve the filter from its cache.
    store = DynamoDBVectorStore(TABLE, client=ddb, cache_max_bytes=0)
    docs = {f"doc-{n:02d}": clustered_unit_vectors(8, seed=10 + n) for n in range(12)}
    for doc, vectors in docs.items():
        store.upsert(org_id="o", bot_id="b", document_id=doc, generation=1, items=make_items(doc, vectors))
    query = docs["doc-03"][0]
    all_active = dict.fromkeys(docs, 1)  # more documents than the per-document query path takes

    hits = store.search(org_id="o", bot_id="b", query=query, top_k=3, active=all_active)
    assert hits[0].chunk_id == "doc-03-0"

    only = {"doc-05": 1, "doc-07": 1}
    hits = store.search(org_id="o", bot_id="b", query=query, top_k=50, active=only)
    assert {h.document_id for h in hits} == {"doc-05", "doc-07"} and len(hits) == 16
    filtered_bytes = store.bytes_read
    store.search(org_id="o", bot_id="b", query=query, top_k=50, active=all_active)
    assert filtered_bytes < store.bytes_read / 3, "a filtered search should read only the filtered blocks"


def test_bots_are_isolated_even_with_the_same_document_ids(store):
    a = clustered_unit_vectors(10, seed=20)
    b = clustered_unit_vectors(10, seed=21)
    store.upsert(
        org_id="org-1",
        bot_id="bot-a",
        document_id="same",
        generation=1,
        items=make_items("same", a, label="a-"),
    )
    store.upsert(
        org_id="org-1",
        bot_id="bot-b",
        document_id="same",
        generation=1,
        items=make_items("same", b, label="b-"),
    )
    store.upsert(
        org_id="org-2",
        bot_id="bot-a",
        document_id="same",
        generation=1,
        items=make_items("same", b, label="x-"),
    )

    hits = store.search(org_id="org-1", bot_id="bot-a", query=b[0], top_k=50, active={"same": 1})
    assert len(hits) == 10 and all(h.chunk_id.startswith("same-a-") for h in hits)

    store.delete_bot(org_id="org-1", bot_id="bot-a")
    assert store.count(org_id="org-1", bot_id="bot-a") == 0
    assert store.search(org_id="org-1", bot_id="bot-a", query=b[0], top_k=5, active={"same": 1}) == []
    assert store.count(org_id="org-1", bot_id="bot-b") == 10
    assert store.count(org_id="org-2", bot_id="bot-a") == 10


def put(store, document_id: str, generation: int, n: int) -> None:
    """Write `n` clustered chunks of one document generation into bot "b" of org "o"."""
    store.upsert(
        org_id="o",
        bot_id="b",
        document_id=document_id,
        generation=generation,
        items=make_items(document_id, clustered_unit_vectors(n)),
    )


# --- count and delete --------------------------------------------------------------------------


def test_count_sums_chunks_of_every_stored_generation(store):
    put(store, "d", 1, 7)
    put(store, "d", 2, 9)
    put(store, "e", 1, 4)
    assert store.count(org_id="o", bot_id="b") == 20
    assert store.count(org_id="o", bot_id="b", document_id="d") == 16
    assert store.count(org_id="o", bot_id="b", document_id="missing") == 0


def test_delete_document_removes_one_generation_or_all_of_them(store, ddb):
    put(store, "d", 1, 7)
    put(store, "d", 2, 9)
    put(store, "d2", 1, 3)

    store.delete_document(org_id="o", bot_id="b", document_id="d", generation=1)
    assert store.count(org_id="o", bot_id="b", document_id="d") == 9
    assert store.search(org_id="o", bot_id="b", query=np.ones(DIM), top_k=5, active={"d": 1}) == []
    assert len(store.search(org_id="o", bot_id="b", query=np.ones(DIM), top_k=50, active={"d": 2})) == 9

    store.delete_document(org_id="o", bot_id="b", document_id="d")
    assert store.count(org_id="o", bot_id="b", document_id="d") == 0
    remaining = {item["sk"]["S"].split("#")[1] for item in scan_all(ddb)}
    assert remaining == {"d2"}


# --- pagination, retries -----------------------------------------------------------------------


def test_search_follows_pagination_over_more_than_one_megabyte_of_blocks(ddb):
    client = CountingClient(ddb)
    store = DynamoDBVectorStore(TABLE, client=client)
    vectors = clustered_unit_vectors(1200, seed=30)  # 1.8 MB of float32 vectors in one document
    store.upsert(org_id="o", bot_id="b", document_id="big", generation=1, items=make_items("big", vectors))
    client.calls.clear()
    query = vectors[1150]  # on the last page
    hits = store.search(org_id="o", bot_id="b", query=query, top_k=10, active={"big": 1})
    assert client.calls["query"] >= 2  # DynamoDB (and moto) return at most 1 MB per page
    assert hits[0].chunk_id == "big-1150"
    assert [h.chunk_id for h in hits] == [f"big-{i}" for i in brute_force(vectors, query, 10)]
    assert store.bytes_read > 1200 * 1536


def test_search_and_count_agree_whatever_the_page_size(ddb):
    vectors = clustered_unit_vectors(200, seed=31)
    paged = DynamoDBVectorStore(TABLE, client=ddb, block_size=7, query_page_limit=2)
    for n in range(10):
        doc = f"doc-{n}"
        paged.upsert(
            org_id="o",
            bot_id="b",
            document_id=doc,
            generation=1,
            items=make_items(doc, vectors[n * 20 : (n + 1) * 20]),
        )
    unpaged = DynamoDBVectorStore(TABLE, client=ddb)
    active = {f"doc-{n}": 1 for n in range(10)}
    query = clustered_unit_vectors(1, seed=32)[0]
    paged_hits = paged.search(org_id="o", bot_id="b", query=query, top_k=15, active=active)
    assert paged_hits == unpaged.search(org_id="o", bot_id="b", query=query, top_k=15, active=active)
    assert [h.chunk_id for h in paged_hits] == [
        f"doc-{i // 20}-{i % 20}" for i in brute_force(vectors, query, 15)
    ]
    assert paged.count(org_id="o", bot_id="b") == 200
    paged.delete_bot(org_id="o", bot_id="b")
    assert unpaged.count(org_id="o", bot_id="b") == 0


def test_unprocessed_writes_are_retried_with_backoff(ddb):
    client = CountingClient(ddb, unprocessed_writes=3)
    sleeps: list[float] = []
    store = DynamoDBVectorStore(TABLE, client=client, block_size=10, sleep=sleeps.append)
    put(store, "d", 1, 60)
    assert len(sleeps) == 3
    assert store.count(org_id="o", bot_id="b") == 60
    assert len(store.search(org_id="o", bot_id="b", query=np.ones(DIM), top_k=100, active={"d": 1})) == 60


def test_writes_give_up_with_a_clear_error_when_always_throttled(ddb):
    client = CountingClient(ddb, unprocessed_writes=100)
    store = DynamoDBVectorStore(TABLE, client=client, max_retries=2, sleep=lambda _: None)
    with pytest.raises(DynamoDBStoreError, match="unprocessed after 2 retries"):
        put(store, "d", 1, 5)


def test_unprocessed_text_reads_are_retried(ddb):
    client = CountingClient(ddb, unprocessed_reads=1)
    store = DynamoDBVectorStore(TABLE, client=client, sleep=lambda _: None)
    vectors = clustered_unit_vectors(30, seed=33)
    store.upsert(org_id="o", bot_id="b", document_id="d", generation=1, items=make_items("d", vectors))
    hits = store.search(org_id="o", bot_id="b", query=vectors[4], top_k=6, active={"d": 1})
    assert len(hits) == 6 and hits[0].chunk_id == "d-4"
    assert client.calls["batch_get_item"] == 2


# --- int8 and bytes read -----------------------------------------------------------------------


def _load(store: DynamoDBVectorStore, vectors: np.ndarray, docs: int) -> dict[str, int]:
    per_doc = len(vectors) // docs
    for n in range(docs):
        doc = f"doc-{n:03d}"
        chunk = vectors[n * per_doc : (n + 1) * per_doc]
        store.upsert(
            org_id="org",
            bot_id=store.quantization,
            document_id=doc,
            generation=1,
            items=make_items(doc, chunk),
        )
    return {f"doc-{n:03d}": 1 for n in range(docs)}


def test_int8_keeps_recall_at_10_and_reads_a_quarter_of_the_bytes(ddb):
    n = 1000
    # Tight clusters make near-ties: int8 scores alone get ~0.98 recall@10 here; the float32
    # rescoring of the int8 candidates is what lifts it to >= 0.99.
    vectors = clustered_unit_vectors(n, clusters=20, spread=0.5, seed=40)
    # Every query cold, as in a fresh container: the bytes read per exact query are the point here.
    f32 = DynamoDBVectorStore(TABLE, client=ddb, quantization="float32", cache_max_bytes=0)
    i8 = DynamoDBVectorStore(TABLE, client=ddb, quantization="int8", cache_max_bytes=0)
    active = _load(f32, vectors, 10)
    _load(i8, vectors, 10)
    rng = np.random.default_rng(41)
    queries = (
        vectors[rng.choice(n, 25, replace=False)] + rng.standard_normal((25, DIM)).astype(np.float32) * 0.03
    )
    found = 0
    for query in queries:
        got = i8.search(org_id="org", bot_id="int8", query=query, top_k=10, active=active)
        # The float32 store returns exactly the brute-force neighbours (tested above).
        truth = {f"doc-{i // 100:03d}-{i % 100}" for i in brute_force(vectors, query, 10)}
        found += len(truth & {h.chunk_id for h in got})
        assert i8.bytes_read <= 0.3 * n * 1536
    assert found / (10 * len(queries)) >= 0.99
    f32.search(org_id="org", bot_id="float32", query=queries[0], top_k=10, active=active)
    assert f32.bytes_read <= 1.1 * n * 1536
    assert i8.bytes_read < 0.3 * f32.bytes_read * 1.1


def test_int8_hits_carry_exact_float32_scores(ddb):
    vectors = clustered_unit_vectors(50, seed=42)
    store = DynamoDBVectorStore(TABLE, client=ddb, quantization="int8")
    store.upsert(org_id="o", bot_id="b", document_id="d", generation=1, items=make_items("d", vectors))
    hits = store.search(org_id="o", bot_id="b", query=vectors[7], top_k=3, active={"d": 1})
    assert hits[0].chunk_id == "d-7"
    index = [int(h.chunk_id.split("-")[1]) for h in hits]
    # Exact to float32 rounding; int8 scores would be off by ~1e-3.
    np.testing.assert_allclose([h.score for h in hits], vectors[index] @ vectors[7], rtol=1e-6)


# --- warm queries: the container's matrix cache ----------------------------------------------------


class ResponseBytes:
    """Adds up the DynamoDB item size of every item in the client's responses (botocore's event hook).

    Independent of the store's own counter: this is what DynamoDB actually sent back.
    """

    def __init__(self, client: Any) -> None:
        self.bytes = 0
        self.items = 0
        client.meta.events.register("after-call.dynamodb", self._count)

    def _count(self, parsed: dict[str, Any], **_: Any) -> None:
        items = list(parsed.get("Items", []))
        items += [i for table in parsed.get("Responses", {}).values() for i in table]
        items += [r["Item"] for r in parsed.get("SearchResults", [])]
        self.items += len(items)
        self.bytes += sum(item_size(i) for i in items)

    def reset(self) -> None:
        self.bytes = self.items = 0


def test_a_warm_query_reads_only_the_winners_texts(ddb):
    n = 2000
    vectors = clustered_unit_vectors(n, seed=60)
    store = DynamoDBVectorStore(TABLE, client=ddb)
    cold_only = DynamoDBVectorStore(TABLE, client=ddb, cache_max_bytes=0)
    active = _load(store, vectors, 20)
    responses = ResponseBytes(ddb)
    query = vectors[1234]

    cold = store.search(org_id="org", bot_id="float32", query=query, top_k=10, active=active)
    cold_bytes = responses.bytes
    responses.reset()
    with metering.collect() as meter:
        warm = store.search(org_id="org", bot_id="float32", query=query, top_k=10, active=active)

    assert store.last_cache_hit and warm == cold
    assert [h.chunk_id for h in warm] == [
        f"doc-{i // 100:03d}-{i % 100}" for i in brute_force(vectors, query, 10)
    ]
    assert responses.items == 10  # the ten winners' text items, nothing else
    assert responses.bytes == store.bytes_read == meter["vector_bytes_read"]
    assert responses.bytes <= 0.01 * n * 1536
    # The cold query is what it was without a cache: the same requests, bytes and hits.
    responses.reset()
    assert cold_only.search(org_id="org", bot_id="float32", query=query, top_k=10, active=active) == cold
    assert responses.bytes == cold_bytes >= n * 1536 and not cold_only.last_cache_hit


def test_a_filtered_search_is_served_from_the_bots_cached_matrix(store, ddb):
    docs = {f"doc-{n:02d}": clustered_unit_vectors(8, seed=70 + n) for n in range(12)}
    for doc, vectors in docs.items():
        store.upsert(org_id="o", bot_id="b", document_id=doc, generation=1, items=make_items(doc, vectors))
    everything = dict.fromkeys(docs, 1)
    store.search(org_id="o", bot_id="b", query=docs["doc-03"][0], top_k=3, active=everything)

    hits = store.search(
        org_id="o", bot_id="b", query=docs["doc-03"][0], top_k=50, active={"doc-05": 1, "doc-07": 1}
    )

    assert store.last_cache_hit
    assert {h.document_id for h in hits} == {"doc-05", "doc-07"} and len(hits) == 16
    assert store.items_read == 16  # texts only


def test_the_cache_follows_a_reindex_and_a_delete(store):
    old, new, other = (clustered_unit_vectors(30, seed=s) for s in (80, 81, 82))
    store.upsert(
        org_id="o", bot_id="b", document_id="d", generation=1, items=make_items("d", old, label="v1-")
    )
    store.upsert(org_id="o", bot_id="b", document_id="e", generation=1, items=make_items("e", other))
    store.search(org_id="o", bot_id="b", query=old[5], top_k=3, active={"d": 1, "e": 1})
    assert (
        store.search(org_id="o", bot_id="b", query=old[5], top_k=1, active={"d": 1, "e": 1})[0].chunk_id
        == "d-v1-5"
    )
    assert store.last_cache_hit

    # Re-index as the pipeline does it: write generation 2, switch the live set, delete generation 1.
    store.upsert(
        org_id="o", bot_id="b", document_id="d", generation=2, items=make_items("d", new, label="v2-")
    )
    hits = store.search(org_id="o", bot_id="b", query=new[9], top_k=30, active={"d": 2, "e": 1})
    assert not store.last_cache_hit, "a new generation must be read, never served from the old matrix"
    assert hits[0].chunk_id == "d-v2-9"
    assert not [h for h in hits if h.chunk_id.startswith("d-v1-")]
    store.delete_document(org_id="o", bot_id="b", document_id="d", generation=1)
    store.search(org_id="o", bot_id="b", query=new[9], top_k=3, active={"d": 2, "e": 1})
    assert store.last_cache_hit  # deleting the old generation keeps the live matrix

    # Delete: the document leaves the live set and the container drops the matrix that held it.
    store.delete_document(org_id="o", bot_id="b", document_id="d")
    assert len(store.matrix_cache) == 0
    hits = store.search(org_id="o", bot_id="b", query=new[9], top_k=50, active={"e": 1})
    assert {h.document_id for h in hits} == {"e"}
    store.delete_bot(org_id="o", bot_id="b")
    assert len(store.matrix_cache) == 0


def test_int8_warm_queries_still_rescore_exactly(ddb):
    vectors = clustered_unit_vectors(60, seed=90)
    store = DynamoDBVectorStore(TABLE, client=ddb, quantization="int8")
    store.upsert(org_id="o", bot_id="b", document_id="d", generation=1, items=make_items("d", vectors))
    cold = store.search(org_id="o", bot_id="b", query=vectors[11], top_k=4, active={"d": 1})

    warm = store.search(org_id="o", bot_id="b", query=vectors[11], top_k=4, active={"d": 1})

    assert store.last_cache_hit and warm == cold
    index = [int(h.chunk_id.split("-")[1]) for h in warm]
    np.testing.assert_allclose([h.score for h in warm], vectors[index] @ vectors[11], rtol=1e-6)
    assert store.items_read == 4 * store.int8_rerank  # the candidates' texts carry the float32 copies


def test_cached_matrices_stay_within_the_configured_bound(ddb):
    per_bot = 200 * DIM * 4
    store = DynamoDBVectorStore(TABLE, client=ddb, cache_max_bytes=int(2.5 * per_bot))
    for n in range(5):
        vectors = clustered_unit_vectors(200, seed=100 + n)
        store.upsert(
            org_id="o", bot_id=f"bot{n}", document_id="d", generation=1, items=make_items("d", vectors)
        )
        store.search(org_id="o", bot_id=f"bot{n}", query=vectors[0], top_k=1, active={"d": 1})
        assert store.matrix_cache.total_bytes <= store.matrix_cache.max_bytes
    assert len(store.matrix_cache) == 2
    # A bot larger than the whole budget is searched cold every time, never cached.
    tiny = DynamoDBVectorStore(TABLE, client=ddb, cache_max_bytes=per_bot // 2)
    for _ in range(2):
        tiny.search(org_id="o", bot_id="bot0", query=np.ones(DIM), top_k=1, active={"d": 1})
        assert not tiny.last_cache_hit and tiny.items_read > 1
    assert len(tiny.matrix_cache) == 0


def test_reads_are_metered_for_cost_attribution(store):
    put(store, "d", 1, 40)
    with metering.collect() as meter:
        store.search(org_id="o", bot_id="b", query=np.ones(DIM), top_k=5, active={"d": 1})
    assert meter["vector_items_read"] == store.items_read == 1 + 5  # one block, five texts
    assert meter["vector_bytes_read"] == store.bytes_read > 40 * 1536


def test_item_size_follows_the_dynamodb_rules():
    assert item_size({"pk": {"S": "abc"}}) == 2 + 3
    assert item_size({"v": {"B": b"\x00" * 10}}) == 1 + 10
    assert item_size({"n": {"N": "123"}}) == 1 + 3  # two significant digits per byte, plus one
    assert item_size({"n": {"N": "0.001200"}}) == 1 + 2
    assert item_size({"ok": {"BOOL": True}}) == 2 + 1
    assert item_size({"l": {"L": [{"S": "ab"}, {"N": "1"}]}}) == 1 + 3 + (1 + 2) + (1 + 2)
    assert item_size({"m": {"M": {"k": {"S": "v"}}}}) == 1 + 3 + (1 + 1 + 1)
    assert item_size({"é": {"S": "é"}}) == 4


# --- the native vector index (SearchVectors), stubbed against botocore's service model -----------


@pytest.fixture
def stubbed(aws_credentials: None) -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("dynamodb", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _manifest_page(pk: str, manifests: list[tuple[str, int, int]]) -> dict[str, Any]:
    return {
        "Items": [
            {"pk": {"S": pk}, "sk": {"S": f"m#{doc}#{gen}#0000000000"}, "n": {"N": str(n)}}
            for doc, gen, n in manifests
        ]
    }


def _index_result(pk: str, doc: str, gen: int, ordinal: int, distance: float) -> dict[str, Any]:
    return {
        "Item": {
            "pk": {"S": pk},
            "sk": {"S": f"t#{doc}#{gen}#{ordinal:010d}"},
            "c": {"S": f"{doc}-{gen}-{ordinal}"},
            "x": {"S": f"text {doc} {ordinal}"},
            "m": {"S": '{"page_start":1}'},
        },
        "Score": distance,
    }


def _query_params(pk: str, prefix: str) -> dict[str, Any]:
    return {
        "TableName": TABLE,
        "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :prefix)",
        "ExpressionAttributeNames": {"#pk": "pk", "#sk": "sk"},
        "ExpressionAttributeValues": {":pk": {"S": pk}, ":prefix": {"S": prefix}},
    }


def test_create_table_with_a_vector_index_sends_a_valid_definition(stubbed):
    client, stubber = stubbed
    definition = vector_index_definition(DIM)
    stubber.add_response(
        "create_table",
        {"TableDescription": {"TableName": TABLE}},
        {
            "TableName": TABLE,
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
                {"AttributeName": "vp", "AttributeType": "S"},
                {"AttributeName": "dg", "AttributeType": "S"},
            ],
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
            "VectorIndexes": [definition],
        },
    )
    stubber.add_response("describe_table", {"Table": {"TableName": TABLE, "TableStatus": "ACTIVE"}})
    create_table(client, TABLE, vector_index_dim=DIM)
    assert definition["DistanceFunction"] == "COSINE" and definition["Dimensions"] == DIM


def test_large_bots_are_searched_through_the_vector_index(stubbed):
    client, stubber = stubbed
    store = DynamoDBVectorStore(TABLE, client=client, vector_index_threshold=1000)
    pk = "o#b"
    stubber.add_response(
        "query", _manifest_page(pk, [("d1", 2, 900), ("d2", 1, 600), ("d1", 1, 900)]), _query_params(pk, "m#")
    )
    stubber.add_response(
        "search_vectors",
        {
            "SearchResults": [
                _index_result(pk, "d1", 1, 4, 0.05),  # the old generation of d1: must be skipped
                _index_result(pk, "d2", 1, 7, 0.10),
                _index_result(pk, "d1", 2, 3, 0.20),
            ]
        },
        {
            "TableName": TABLE,
            "IndexName": VECTOR_INDEX_NAME,
            "SearchVector": ANY,
            "TopK": 22,
            "SearchConditionExpression": "vp = :vp",
            "ExpressionAttributeValues": {":vp": {"S": pk}},
        },
    )
    hits = store.search(org_id="o", bot_id="b", query=np.full(DIM, 0.05), top_k=2, active={"d1": 2, "d2": 1})
    assert store.last_search_path == "index"
    assert [h.chunk_id for h in hits] == ["d2-1-7", "d1-2-3"]
    assert [h.score for h in hits] == pytest.approx([0.90, 0.80])
    assert hits[0].metadata == {"page_start": 1} and hits[0].text == "text d2 7"


def test_a_single_document_search_filters_inside_the_index(stubbed):
    client, stubber = stubbed
    store = DynamoDBVectorStore(TABLE, client=client, vector_index_threshold=100)
    pk = "o#b"
    stubber.add_response("query", _manifest_page(pk, [("d1", 3, 500)]), _query_params(pk, "m#"))
    stubber.add_response(
        "search_vectors",
        {"SearchResults": [_index_result(pk, "d1", 3, 1, 0.3)]},
        {
            "TableName": TABLE,
            "IndexName": VECTOR_INDEX_NAME,
            "SearchVector": ANY,
            "TopK": 1,
            "SearchConditionExpression": "vp = :vp AND dg = :dg",
            "ExpressionAttributeValues": {":vp": {"S": pk}, ":dg": {"S": "d1#3"}},
        },
    )
    hits = store.search(org_id="o", bot_id="b", query=np.full(DIM, 0.05), top_k=1, active={"d1": 3})
    assert [h.chunk_id for h in hits] == ["d1-3-1"]


def _exact_fallback_responses(stubber: Stubber, pk: str, vectors: np.ndarray) -> None:
    block = {
        "pk": {"S": pk},
        "sk": {"S": "v#d1#2#0000000000"},
        "v": {"B": exact.pack_float32(vectors)},
        "n": {"N": str(len(vectors))},
        "d": {"N": str(DIM)},
        "o": {"N": "0"},
    }
    stubber.add_response("query", {"Items": [block]}, _query_params(pk, "v#d1#2#"))
    texts = [
        {
            "pk": {"S": pk},
            "sk": {"S": f"t#d1#2#{i:010d}"},
            "c": {"S": f"c{i}"},
            "x": {"S": f"t{i}"},
            "m": {"S": "{}"},
        }
        for i in range(len(vectors))
    ]
    stubber.add_response("batch_get_item", {"Responses": {TABLE: texts}})


def test_the_index_falls_back_to_exact_search_when_too_few_live_hits_survive(stubbed):
    client, stubber = stubbed
    store = DynamoDBVectorStore(TABLE, client=client, vector_index_threshold=2)
    pk = "o#b"
    vectors = clustered_unit_vectors(3, seed=50)
    stubber.add_response("query", _manifest_page(pk, [("d1", 2, 3), ("d1", 1, 3)]), _query_params(pk, "m#"))
    # The index only knows the old generation so far (it lags behind writes).
    stubber.add_response("search_vectors", {"SearchResults": [_index_result(pk, "d1", 1, 0, 0.0)]})
    _exact_fallback_responses(stubber, pk, vectors)
    hits = store.search(org_id="o", bot_id="b", query=vectors[1], top_k=2, active={"d1": 2})
    assert store.last_search_path == "exact"
    assert [h.chunk_id for h in hits] == [f"c{i}" for i in brute_force(vectors, vectors[1], 2)]


def test_an_index_error_falls_back_to_exact_search(stubbed):
    client, stubber = stubbed
    store = DynamoDBVectorStore(TABLE, client=client, vector_index_threshold=1)
    pk = "o#b"
    vectors = clustered_unit_vectors(2, seed=51)
    stubber.add_response("query", _manifest_page(pk, [("d1", 2, 2)]), _query_params(pk, "m#"))
    stubber.add_client_error(
        "search_vectors",
        service_error_code="ValidationException",
        service_message="Cannot search backfilling vector index",
    )
    _exact_fallback_responses(stubber, pk, vectors)
    hits = store.search(org_id="o", bot_id="b", query=vectors[0], top_k=1, active={"d1": 2})
    assert store.last_search_path == "exact" and hits[0].chunk_id == "c0"


def test_small_bots_never_call_the_vector_index(stubbed):
    client, stubber = stubbed
    store = DynamoDBVectorStore(TABLE, client=client, vector_index_threshold=1000)
    pk = "o#b"
    vectors = clustered_unit_vectors(2, seed=52)
    stubber.add_response("query", _manifest_page(pk, [("d1", 2, 2)]), _query_params(pk, "m#"))
    _exact_fallback_responses(stubber, pk, vectors)  # a search_vectors call here would fail the stubber
    hits = store.search(org_id="o", bot_id="b", query=vectors[0], top_k=1, active={"d1": 2})
    assert store.last_search_path == "exact" and hits[0].chunk_id == "c0"


def test_with_the_index_enabled_text_items_carry_the_indexed_attributes(ddb):
    store = DynamoDBVectorStore(TABLE, client=ddb, vector_index_threshold=10_000)
    vectors = clustered_unit_vectors(2, seed=53)
    store.upsert(org_id="o", bot_id="b", document_id="d", generation=5, items=make_items("d", vectors))
    texts = sorted((i for i in scan_all(ddb) if i["sk"]["S"].startswith("t#")), key=lambda i: i["sk"]["S"])
    assert [t["vp"]["S"] for t in texts] == ["o#b", "o#b"]
    assert [t["dg"]["S"] for t in texts] == ["d#5", "d#5"]
    stored = np.array([float(n["N"]) for n in texts[1]["e"]["L"]], dtype=np.float32)
    np.testing.assert_array_equal(stored, vectors[1])  # shortest float32 text round-trips exactly
    # The exact path still works on the same data.
    hits = store.search(org_id="o", bot_id="b", query=vectors[1], top_k=1, active={"d": 5})
    assert hits[0].chunk_id == "d-1"


def test_region_and_endpoint_build_a_client_lazily(aws):
    store = DynamoDBVectorStore(TABLE, region=REGION)
    create_table(store.client, TABLE)
    put(store, "d", 1, 2)
    assert store.count(org_id="o", bot_id="b") == 2
    assert os.environ["AWS_DEFAULT_REGION"] == REGION


@pytest.mark.parametrize("quantization", ["float32", "int8"])
def test_read_document_returns_the_float32_vectors_of_one_generation(ddb, quantization):
    store = DynamoDBVectorStore(
        TABLE, client=ddb, sleep=lambda _: None, quantization=quantization, block_size=4
    )
    vectors = clustered_unit_vectors(10, seed=3)
    store.upsert(org_id="o", bot_id="b", document_id="d", generation=2, items=make_items("d", vectors))
    store.upsert(org_id="o", bot_id="b", document_id="d", generation=3, items=make_items("d", vectors[:2]))

    read = store.read_document(org_id="o", bot_id="b", document_id="d", generation=2)

    assert [item.ordinal for item in read] == list(range(10))
    assert [item.chunk_id for item in read] == [item.chunk_id for item in make_items("d", vectors)]
    # int8 blocks are lossy, but the text items keep the exact float32 copy.
    assert np.array_equal(np.stack([item.vector for item in read]), vectors)
    assert read[0].metadata == make_items("d", vectors)[0].metadata
    assert store.read_document(org_id="o", bot_id="other", document_id="d", generation=2) == []
