"""import_qdrant against real Qdrant collections in local mode (qdrant-client, `--path`)."""

from __future__ import annotations

import json
import sys
import uuid
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from qdrant_client import QdrantClient, models

from documents.models import Chunk, Document
from documents.retrieval import retrieve
from documents.services import document_process, document_upload
from importers.mapping import load_mapping
from importers.models import ImportedRecord, Kind
from importers.qdrant import qdrant_import
from importers.qdrant_source import QdrantSource
from importers.records import RecordIndex
from integrations.embeddings import get_embedder
from integrations.embeddings.fake import FakeEmbedder
from integrations.models import ChunkVector
from integrations.vectors.factory import get_vector_store
from tests.factories import make_bot, make_org, make_user

from .conftest import storage_keys, world_counts

pytestmark = pytest.mark.django_db

COLLECTION = "kb_chunks"
PASSAGES = {
    "doc-warranty": [
        "The RoboVac has a two-year warranty covering the motor and the battery.",
        "To claim the warranty, email support with your order number and a photo.",
        "Accidental damage such as dropping the vacuum down the stairs is not covered.",
    ],
    "doc-returns": [
        "You can return any product within 30 days of delivery for a full refund.",
        "Refunds reach the original payment method within 14 days of the parcel arriving.",
    ],
    # Exists only in Qdrant: no file in Supabase Storage.
    "doc-hours": [
        "Our support desk answers chat messages from 9 am to 6 pm on weekdays.",
        "Outside those hours leave a message and we reply the next working day.",
    ],
}


class Killed(BaseException):
    """A run stopped from outside (SIGINT, a killed container)."""


def other_model(texts, dim=384):
    """Vectors of "another model": same texts, same dimension, unrelated coordinates."""
    rng = np.random.default_rng(7)
    permutation, signs = rng.permutation(dim), rng.choice([-1.0, 1.0], size=dim).astype(np.float32)
    return FakeEmbedder(dim).embed(texts)[:, permutation] * signs


def build_collection(
    path,
    *,
    embed=None,
    dim=384,
    distance=models.Distance.COSINE,
    bot_id="bot-support",
    extra_points=(),
    passages=PASSAGES,
):
    """A collection as the old stack wrote it: one point per passage, payload with ids and text."""
    embed = embed or (lambda texts: get_embedder().embed(texts))
    client = QdrantClient(path=str(path))
    client.create_collection(COLLECTION, vectors_config=models.VectorParams(size=dim, distance=distance))
    points = []
    for document_id, texts in passages.items():
        vectors = embed(texts)
        for index, (text, vector) in enumerate(zip(texts, vectors, strict=True)):
            payload = {
                "bot_id": bot_id,
                "document_id": document_id,
                "text": text,
                "chunk_index": index,
                "page": 1,
                "filename": f"{document_id}.md",
            }
            points.append(models.PointStruct(id=str(uuid.uuid4()), vector=vector.tolist(), payload=payload))
    points += list(extra_points)
    client.upsert(COLLECTION, points=points)
    client.close()
    return path


@pytest.fixture
def imported(org, owner):
    """What import_supabase left behind: a bot and two processed documents, keyed by source id."""
    bot = make_bot(org, "Acme Support")
    records = RecordIndex("supabase")
    records.put(kind=Kind.BOT, source_id="bot-support", org_id=org.pk, target_id=bot.pk, checksum="")
    docs = {}
    for source_id, name in (("doc-warranty", "warranty.md"), ("doc-returns", "returns.md")):
        text = "\n\n".join(PASSAGES[source_id]).encode()
        document, _ = document_upload(bot=bot, user=owner, data=text, filename=name, enqueue=False)
        document_process(document_id=str(document.pk), org_id=str(org.pk))
        records.put(
            kind=Kind.DOCUMENT, source_id=source_id, org_id=org.pk, target_id=document.pk, checksum=""
        )
        docs[source_id] = document
    return {"bot": bot, "documents": docs}


def run_import(path, *args, report=None):
    out = StringIO()
    extra = ["--report", str(report)] if report else []
    call_command(
        "import_qdrant",
        "--path",
        str(path),
        "--collection",
        COLLECTION,
        *args,
        *extra,
        stdout=out,
        stderr=StringIO(),
    )
    return out.getvalue()


