"""Ingest benchmark: end-to-end chunks/s against raw MiniLM throughput on the same chunks (goal ≥ 0.85×).

The document is a 60-page generated operations manual (``bench._corpus``, ~350 chunks) built as a real
PDF with ``documents.samples.build_pdf``. Django runs against an isolated SQLite database in a temporary
folder (``bench._django``), with the real all-MiniLM-L6-v2 embedder and the database vector store.

- value: chunks / wall time of ``document_upload(..., enqueue=False)`` + ``document_process(...)`` —
  storage write, extraction in its child process, chunking, chunk rows, embedding in batches, vector
  upserts, progress updates and the activation transaction;
- baseline: chunks / wall time of one ``embedder.embed(texts)`` call on exactly the strings the pipeline
  embedded (read back from the document's ``Chunk`` rows through the pipeline's own
  ``embedding_text``, and checked against what the embedder actually received), same embedder and
  batch size.

The model is loaded (and a 2-page document ingested) before timing, so neither side pays imports. The
pipeline and the baseline alternate in rounds, swapping which goes first (a fresh bot for each pipeline
run, since the same bytes in the same bot are deduplicated), and the fastest run of each counts: other
processes only ever slow a run down, and on a shared 2-core machine the same encode was seen to take
anywhere from 6.5 s to 20 s. At least ``MIN_ROUNDS`` rounds run; more (up to ``MAX_ROUNDS``, while
within ``ROUNDS_BUDGET_S``) until the two fastest runs of each side agree within 10 %. The pipeline's
embedder and store are thin timing proxies around the configured ones (one ``perf_counter`` per batch),
which gives the breakdown in ``info`` without patching the app.
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/bench_ingest.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _django  # noqa: E402
from bench._common import main, row  # noqa: E402
from bench._corpus import manual_pages  # noqa: E402

PAGES = 60
MIN_ROUNDS, MAX_ROUNDS = 3, 6
# Extra rounds (beyond MIN_ROUNDS) start only while the timed loop has run for less than this.
ROUNDS_BUDGET_S = 75.0
GOAL = 0.85
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


def _torch_info() -> dict[str, Any]:
    import torch

    return {"torch": torch.__version__, "torch_threads": torch.get_num_threads()}


def _settled(samples: list[float], tolerance: float = 0.1) -> bool:
    """Whether the two fastest runs agree within ``tolerance``: both likely ran on a quiet machine."""
    if len(samples) < 2:
        return False
    fastest, second = sorted(samples)[:2]
    return second <= fastest * (1 + tolerance)


def _measure(
    pages: int, *, min_rounds: int, max_rounds: int, budget_s: float
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from django.conf import settings

    from documents.chunking import chunk_document
    from documents.extract import extract_with_timeout
    from documents.samples import build_pdf
    from integrations.embeddings import get_embedder
    from integrations.vectors.factory import get_vector_store

    embedder = get_embedder("minilm")
    start = time.perf_counter()
    embedder.embed(["Load the model before anything is timed."])
    load_s = time.perf_counter() - start

    user, org = _django.tenant("ingest")
    warm_bot = _django.new_bot(org=org, user=user, name="Warm-up")
    _django.ingest(
        bot=warm_bot, user=user, data=build_pdf(manual_pages(2, seed=99)), filename="warm.pdf", title="Warm"
    )

    data = build_pdf(manual_pages(pages), title=TITLE)
    timed_embedder = _TimedEmbedder(embedder)
    timed_store = _TimedStore(get_vector_store())
    texts: list[str] | None = None
    pipeline_s: list[float] = []
    baseline_s: list[float] = []
    breakdowns: list[dict[str, float]] = []
    rounds, loop_started = 0, time.perf_counter()
    while rounds < min_rounds or not (
        (_settled(pipeline_s) and _settled(baseline_s))
        or rounds >= max_rounds
        or time.perf_counter() - loop_started > budget_s
    ):
        # Alternate which side goes first, so a slow drift in machine load hits both alike.
        order = ("baseline", "pipeline") if rounds % 2 and texts is not None else ("pipeline", "baseline")
        rounds += 1
        for side in order:
            gc.collect()
            if side == "baseline":
                assert texts is not None
                start = time.perf_counter()
                vectors = embedder.embed(texts)
                baseline_s.append(time.perf_counter() - start)
                if len(vectors) != len(texts):
                    raise AssertionError("the embedder returned a different number of vectors")
                continue
            bot = _django.new_bot(org=org, user=user, name=f"Ingest {rounds}")
            timed_embedder.reset()
            timed_store.reset()
            start = time.perf_counter()
            document = _django.ingest(
                bot=bot,
                user=user,
                data=data,
                filename="operations-manual.pdf",
                title=TITLE,
                embedder=timed_embedder,
                store=timed_store,
            )
            pipeline_s.append(time.perf_counter() - start)
            breakdowns.append(
                {
                    "embed_s": round(timed_embedder.seconds, 3),
                    "embed_calls": timed_embedder.calls,
                    **{f"store_{name}_s": round(s, 3) for name, s in sorted(timed_store.seconds.items())},
                }
            )
            if texts is None:
                texts = _django.chunk_embedding_texts(document)
                if texts != timed_embedder.texts:
                    raise AssertionError("the baseline texts differ from the strings the pipeline embedded")

    assert texts is not None
    n = len(texts)
    best = min(range(len(pipeline_s)), key=lambda i: pipeline_s[i])
    pipeline, baseline = n / pipeline_s[best], n / min(baseline_s)

    # Where the rest of the pipeline's time goes, measured on its own after the timed runs.
    start = time.perf_counter()
    extracted = extract_with_timeout(
        data, "pdf", timeout_s=settings.DOCUMENT_EXTRACT_TIMEOUT_S, max_pages=settings.DOCUMENT_MAX_PAGES
    )
    extract_s = time.perf_counter() - start
    start = time.perf_counter()
    chunk_document(extracted)
    chunk_s = time.perf_counter() - start

    breakdown = breakdowns[best]
    accounted = breakdown["embed_s"] + sum(v for k, v in breakdown.items() if k.startswith("store_"))
    info = {
        "chunks": n,
        "pages": pages,
        "pdf_bytes": len(data),
        "pipeline_s": [round(s, 3) for s in pipeline_s],
        "baseline_embed_s": [round(s, 3) for s in baseline_s],
        "rounds": rounds,
        "best_pipeline_breakdown": {
            **breakdown,
            "extract_child_s": round(extract_s, 3),
            "chunking_s": round(chunk_s, 3),
            "other_s": round(pipeline_s[best] - accounted - extract_s - chunk_s, 3),
        },
        "model_load_s": round(load_s, 2),
        "embed_batch_pipeline": _embed_batch(),
        "encode_batch_size": getattr(embedder, "batch_size", None),
        **_torch_info(),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
    }
    rows = [
        row(
            f"ingest end-to-end, {pages}-page PDF, {n} chunks (vs raw MiniLM encode)",
            pipeline,
            baseline,
            goal=f">= {GOAL}x",
            ok=pipeline >= GOAL * baseline,
            unit="chunks/s",
        )
    ]
    return rows, info


def _embed_batch() -> int | None:
    from documents import services

    return getattr(services, "EMBED_BATCH", None)


def run(
    *,
    pages: int = PAGES,
    min_rounds: int = MIN_ROUNDS,
    max_rounds: int = MAX_ROUNDS,
    budget_s: float = ROUNDS_BUDGET_S,
) -> dict[str, Any]:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="botwright-bench-ingest-") as workdir:
        _django.setup(Path(workdir))
        rows, info = _measure(pages, min_rounds=min_rounds, max_rounds=max_rounds, budget_s=budget_s)
    info["runtime_s"] = round(time.perf_counter() - started, 1)
    return {"module": "ingest", "rows": rows, "info": info}


if __name__ == "__main__":
    main(run)
