"""Embedding benchmarks: ingest end to end and query latency, the ONNX default against the torch path.

The document is a 60-page generated operations manual (``bench._corpus``, ~350 chunks) built as a real
PDF with ``documents.samples.build_pdf``. Django runs against an isolated SQLite database in a temporary
folder (``bench._django``) with the database vector store. Both embedders are all-MiniLM-L6-v2: the
default ``EMBEDDER=minilm`` (ONNX Runtime, no torch) and ``EMBEDDER=sentence-transformers`` (torch, what
``make run`` used before); both run with their default thread counts.

Rows, each against a baseline measured in the same run:

1. ingest end to end with ONNX against the same pipeline with the torch embedder, chunks/s of
   ``document_upload(..., enqueue=False)`` + ``document_process(...)`` — storage write, extraction in
   its child process, chunking, chunk rows, embedding in batches, vector upserts, progress updates and
   the activation transaction (goal ≥ 1.7×);
2. the same ONNX pipeline against one raw ``embed()`` of exactly the strings it embedded (read back with
   the pipeline's own ``embedding_text`` and checked against what the embedder received): the
   pipeline's own overhead (goal ≥ 0.85×);
3. query embedding + search p50 with ONNX against the torch embedder: ``embed_query(question)`` then
   ``store.search(...)`` on the bot's cached matrix, over ``QUESTIONS`` questions, the two interleaved
   question by question (goal ≤ 0.6×).

Everything is loaded and warmed before timing (both models, a 2-page document through each pipeline).
The sides alternate in rounds, swapping which goes first (a fresh bot for each pipeline run, since the
same bytes in the same bot are deduplicated), and the fastest run of each counts: other processes only
ever slow a run down, and on a shared 2-core machine the same encode was seen to take anywhere from
6.5 s to 20 s. At least ``MIN_ROUNDS`` rounds run; more (up to ``MAX_ROUNDS``, while within
``ROUNDS_BUDGET_S``) until the two fastest runs of each side agree within 10 %. The pipeline's embedder
and store are thin timing proxies around the real ones, which gives the breakdown in ``info``.
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/bench_ingest.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _django  # noqa: E402
from bench._common import INFO, main, p50_ms, row  # noqa: E402
from bench._corpus import manual_pages, questions  # noqa: E402

PAGES = 60
QUESTIONS = 60
MIN_ROUNDS, MAX_ROUNDS = 3, 6
# Extra rounds (beyond MIN_ROUNDS) start only while the timed loop has run for less than this.
ROUNDS_BUDGET_S = 120.0
INGEST_GOAL = 1.7  # ONNX end to end vs the torch path
OVERHEAD_GOAL = 0.85  # pipeline vs raw embed, ONNX
QUERY_GOAL = 0.6  # ONNX query embedding + search p50 vs the torch path
TITLE = "Botwright Demo Co. Operations Manual"


class _TimedEmbedder:
    """Delegates to an embedder, adding up the time spent in ``embed`` and recording the texts."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.reset()

    def reset(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> Any:
        start = time.perf_counter()
        vectors = self.inner.embed(texts)
        self.seconds += time.perf_counter() - start
        self.calls += 1
        self.texts.extend(texts)
        return vectors

    def embed_query(self, text: str) -> Any:
        return self.embed([text])[0]


class _TimedStore:
    """Delegates to a vector store, adding up the time spent per method."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.reset()

    def reset(self) -> None:
        self.seconds: dict[str, float] = {}

    def __getattr__(self, method: str) -> Any:
        target = getattr(self.inner, method)
        if not callable(target):
            return target

        def timed_call(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return target(*args, **kwargs)
            finally:
                self.seconds[method] = self.seconds.get(method, 0.0) + time.perf_counter() - start

        return timed_call


def _settled(samples: list[float], tolerance: float = 0.1) -> bool:
    """Whether the two fastest runs agree within ``tolerance``: both likely ran on a quiet machine."""
    if len(samples) < 2:
        return False
    fastest, second = sorted(samples)[:2]
    return second <= fastest * (1 + tolerance)


def _torch_info() -> dict[str, Any]:
    import torch

    return {"torch": torch.__version__, "torch_threads": torch.get_num_threads()}


def _rounds(
    sides: dict[str, Callable[[int], float]], *, min_rounds: int, max_rounds: int, budget_s: float
) -> dict[str, list[float]]:
    """Seconds per side and round; the order rotates each round, stopping once every side settled."""
    names = list(sides)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    rounds, started = 0, time.perf_counter()
    while rounds < min_rounds or not (
        all(_settled(s) for s in seconds.values())
        or rounds >= max_rounds
        or time.perf_counter() - started > budget_s
    ):
        shift = rounds % len(names)
        rounds += 1
        for name in names[shift:] + names[:shift]:
            gc.collect()
            seconds[name].append(sides[name](rounds))
    return seconds


def _measure(
    pages: int, *, n_questions: int, min_rounds: int, max_rounds: int, budget_s: float
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from documents.samples import build_pdf
    from documents.selectors import active_generations
    from integrations.embeddings import get_embedder
    from integrations.vectors.factory import get_vector_store

    embedders = {"onnx": get_embedder("minilm"), "torch": get_embedder("sentence-transformers")}
    load_s = {}
    for side, embedder in embedders.items():
        start = time.perf_counter()
        embedder.embed(["Load the model before anything is timed."])
        load_s[side] = round(time.perf_counter() - start, 2)

    user, org = _django.tenant("ingest")
    warm = build_pdf(manual_pages(2, seed=99))
    for side, embedder in embedders.items():
        bot = _django.new_bot(org=org, user=user, name=f"Warm-up {side}")
        _django.ingest(bot=bot, user=user, data=warm, filename="warm.pdf", title="Warm", embedder=embedder)

    data = build_pdf(manual_pages(pages), title=TITLE)
    store = _TimedStore(get_vector_store())
    timed = {side: _TimedEmbedder(embedder) for side, embedder in embedders.items()}
    breakdowns: dict[str, list[dict[str, float]]] = {side: [] for side in embedders}
    bots: dict[str, Any] = {}
    texts: list[str] = []

    def pipeline(side: str) -> Callable[[int], float]:
        def run_once(round_no: int) -> float:
            nonlocal texts
            bot = _django.new_bot(org=org, user=user, name=f"Ingest {side} {round_no}")
            timed[side].reset()
            store.reset()
            start = time.perf_counter()
            document = _django.ingest(
                bot=bot,
                user=user,
                data=data,
                filename="operations-manual.pdf",
                title=TITLE,
                embedder=timed[side],
                store=store,
            )
            elapsed = time.perf_counter() - start
            bots[side] = bot
            breakdowns[side].append(
                {
                    "embed_s": round(timed[side].seconds, 3),
                    **{f"store_{name}_s": round(s, 3) for name, s in sorted(store.seconds.items())},
                }
            )
            if not texts:
                texts = _django.chunk_embedding_texts(document)
            if texts != timed[side].texts:
                raise AssertionError("the texts differ from the strings the pipeline embedded")
            return elapsed

        return run_once

    def raw(side: str) -> Callable[[int], float]:
        def run_once(_: int) -> float:
            start = time.perf_counter()
            vectors = embedders[side].embed(texts)
            elapsed = time.perf_counter() - start
            if len(vectors) != len(texts):
                raise AssertionError("the embedder returned a different number of vectors")
            return elapsed

        return run_once

    # The pipelines first (they produce the texts the raw embeds are timed on), then all four rotate.
    pipeline("onnx")(0)
    seconds = _rounds(
        {
            "pipeline_onnx": pipeline("onnx"),
            "pipeline_torch": pipeline("torch"),
            "raw_onnx": raw("onnx"),
            "raw_torch": raw("torch"),
        },
        min_rounds=min_rounds,
        max_rounds=max_rounds,
        budget_s=budget_s,
    )
    n = len(texts)
    rate = {side: n / min(s) for side, s in seconds.items()}

    # Query embedding + search: the ONNX-indexed bot, both embedders (same model name, same vectors).
    bot = bots["onnx"]
    active = active_generations(bot=bot)
    asked = questions(n_questions)
    query_ms: dict[str, list[float]] = {"onnx": [], "torch": []}
    hits_agree = 0

    def query(side: str, i: int) -> list[str]:
        vector = embedders[side].embed_query(asked[i])
        hits = store.inner.search(
            org_id=str(org.pk), bot_id=str(bot.pk), query=vector, top_k=bot.top_k, active=active
        )
        return [h.chunk_id for h in hits]

    for side in query_ms:  # warm: the bot's matrix is cached after the first search
        query(side, 0)
    for i in range(n_questions):
        order = ("onnx", "torch") if i % 2 else ("torch", "onnx")
        results = {}
        for side in order:
            start = time.perf_counter()
            results[side] = query(side, i)
            query_ms[side].append(time.perf_counter() - start)
        hits_agree += results["onnx"] == results["torch"]
    query_p50 = {side: p50_ms(s) for side, s in query_ms.items()}

    rows = [
        row(
            f"ingest end-to-end, {pages}-page PDF, {n} chunks: ONNX (vs torch path)",
            rate["pipeline_onnx"],
            rate["pipeline_torch"],
            goal=f">= {INGEST_GOAL}x",
            ok=rate["pipeline_onnx"] >= INGEST_GOAL * rate["pipeline_torch"],
            unit="chunks/s",
        ),
        row(
            f"ingest end-to-end, {n} chunks, ONNX (vs raw ONNX embed of the same texts)",
            rate["pipeline_onnx"],
            rate["raw_onnx"],
            goal=f">= {OVERHEAD_GOAL}x",
            ok=rate["pipeline_onnx"] >= OVERHEAD_GOAL * rate["raw_onnx"],
            unit="chunks/s",
        ),
        row(
            f"raw embed of the {n} chunks: ONNX (vs torch)",
            rate["raw_onnx"],
            rate["raw_torch"],
            goal=INFO,
            unit="chunks/s",
        ),
        row(
            f"query embedding + search p50, {n} chunks: ONNX (vs torch path)",
            query_p50["onnx"],
            query_p50["torch"],
            goal=f"<= {QUERY_GOAL}x",
            ok=query_p50["onnx"] <= QUERY_GOAL * query_p50["torch"],
            unit="ms",
        ),
    ]
    info = {
        "chunks": n,
        "pages": pages,
        "pdf_bytes": len(data),
        "seconds": {side: [round(x, 3) for x in s] for side, s in seconds.items()},
        "best_breakdown": {
            side: runs[min(range(len(runs)), key=lambda i: runs[i]["embed_s"])]
            for side, runs in breakdowns.items()
        },
        "model_load_s": load_s,
        "query_p90_ms": {side: round(sorted(s)[int(0.9 * len(s))] * 1000, 2) for side, s in query_ms.items()},
        "query_mean_ms": {side: round(statistics.mean(s) * 1000, 2) for side, s in query_ms.items()},
        "questions_with_identical_hits": f"{hits_agree}/{n_questions}",
        "onnx_threads": os.environ.get("ONNX_INTRA_OP_THREADS") or "onnxruntime default",
        **_torch_info(),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
    }
    return rows, info


def run(
    *,
    pages: int = PAGES,
    n_questions: int = QUESTIONS,
    min_rounds: int = MIN_ROUNDS,
    max_rounds: int = MAX_ROUNDS,
    budget_s: float = ROUNDS_BUDGET_S,
) -> dict[str, Any]:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="botwright-bench-ingest-") as workdir:
        _django.setup(Path(workdir))
        rows, info = _measure(
            pages, n_questions=n_questions, min_rounds=min_rounds, max_rounds=max_rounds, budget_s=budget_s
        )
    info["runtime_s"] = round(time.perf_counter() - started, 1)
    return {"module": "ingest", "rows": rows, "info": info}


if __name__ == "__main__":
    main(run)