def test_a_collection_from_the_current_embedder_imports_without_reembedding(
    imported, tmp_path, client_for, owner
):
    bad = [
        models.PointStruct(id=str(uuid.uuid4()), vector=[0.1] * 384, payload={}),
        models.PointStruct(
            id=str(uuid.uuid4()),
            vector=[0.1] * 384,
            payload={"bot_id": "bot-support", "document_id": "doc-returns", "text": ""},
        ),
    ]
    path = build_collection(tmp_path / "qdrant", extra_points=bad)
    output = run_import(path, report=tmp_path / "report.json")
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["failed"] == 0, output
    points, documents = report["entities"]["points"], report["entities"]["documents"]
    assert points["read"] == 9 and points["created"] == 7 and points["skipped"] == 2
    assert (documents["read"], documents["created"], documents["updated"]) == (3, 1, 2)
    checks = {c["check"]: c for c in report["checks"]}
    assert checks["same_vector_space"]["passed"] and checks["same_vector_space"]["median_cosine"] >= 0.9999
    assert checks["vectors_read_back"]["passed"] and checks["vectors_read_back"]["min_cosine"] >= 0.9999
    assert (
        checks["passage_found_by_own_text"]["found_first"]
        == checks["passage_found_by_own_text"]["sampled"]
        == 7
    )

    bot = imported["bot"]
    embedder = get_embedder()
    for source_id, texts in PASSAGES.items():
        record = ImportedRecord.all_orgs.get(kind=Kind.VECTORS, source_id=f"{COLLECTION}/{source_id}")
        document = Document.objects.for_org(bot.org).get(pk=record.target_id)
        assert document.bot_id == bot.pk and document.status == "ready"
        assert document.embedding_model == embedder.name and document.chunk_count == len(texts)
        chunks = Chunk.objects.for_org(bot.org).filter(document=document).order_by("ordinal")
        assert [c.text for c in chunks] == texts  # only the live generation is left, in the source's order
        stored = ChunkVector.objects.filter(document_id=str(document.pk)).order_by("ordinal")
        matrix = np.stack([np.frombuffer(bytes(v.vector), dtype="<f4") for v in stored])
        assert np.allclose(matrix, embedder.embed(texts), atol=1e-5)
    # The document that existed only in Qdrant was created from its passages, stored like an upload.
    hours = Document.objects.for_org(bot.org).get(title="doc-hours")
    assert storage_keys().count(hours.storage_key) == 1
    # Chat answers from the imported vectors.
    top = retrieve(bot=bot, query="When does the support desk answer chat messages?", top_k=1)
    assert top[0].document_id == str(hours.pk)
    body = (
        client_for(owner)
        .post(
            f"/api/orgs/{bot.org_id}/bots/{bot.pk}/chat/",
            # The fake embedder has no measured similarity scale, so the answer decision also asks that
            # the question's words occur in the knowledge base (chat.answerability).
            {"message": "What does the RoboVac warranty cover?"},
            format="json",
        )
        .json()
    )
    assert "two-year warranty" in body["answer"] and body["unanswered"] is False


def test_dry_run_and_a_second_run_change_nothing(imported, tmp_path):
    path = build_collection(tmp_path / "qdrant")
    before = world_counts()
    output = run_import(path, "--dry-run", report=tmp_path / "dry.json")
    assert world_counts() == before and output.startswith("DRY RUN")
    dry = json.loads((tmp_path / "dry.json").read_text())
    assert dry["entities"]["points"]["created"] == 7 and dry["entities"]["documents"]["created"] == 1

    run_import(path)
    after_first = world_counts()
    generations = dict(Document.all_orgs.values_list("pk", "active_generation"))
    run_import(path, report=tmp_path / "again.json")
    assert world_counts() == after_first
    assert dict(Document.all_orgs.values_list("pk", "active_generation")) == generations
    again = json.loads((tmp_path / "again.json").read_text())
    assert again["entities"]["documents"]["unchanged"] == 3 and again["entities"]["points"]["unchanged"] == 7
    assert again["failed"] == 0 and {c["check"] for c in again["checks"]} >= {"vectors_read_back"}


