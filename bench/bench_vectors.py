"""Vector-search benchmarks: exact top-k latency and DynamoDB bytes read per query, cold and warm.

(a) ``exact.top_k`` against a plain numpy brute force (``scores = M @ q; argsort(-scores)[:k]``) over the
    same float32 matrix, p50 latency over 50 queries at 10k and 100k chunks (goal: ≤ 1.5× the plain one).
(b) ``DynamoDBVectorStore`` on moto (in-process), every query cold (cache off): bytes read per exact
    query for N chunks against ``N × 1536`` (the raw float32 size of N 384-d vectors) — goals ≤ 1.1×
    (float32) and ≤ 0.3× (int8) — and the int8 store's recall@10 against the float32 store (≥ 0.99).
(c) Warm queries at N = 10,000 (float32): the container's matrix cache serves the vectors, so a warm
    query reads only the winners' texts — goal ≤ 1 % of ``N × 1536``; the first (cold) query of a store
    with the cache reads exactly what a store without it reads (goal: the same bytes); and the cache's
    memory stays within ``VECTOR_CACHE_MAX_BYTES`` while more bots than fit are searched. Bytes are
    counted from DynamoDB's responses (botocore's ``after-call`` event, AWS's item-size rules), not from
    the store's own counter.

Data: unit vectors around random cluster centres (fixed seed), queries near stored vectors.

``run()`` returns ``{"module": "vectors", "rows": [...], "info": {...}}``; each row is
``{"name", "value", "baseline", "ratio", "goal", "ok"}``. ``python -m bench.bench_vectors`` prints the
JSON and a table. Runtime: about a minute on 2 cores (most of it writing 10,000 chunks into moto).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # `python bench/bench_vectors.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from integrations.vectors import exact  # noqa: E402

DIM = 384
TOP_K = 10
SEED = 1234


def clustered_unit_vectors(
    n: int, *, dim: int = DIM, clusters: int = 50, spread: float = 0.8, seed: int = SEED
) -> np.ndarray:
    """``n`` unit vectors scattered around ``clusters`` random centres (cosine to centre ≈ 0.75)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    points = centres[rng.integers(0, clusters, n)]
    points += rng.standard_normal((n, dim)).astype(np.float32) * np.float32(spread / np.sqrt(dim))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points


def queries_near(points: np.ndarray, count: int, *, seed: int = SEED + 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    picked = points[rng.choice(len(points), count, replace=False)]
    queries = picked + rng.standard_normal(picked.shape).astype(np.float32) * np.float32(0.3 / np.sqrt(DIM))
    return (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)


def _row(name: str, value: float, baseline: float, goal: str, ok: bool, unit: str = "") -> dict[str, Any]:
    return {
        "name": name,
        "value": round(value, 4),
        "baseline": round(baseline, 4),
        "ratio": round(value / baseline, 4) if baseline else None,
        "goal": goal,
        "ok": bool(ok),
        "unit": unit,
    }


def _p50_ms(fn: Callable[[np.ndarray], Any], queries: np.ndarray) -> float:
    times = []
    for query in queries:
        start = time.perf_counter()
        fn(query)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def bench_exact_latency(n: int, *, queries: int = 50) -> dict[str, Any]:
    matrix = clustered_unit_vectors(n)
    qs = queries_near(matrix, queries)

    def plain(query: np.ndarray) -> np.ndarray:
        scores = matrix @ query
        return np.argsort(-scores)[:TOP_K]

    def ours(query: np.ndarray) -> np.ndarray:
        return exact.top_k(matrix, query, TOP_K)[0]

    for query in qs[:5]:  # warm caches and BLAS threads; also check both agree
        if set(plain(query).tolist()) != set(ours(query).tolist()):
            raise AssertionError("exact.top_k disagrees with the brute force")
    # Alternate the two in rounds so drift in machine load hits both alike.
    ours_ms, plain_ms = [], []
    for _ in range(3):
        ours_ms.append(_p50_ms(ours, qs))
        plain_ms.append(_p50_ms(plain, qs))
    value, baseline = min(ours_ms), min(plain_ms)
    label = f"{n // 1000}k"
    return _row(
        f"exact top_k p50 latency, {label} chunks (vs numpy M@q + argsort)",
        value,
        baseline,
        "<= 1.5x",
        value <= 1.5 * baseline,
        "ms",
    )


def _fake_aws_credentials() -> None:
    # moto intercepts every call; boto3 still wants credentials to sign with.
    for name, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(name, value)


def bench_dynamodb(
    n: int = 2000, *, documents: int = 20, queries: int = 30
) -> tuple[list[dict[str, Any]], dict]:
    import boto3
    from moto import mock_aws

    from integrations.vectors.dynamodb import DynamoDBVectorStore, create_table

    _fake_aws_credentials()
    vectors = clustered_unit_vectors(n, seed=SEED + 2)
    qs = queries_near(vectors, queries, seed=SEED + 3)
    per_doc = n // documents
    raw = n * DIM * 4
    info: dict[str, Any] = {}
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, "bench-vectors")
        stores = {
            q: DynamoDBVectorStore("bench-vectors", client=client, quantization=q, cache_max_bytes=0)
            for q in ("float32", "int8")
        }
        active: dict[str, int] = {}
        for quantization, store in stores.items():
            start = time.perf_counter()
            active = _write_bot(store, vectors, bot_id=f"bot-{quantization}", documents=documents)
            info[f"dynamodb_{quantization}_upsert_s"] = round(time.perf_counter() - start, 3)

        results: dict[str, list[set[str]]] = {}
        bytes_read: dict[str, list[int]] = {}
        latency: dict[str, list[float]] = {}
        for quantization, store in stores.items():
            results[quantization], bytes_read[quantization], latency[quantization] = [], [], []
            for query in qs:
                start = time.perf_counter()
                hits = store.search(
                    org_id="org-bench", bot_id=f"bot-{quantization}", query=query, top_k=TOP_K, active=active
                )
                latency[quantization].append(time.perf_counter() - start)
                results[quantization].append({h.chunk_id for h in hits})
                bytes_read[quantization].append(store.bytes_read)
            info[f"dynamodb_{quantization}_search_p50_ms_moto"] = round(
                statistics.median(latency[quantization]) * 1000, 2
            )

    f32 = statistics.mean(bytes_read["float32"])
    i8 = statistics.mean(bytes_read["int8"])
    recall = sum(len(a & b) for a, b in zip(results["float32"], results["int8"], strict=True)) / (
        TOP_K * queries
    )
    # Ground truth for the float32 store itself: it must equal a brute force over the same vectors.
    truth = [
        {f"doc-{i // per_doc:04d}-{i % per_doc}" for i in exact.top_k(vectors, q, TOP_K)[0].tolist()}
        for q in qs
    ]
    info["dynamodb_float32_matches_brute_force"] = truth == results["float32"]
    rows = [
        _row(
            f"DynamoDB float32 bytes read per cold query, N={n}",
            f32,
            raw,
            "<= 1.1x N*1536",
            f32 <= 1.1 * raw,
            "B",
        ),
        _row(
            f"DynamoDB int8 bytes read per cold query, N={n}", i8, raw, "<= 0.3x N*1536", i8 <= 0.3 * raw, "B"
        ),
        _row(f"DynamoDB int8 recall@10 vs float32, N={n}", recall, 1.0, ">= 0.99", recall >= 0.99),
    ]
    return rows, info


