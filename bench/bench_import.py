"""Qdrant import benchmark: a 10,000-point collection imported with `import_qdrant`'s service.

The collection (qdrant-client local mode, 384-d cosine, 100 documents × 100 passages, payload
`bot_id`/`document_id`/`text`/`chunk_index`) is written by the old stack's rules with the
deterministic fake embedder: generating 10,000 MiniLM vectors would take minutes, and the importer
does the same work whatever model made the vectors (it embeds only the 32-point space-check sample
and the 20 verification searches). Django runs on an isolated SQLite database with the database
vector store (`bench._django`).

- value: points/s of `qdrant_import(...)` end to end — scan, same-space check, per-document fetch,
  chunk rows, vector upserts, atomic activation, records, and the read-back/search verification;
- baseline: points/s of the irreducible part on the same data in the same process: one
  `client.scroll` of every point with payload and vectors, plus `Chunk.objects.bulk_create` and
  `store.upsert` of every passage, document by document, with no checks;
- memory: peak Python allocations (tracemalloc) during an untimed import without the verification
  searches, against the size of the collection's vectors as float32: the importer holds one document
  at a time, not the collection (`info` has the peak with verification, whose database-store search
  loads the bot's vectors like any question to that bot does).

Each round imports into a fresh bot (the source bot id is re-pointed at it), so every round writes
all 10,000 points; the fastest of `ROUNDS` counts for both sides. The collection is built in
qdrant-client's in-memory local mode: `--path` holds the collection in memory the same way once
opened, and pickling 10,000 points to disk would cost minutes of set-up.
"""

from __future__ import annotations

import gc
import resource
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/bench_import.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _django  # noqa: E402
from bench._common import main, row  # noqa: E402

DOCUMENTS, PASSAGES_PER_DOCUMENT = 100, 100
POINTS = DOCUMENTS * PASSAGES_PER_DOCUMENT
ROUNDS = 1
COLLECTION = "bench_chunks"
THROUGHPUT_GOAL = 0.5  # of the raw scroll + write baseline
MEMORY_GOAL = 0.5  # of the collection's vectors: one document at a time, not the collection


def _passage(document: int, index: int) -> str:
    return (
        f"Section {index} of manual {document}: the unit {document * 7 + index} must be serviced every "
        f"{(index % 12) + 1} months; replace filter type {chr(65 + index % 26)}{document % 10} and log the "
        f"visit under reference {document:03d}-{index:03d}."
    )


def _build_collection(embedder: Any) -> Any:
    from qdrant_client import QdrantClient, models

    # Local mode keeps a collection in memory either way (`--path` loads it all when opened); building
    # it in memory spares minutes of pickling 10,000 points to disk.
    client = QdrantClient(location=":memory:")
    client.create_collection(
        COLLECTION, vectors_config=models.VectorParams(size=embedder.dim, distance="Cosine")
    )
    for document in range(DOCUMENTS):
        texts = [_passage(document, i) for i in range(PASSAGES_PER_DOCUMENT)]
        vectors = embedder.embed(texts)
        client.upsert(
            COLLECTION,
            points=[
                models.PointStruct(
                    id=str(uuid.uuid4()),
                    vector=vector.tolist(),
                    payload={
                        "bot_id": "bench-bot",
                        "document_id": f"doc-{document:03d}",
                        "text": text,
                        "chunk_index": i,
                    },
                )  # fmt: skip
                for i, (text, vector) in enumerate(zip(texts, vectors, strict=True))
            ],
        )
    return client


def _fresh_bot(org: Any, user: Any, label: str) -> Any:
    from importers.models import ImportedRecord, Kind
    from importers.records import RecordIndex

    bot = _django.new_bot(org=org, user=user, name=f"Imported {label}")
    # As after import_supabase: the collection's bot id maps to this bot; earlier Qdrant records go.
    ImportedRecord.all_orgs.filter(source="qdrant").delete()
    RecordIndex("supabase").put(
        kind=Kind.BOT, source_id="bench-bot", org_id=org.pk, target_id=bot.pk, checksum=""
    )
    return bot


def _import(client: Any, embedder: Any, store: Any, verify_sample: int = 20) -> Any:
    from importers.mapping import load_mapping
    from importers.qdrant import qdrant_import
    from importers.qdrant_source import QdrantSource

    mapping = load_mapping(None).qdrant
    return qdrant_import(
        source=QdrantSource(client, collection=COLLECTION, mapping=mapping),
        mapping=mapping,
        embedder=embedder,
        store=store,
        verify_sample=verify_sample,
    )