def test_an_edited_passage_is_synced_and_only_its_document_rewritten(imported, tmp_path):
    path = build_collection(tmp_path / "qdrant")
    run_import(path)
    generations = dict(Document.all_orgs.values_list("pk", "active_generation"))
    client = QdrantClient(path=str(path))
    records, _ = client.scroll(COLLECTION, limit=100, with_payload=True)
    edited = next(
        r for r in records if r.payload["document_id"] == "doc-returns" and r.payload["chunk_index"] == 0
    )
    text = "You can return any product within 60 days of delivery for a full refund."
    client.upsert(
        COLLECTION,
        points=[
            models.PointStruct(
                id=edited.id,
                vector=get_embedder().embed([text])[0].tolist(),
                payload={**edited.payload, "text": text},
            )
        ],
    )
    client.close()
    run_import(path, report=tmp_path / "sync.json")
    report = json.loads((tmp_path / "sync.json").read_text())
    assert (
        report["entities"]["documents"]["updated"] == 1 and report["entities"]["documents"]["unchanged"] == 2
    )
    returns = imported["documents"]["doc-returns"]
    returns.refresh_from_db()
    assert returns.active_generation == generations[returns.pk] + 1
    assert Chunk.objects.for_org(returns.org).filter(document=returns, ordinal=0).get().text == text


def test_vectors_from_another_model_are_detected_and_reembed_fixes_it(imported, tmp_path):
    path = build_collection(tmp_path / "qdrant", embed=other_model)
    before = world_counts()
    with pytest.raises(CommandError) as excinfo:
        run_import(path, report=tmp_path / "refused.json")
    message = str(excinfo.value)
    assert excinfo.value.returncode == 2
    assert "not in the space of fake-hash-384" in message and "collection 'kb_chunks'" in message
    assert "Re-run with --reembed" in message
    assert world_counts() == before
    refused = json.loads((tmp_path / "refused.json").read_text())
    assert refused["checks"][0]["check"] == "same_vector_space" and not refused["checks"][0]["passed"]

    run_import(path, "--reembed", report=tmp_path / "reembedded.json")
    report = json.loads((tmp_path / "reembedded.json").read_text())
    assert report["failed"] == 0 and report["info"]["reembed"] is True
    document = imported["documents"]["doc-warranty"]
    stored = ChunkVector.objects.filter(document_id=str(document.pk)).order_by("ordinal")
    matrix = np.stack([np.frombuffer(bytes(v.vector), dtype="<f4") for v in stored])
    assert np.allclose(matrix, get_embedder().embed(PASSAGES["doc-warranty"]), atol=1e-5)


def test_another_dimension_is_detected_with_both_sizes_named(imported, tmp_path):
    path = build_collection(tmp_path / "qdrant", dim=768, embed=lambda texts: FakeEmbedder(768).embed(texts))
    with pytest.raises(CommandError) as excinfo:
        run_import(path)
    assert "768-dimensional vectors; fake-hash-384 makes 384-dimensional ones" in str(excinfo.value)
    run_import(path, "--reembed")
    assert Document.all_orgs.filter(status="ready", embedding_model="fake-hash-384").count() == 3


def test_named_vectors_in_a_dot_product_collection(imported, tmp_path):
    # Dot collections keep vectors as written (not normalised): Botwright stores unit vectors.
    path = tmp_path / "qdrant"
    client = QdrantClient(path=str(path))
    client.create_collection(
        COLLECTION,
        vectors_config={
            "dense": models.VectorParams(size=384, distance=models.Distance.DOT),
            "title": models.VectorParams(size=8, distance=models.Distance.COSINE),
        },
    )
    texts = PASSAGES["doc-warranty"]
    vectors = get_embedder().embed(texts) * 3.0
    client.upsert(
        COLLECTION,
        points=[
            models.PointStruct(
                id=i + 1,
                vector={"dense": v.tolist(), "title": [1.0] * 8},
                payload={"bot_id": "bot-support", "document_id": "doc-warranty", "text": t, "chunk_index": i},
            )
            for i, (t, v) in enumerate(zip(texts, vectors, strict=True))
        ],
    )
    client.close()
    with pytest.raises(CommandError, match="several named vectors \\(dense, title\\)"):
        run_import(path)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("qdrant:\n  vector: dense\n")
    run_import(path, "--mapping", str(mapping), report=tmp_path / "r.json")
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["failed"] == 0 and report["info"]["collection"]["distance"] == "Dot"
    document = imported["documents"]["doc-warranty"]
    stored = ChunkVector.objects.filter(document_id=str(document.pk)).order_by("ordinal")
    matrix = np.stack([np.frombuffer(bytes(v.vector), dtype="<f4") for v in stored])
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-5)