class ResponseBytes:
    """DynamoDB item bytes and items in the client's responses, counted as DynamoDB sent them."""

    def __init__(self, client: Any) -> None:
        from integrations.vectors.dynamodb import item_size

        self._size = item_size
        self.bytes = self.items = 0
        client.meta.events.register("after-call.dynamodb", self._count)

    def _count(self, parsed: dict[str, Any], **_: Any) -> None:
        items = list(parsed.get("Items", []))
        items += [i for table in parsed.get("Responses", {}).values() for i in table]
        items += [r["Item"] for r in parsed.get("SearchResults", [])]
        self.items += len(items)
        self.bytes += sum(self._size(i) for i in items)

    def take(self) -> int:
        taken, self.bytes, self.items = self.bytes, 0, 0
        return taken


def _write_bot(store: Any, vectors: np.ndarray, *, bot_id: str, documents: int) -> dict[str, int]:
    from integrations.vectors.base import VectorItem

    per_doc = len(vectors) // documents
    text = "lorem ipsum dolor sit amet " * 20  # ~540 bytes, a short chunk
    active = {}
    for d in range(documents):
        doc = f"doc-{d:04d}"
        active[doc] = 1
        items = [
            VectorItem(
                chunk_id=f"{doc}-{i}",
                document_id=doc,
                ordinal=i,
                vector=vectors[d * per_doc + i],
                text=text,
                metadata={"page_start": 1, "page_end": 1, "heading_path": ["Bench"], "title": "Bench"},
            )
            for i in range(per_doc)
        ]
        store.upsert(org_id="org-bench", bot_id=bot_id, document_id=doc, generation=1, items=items)
    return active