def _baseline(client: Any, bot: Any, store: Any) -> float:
    """Seconds to read every point and write the same chunks and vectors with no import logic."""
    import numpy as np

    from documents.models import Chunk, Document

    started = time.perf_counter()
    by_document: dict[str, list[Any]] = {}
    offset = None
    while True:
        records, offset = client.scroll(
            COLLECTION, limit=1000, offset=offset, with_payload=True, with_vectors=True
        )
        for r in records:
            by_document.setdefault(r.payload["document_id"], []).append(r)
        if offset is None:
            break
    for source_id, records in by_document.items():
        document = Document.objects.create(org_id=bot.org_id, bot=bot, title=source_id, generation=1)
        chunks = Chunk.objects.bulk_create(
            [
                Chunk(
                    org_id=bot.org_id,
                    bot=bot,
                    document=document,
                    generation=1,
                    ordinal=i,
                    text=r.payload["text"],
                )
                for i, r in enumerate(records)
            ],
            batch_size=500,
        )
        from integrations.vectors.base import VectorItem

        store.upsert(
            org_id=str(bot.org_id),
            bot_id=str(bot.pk),
            document_id=str(document.pk),
            generation=1,
            items=[
                VectorItem(
                    str(c.pk), str(document.pk), c.ordinal, np.asarray(r.vector, dtype=np.float32), c.text
                )
                for c, r in zip(chunks, records, strict=True)
            ],
        )
    return time.perf_counter() - started


def _peak_mb(fn: Any) -> float:
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def run(rounds: int = ROUNDS) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="botwright-bench-import-") as workdir:
        _django.setup(Path(workdir), embedder="fake")
        from integrations.embeddings import get_embedder
        from integrations.vectors.factory import get_vector_store

        embedder, store = get_embedder(), get_vector_store()
        started = time.perf_counter()
        client = _build_collection(embedder)
        build_s = time.perf_counter() - started
        user, org = _django.tenant("import")

        import_s, baseline_s = [], []
        for n in range(rounds):
            gc.collect()
            _fresh_bot(org, user, f"round {n}")
            started = time.perf_counter()
            report = _import(client, embedder, store)
            import_s.append(time.perf_counter() - started)
            if not report.ok or report.entities["points"].counts["created"] != POINTS:
                raise RuntimeError(f"the bench import did not import every point:\n{report.render()}")
            gc.collect()
            baseline_s.append(
                _baseline(client, _django.new_bot(org=org, user=user, name=f"Baseline {n}"), store)
            )
        checks = {c["check"]: c for c in report.checks}

        # Memory: the import itself (no verification), then a whole run with the verification searches,
        # whose database-store search loads the bot's 10,000 vectors like any question to that bot.
        _fresh_bot(org, user, "memory")
        import_peak = _peak_mb(lambda: _import(client, embedder, store, verify_sample=0))
        _fresh_bot(org, user, "memory, verified")
        verified_peak = _peak_mb(lambda: _import(client, embedder, store))
        max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        client.close()

    best_import, best_baseline = min(import_s), min(baseline_s)
    value, baseline = POINTS / best_import, POINTS / best_baseline
    vectors_mb = POINTS * embedder.dim * 4 / 1e6
    return {
        "module": "import",
        "rows": [
            row(
                f"Qdrant import, {POINTS:,} points (384-d), database store",
                value,
                baseline,
                goal=f">= {THROUGHPUT_GOAL}x raw scroll + chunk/vector writes",
                ok=value >= THROUGHPUT_GOAL * baseline,
                unit="points/s",
            ),
            row(
                f"Qdrant import peak Python memory, {POINTS:,} points",
                import_peak,
                vectors_mb,
                goal=f"<= {MEMORY_GOAL}x the collection's float32 vectors",
                ok=import_peak <= MEMORY_GOAL * vectors_mb,
                unit="MB",
            ),
        ],
        "info": {
            "import_seconds": [round(s, 2) for s in import_s],
            "baseline_seconds": [round(s, 2) for s in baseline_s],
            "peak_mb_with_verification": round(verified_peak, 1),
            "process_max_rss_mb": round(max_rss, 1),
            "collection_build_seconds": round(build_s, 1),
            "vectors_read_back_min_cosine": checks.get("vectors_read_back", {}).get("min_cosine"),
            "embedder": embedder.name,
        },
    }


if __name__ == "__main__":
    main(run)