def test_a_euclid_collection_says_so_and_needs_reembed(imported, tmp_path):
    path = build_collection(tmp_path / "qdrant", distance=models.Distance.EUCLID)
    with pytest.raises(CommandError, match="ranks by Euclid distance"):
        run_import(path)
    run_import(path, "--reembed")
    assert Document.all_orgs.filter(status="ready").count() == 3


def test_a_point_never_lands_in_a_bot_of_another_org(imported, tmp_path):
    intruder_org = make_org("Globex", owner=make_user("boss@globex.example"))
    intruder_bot = make_bot(intruder_org, "Globex bot")
    RecordIndex("supabase").put(
        kind=Kind.BOT, source_id="bot-globex", org_id=intruder_org.pk, target_id=intruder_bot.pk, checksum=""
    )
    # The points of doc-warranty name Globex's bot, but the document lives in Acme's bot.
    path = build_collection(
        tmp_path / "qdrant", bot_id="bot-globex", passages={"doc-warranty": PASSAGES["doc-warranty"]}
    )
    before = world_counts()
    run_import(path, report=tmp_path / "r.json")
    report = json.loads((tmp_path / "r.json").read_text())
    problem = report["entities"]["documents"]["problems"][0]
    assert problem["outcome"] == "skipped" and "a passage never changes bot" in problem["reason"]
    assert report["entities"]["points"]["skipped"] == 3
    assert world_counts() == before
    assert not Chunk.objects.for_org(intruder_org).exists()


def test_points_of_one_document_naming_two_bots_are_refused(imported, tmp_path):
    client = QdrantClient(path=str(tmp_path / "qdrant"))
    client.create_collection(
        COLLECTION, vectors_config=models.VectorParams(size=384, distance=models.Distance.COSINE)
    )
    vectors = get_embedder().embed(["alpha passage", "beta passage"])
    client.upsert(
        COLLECTION,
        points=[
            models.PointStruct(
                id=1,
                vector=vectors[0].tolist(),
                payload={"bot_id": "bot-support", "document_id": "doc-x", "text": "alpha passage"},
            ),
            models.PointStruct(
                id=2,
                vector=vectors[1].tolist(),
                payload={"bot_id": "bot-other", "document_id": "doc-x", "text": "beta passage"},
            ),
        ],
    )
    client.close()
    run_import(tmp_path / "qdrant", report=tmp_path / "r.json")
    report = json.loads((tmp_path / "r.json").read_text())
    assert "several bots" in report["entities"]["documents"]["problems"][0]["reason"]
    assert not Document.all_orgs.filter(title="doc-x").exists()


def test_a_run_killed_half_way_is_completed_by_the_next_run(imported, tmp_path):
    path = build_collection(tmp_path / "qdrant")
    store = get_vector_store()

    class DiesOnSecondWrite:
        def __init__(self):
            self.upserts = 0

        def __getattr__(self, name):
            return getattr(store, name)

        def upsert(self, **kwargs):
            self.upserts += 1
            if self.upserts == 2:
                store.upsert(**{**kwargs, "items": kwargs["items"][:1]})  # half a batch reached the store
                raise Killed()
            return store.upsert(**kwargs)

    mapping = load_mapping(None).qdrant
    source = QdrantSource(QdrantClient(path=str(path)), collection=COLLECTION, mapping=mapping)
    with pytest.raises(Killed):
        qdrant_import(source=source, mapping=mapping, embedder=get_embedder(), store=DiesOnSecondWrite())
    source.close()
    # The first document finished; the second was left half-written (not live) by the "kill".
    assert ImportedRecord.all_orgs.filter(kind=Kind.VECTORS).count() == 1

    run_import(path, report=tmp_path / "r.json")
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["failed"] == 0
    assert report["entities"]["documents"]["unchanged"] == 1
    for document in Document.all_orgs.all():
        assert document.status == "ready"
        live = Chunk.objects.for_org(document.org_id).filter(document=document)
        assert set(live.values_list("generation", flat=True)) == {document.active_generation}  # no leftovers
        assert ChunkVector.objects.filter(document_id=str(document.pk)).count() == live.count()
    assert Chunk.all_orgs.count() == ChunkVector.objects.count() == 7


