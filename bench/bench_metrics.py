"""EMF metrics benchmark: what printing one metric line per chat turn costs, against not printing it.

Setup: the generated operations manual (``bench._corpus``, 20 pages) ingested with the fake embedder
(so the turn is mostly the app's own work, where an overhead would show), the extractive model.
Measured, interleaved per iteration so drift hits both alike:
(a) a chat turn (``chat_answer``) with ``METRICS_EMF=true``, the metrics logger writing to
    ``/dev/null`` through its production formatter; baseline: the same turn with metrics off.
    Goal: p50 ≤ 1.05× the baseline.
(b) informational: one ``EmfMetrics.emit`` of a turn's nine metrics (µs, p50), and the bytes of a
    chat and a document line — CloudWatch Logs ingests them (~$0.50/GB), so bytes × turns is their
    log cost.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _django  # noqa: E402
from bench._common import INFO, main, p50_ms, row  # noqa: E402
from bench._corpus import manual_pages, questions  # noqa: E402

ITERATIONS = 200
GOAL = 1.05


def _measure() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from django.conf import settings

    from chat.services import chat_answer
    from documents.samples import build_pdf
    from integrations.metrics import METRICS_LOGGER, MILLISECONDS, EmfMetrics, Metric

    lines: list[str] = []
    logger = logging.getLogger(METRICS_LOGGER)
    sink = open(os.devnull, "w")  # noqa: SIM115 — open for the whole run
    handler = logging.StreamHandler(sink)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.handlers = [handler]
    logger.addFilter(lambda record: lines.append(record.getMessage()) or True)
    settings.METRICS_STAGE = "bench"

    user, org = _django.tenant("metrics")
    bot = _django.new_bot(org=org, user=user, name="Support")
    settings.METRICS_EMF = True
    _django.ingest(
        bot=bot, user=user, data=build_pdf(manual_pages(20, seed=5)), filename="m.pdf", title="Manual"
    )
    document_line = lines[-1]
    asked = questions(ITERATIONS)
    seconds: dict[bool, list[float]] = {True: [], False: []}
    for i, question in enumerate(asked):
        for emf in (True, False) if i % 2 else (False, True):
            settings.METRICS_EMF = emf
            start = time.perf_counter()
            chat_answer(bot=bot, message=question)
            seconds[emf].append(time.perf_counter() - start)
    chat_line = lines[-1]

    emitter = EmfMetrics(namespace="Botwright", stage="bench", write=logger.info)
    metrics = [Metric(f"M{i}", 12.5, MILLISECONDS) for i in range(9)]
    emits = []
    for _ in range(2000):
        start = time.perf_counter()
        emitter.emit(metrics, dimensions={"channel": "public"}, properties={"org": "o", "bot": "b"})
        emits.append(time.perf_counter() - start)

    on, off = p50_ms(seconds[True]), p50_ms(seconds[False])
    rows = [
        row("chat turn p50, EMF on (ms)", on, off, goal=f"<= {GOAL}x", ok=on <= GOAL * off, unit="ms"),
        row("emit of 9 metrics p50 (us)", p50_ms(emits) * 1000, 0, goal=INFO, unit="us"),
        row("chat EMF line (bytes)", len(chat_line.encode()), 0, goal=INFO, unit="B"),
        row("document EMF line (bytes)", len(document_line.encode()), 0, goal=INFO, unit="B"),
    ]
    info = {
        "iterations": ITERATIONS,
        "log bytes per 10,000 turns (MB)": round(len(chat_line.encode()) * 10_000 / 1e6, 2),
    }
    return rows, info


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-metrics-") as tmp:
        _django.setup(Path(tmp), embedder="fake")
        rows, info = _measure()
    return {"module": "metrics", "rows": rows, "info": info}


if __name__ == "__main__":
    main(run)