def bench_dynamodb_warm(
    n: int = 10_000, *, documents: int = 50, queries: int = 20, other_bots: int = 3
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    import boto3
    from moto import mock_aws

    from integrations.vectors.dynamodb import DynamoDBVectorStore, create_table

    _fake_aws_credentials()
    vectors = clustered_unit_vectors(n, seed=SEED + 4)
    qs = queries_near(vectors, queries, seed=SEED + 5)
    raw = n * DIM * 4
    info: dict[str, Any] = {}
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, "bench-warm")
        writer = DynamoDBVectorStore("bench-warm", client=client, cache_max_bytes=0)
        start = time.perf_counter()
        active = _write_bot(writer, vectors, bot_id="big", documents=documents)
        small = {
            f"small-{b}": _write_bot(
                writer, clustered_unit_vectors(n // 4, seed=SEED + 10 + b), bot_id=f"small-{b}", documents=5
            )
            for b in range(other_bots)
        }
        info["dynamodb_warm_upsert_s"] = round(time.perf_counter() - start, 1)
        responses = ResponseBytes(client)

        # Room for the big bot and one small one: searching the others must evict, never exceed.
        one_big = n * (DIM * 4 + 8 + 4)
        bound = int(one_big * 1.5)
        cached = DynamoDBVectorStore("bench-warm", client=client, cache_max_bytes=bound)
        uncached = DynamoDBVectorStore("bench-warm", client=client, cache_max_bytes=0)

        search = dict(org_id="org-bench", bot_id="big", top_k=TOP_K, active=active)
        start = time.perf_counter()
        cold_hits = cached.search(query=qs[0], **search)
        cold_ms = (time.perf_counter() - start) * 1000
        cold_bytes = responses.take()
        start = time.perf_counter()
        plain_hits = uncached.search(query=qs[0], **search)
        uncached_ms = (time.perf_counter() - start) * 1000
        uncached_bytes = responses.take()
        if [h.chunk_id for h in cold_hits] != [h.chunk_id for h in plain_hits]:
            raise AssertionError("the cached store's cold query returned other hits")

        warm_bytes, warm_ms, peak = [], [], cached.matrix_cache.total_bytes
        truth_matches = 0
        for query in qs:
            start = time.perf_counter()
            hits = cached.search(query=query, **search)
            warm_ms.append(time.perf_counter() - start)
            if not cached.last_cache_hit:
                raise AssertionError("a warm query missed the cache")
            warm_bytes.append(responses.take())
            truth = {
                f"doc-{i // (n // documents):04d}-{i % (n // documents)}"
                for i in exact.top_k(vectors, query, TOP_K)[0]
            }
            truth_matches += truth == {h.chunk_id for h in hits}
        for bot_id, bot_active in small.items():  # other bots of the same container
            cached.search(org_id="org-bench", bot_id=bot_id, query=qs[0], top_k=TOP_K, active=bot_active)
            peak = max(peak, cached.matrix_cache.total_bytes)
        responses.take()

    warm = statistics.mean(warm_bytes)
    info.update(
        {
            "dynamodb_warm_query_p50_ms_moto": round(statistics.median(warm_ms) * 1000, 2),
            "dynamodb_cold_query_ms_moto": {
                "with_cache": round(cold_ms, 1),
                "without": round(uncached_ms, 1),
            },
            "dynamodb_warm_max_bytes_per_query": max(warm_bytes),
            "dynamodb_warm_matches_brute_force": f"{truth_matches}/{len(qs)}",
            "dynamodb_cache_bound_bytes": bound,
            "dynamodb_cache_entries_at_end": len(cached.matrix_cache),
        }
    )
    rows = [
        _row(
            f"DynamoDB warm query bytes read, N={n} (vs N*1536)",
            warm,
            raw,
            "<= 0.01x N*1536",
            max(warm_bytes) <= 0.01 * raw and truth_matches == len(qs),
            "B",
        ),
        _row(
            f"DynamoDB cold query bytes read with the cache, N={n} (vs without)",
            cold_bytes,
            uncached_bytes,
            "= 1.0x (cold unchanged)",
            cold_bytes == uncached_bytes,
            "B",
        ),
        _row(
            f"container cache memory, {1 + other_bots} bots (vs VECTOR_CACHE_MAX_BYTES)",
            peak,
            bound,
            "<= 1.0x",
            peak <= bound,
            "B",
        ),
    ]
    return rows, info


def run() -> dict[str, Any]:
    start = time.perf_counter()
    rows = [bench_exact_latency(10_000), bench_exact_latency(100_000)]
    dynamo_rows, info = bench_dynamodb()
    rows += dynamo_rows
    warm_rows, warm_info = bench_dynamodb_warm()
    rows += warm_rows
    info.update(warm_info)
    info["numpy"] = np.__version__
    info["openblas_coretype"] = os.environ.get("OPENBLAS_CORETYPE")
    info["runtime_s"] = round(time.perf_counter() - start, 1)
    return {"module": "vectors", "rows": rows, "info": info}


def format_table(result: dict[str, Any]) -> str:
    lines = [f"{'benchmark':<66} {'value':>12} {'baseline':>12} {'ratio':>7} {'goal':>15}  ok"]
    for row in result["rows"]:
        unit = f" {row['unit']}" if row.get("unit") else ""
        ratio = f"{row['ratio']:.3f}" if row["ratio"] is not None else "-"
        lines.append(
            f"{row['name']:<66} {str(row['value']) + unit:>12} {str(row['baseline']) + unit:>12} "
            f"{ratio:>7} {row['goal']:>15}  {'yes' if row['ok'] else 'NO'}"
        )
    lines += [f"  {key}: {value}" for key, value in result["info"].items()]
    return "\n".join(lines)


if __name__ == "__main__":
    result = run()
    print(json.dumps(result, indent=2))
    print()
    print(format_table(result))
    sys.exit(0 if all(row["ok"] for row in result["rows"]) else 1)