def test_missing_bots_are_reported_and_the_rest_imports(imported, tmp_path):
    passages = {**PASSAGES, "doc-elsewhere": ["A passage of a bot that was never imported."]}
    path = build_collection(tmp_path / "qdrant", passages=passages)
    client = QdrantClient(path=str(path))
    records, _ = client.scroll(COLLECTION, limit=100, with_payload=True)
    lost = next(r for r in records if r.payload["document_id"] == "doc-elsewhere")
    client.set_payload(COLLECTION, payload={"bot_id": "bot-never-imported"}, points=[lost.id])
    client.close()
    run_import(path, report=tmp_path / "r.json")
    report = json.loads((tmp_path / "r.json").read_text())
    problem = report["entities"]["documents"]["problems"][0]
    assert (
        problem["source_id"] == "doc-elsewhere" and "bot-never-imported was not imported" in problem["reason"]
    )
    assert report["entities"]["points"]["created"] == 7 and report["failed"] == 0


def test_without_qdrant_client_the_command_says_how_to_install_it(db, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "qdrant_client", None)  # what an install without the extra looks like
    with pytest.raises(CommandError) as excinfo:
        run_import(tmp_path / "qdrant")
    assert "pip install -e '.[migration]'" in str(excinfo.value)


def test_an_unknown_collection_is_a_clear_error(db, tmp_path):
    QdrantClient(path=str(tmp_path / "qdrant")).close()
    with pytest.raises(CommandError, match="Qdrant has no collection 'kb_chunks'"):
        run_import(tmp_path / "qdrant")


@pytest.mark.slow
def test_real_minilm_vectors_import_without_reembedding(imported, tmp_path):
    """The production embedder: a collection made with all-MiniLM-L6-v2 passes the space check as is."""
    minilm = get_embedder("minilm")
    path = build_collection(tmp_path / "qdrant", embed=minilm.embed)
    mapping = load_mapping(None).qdrant
    source = QdrantSource(QdrantClient(path=str(path)), collection=COLLECTION, mapping=mapping)
    try:
        report = qdrant_import(source=source, mapping=mapping, embedder=minilm, store=get_vector_store())
    finally:
        source.close()
    checks = {c["check"]: c for c in report.to_dict()["checks"]}
    assert report.ok, report.render()
    assert checks["same_vector_space"]["min_cosine"] >= 0.9999
    assert checks["vectors_read_back"]["min_cosine"] >= 0.9999
    assert checks["passage_found_by_own_text"]["passed"]
    assert set(Document.all_orgs.values_list("embedding_model", flat=True)) == {minilm.name}
    # And a fake-embedder collection is not MiniLM's space.
    other = build_collection(tmp_path / "other", embed=FakeEmbedder().embed)
    source = QdrantSource(QdrantClient(path=str(other)), collection=COLLECTION, mapping=mapping)
    from tenants.errors import InvalidInput

    with pytest.raises(InvalidInput, match="not in the space of"):
        qdrant_import(source=source, mapping=mapping, embedder=minilm, store=get_vector_store())
    source.close()


def test_vectors_land_in_a_dynamodb_store_too(aws, imported, tmp_path):
    """The configured VectorStore decides where vectors go: here DynamoDB (moto), keyed by the org."""
    import boto3

    from integrations.vectors.dynamodb import DynamoDBVectorStore, create_table, tenant_pk

    path = build_collection(tmp_path / "qdrant")
    mapping = load_mapping(None).qdrant
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    create_table(ddb, "vectors")
    store = DynamoDBVectorStore("vectors", client=ddb, sleep=lambda _: None)
    source = QdrantSource(QdrantClient(path=str(path)), collection=COLLECTION, mapping=mapping)
    try:
        report = qdrant_import(source=source, mapping=mapping, embedder=get_embedder(), store=store)
    finally:
        source.close()
    assert report.ok, report.render()
    bot = imported["bot"]
    assert store.count(org_id=str(bot.org_id), bot_id=str(bot.pk)) == 7
    partition = tenant_pk(str(bot.org_id), str(bot.pk))
    assert partition.startswith(str(bot.org_id))
    checks = {c["check"]: c for c in report.checks}
    assert checks["vectors_read_back"]["min_cosine"] >= 0.9999
    assert checks["passage_found_by_own_text"]["found_first"] == 7
