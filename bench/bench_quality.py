"""Answer quality on a real documentation corpus: does the bot find the passage, and decline when it should?

Corpus: 128 documentation files of Django 5.2.19 (``docs/{topics,howto,faq,intro,misc}`` from the
sdist on PyPI, BSD-3-Clause; ``bench/datasets/django_docs/``), ~5,300 chunks, ingested through the
application's own pipeline (upload, extraction, chunking, the real MiniLM embedder, the database
vector store and the lexical index) into one bot on an isolated SQLite database.

Questions (``questions.jsonl``): 137 on-topic questions written for this benchmark and paraphrased
away from the documents' wording, each with the file and a quoted span of its answer (sometimes more
than one place), and 50 clearly off-topic questions. Metrics (``evaluation.metrics``):

- recall@5 / MRR@5: is an answer span inside one of the 5 passages ``retrieve()`` returns (the text
  the answerer reads, context included), and how high;
- answered rate: on-topic questions ``chat_answer()`` answered instead of giving the fallback;
- fallback rate: off-topic questions that got the fallback.

Baseline, measured in the same run: retrieval as it was (dense only, top 5, no context) and the old
decision (answer whenever a passage scores ``>= 0.15``; the old extractive answerer then always
answered, so the baseline asks a model that always answers). Ablation rows add one technique at a
time; the final configuration is the production default (``RetrievalOptions()``, the answerability
policy for the bot and the extractive answerer).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/bench_quality.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _django  # noqa: E402
from bench._common import INFO, main, row  # noqa: E402

DATASET = Path(__file__).resolve().parent / "datasets" / "django_docs"
K = 5
GOALS = {"recall": 0.85, "mrr": 0.70, "answered_rate": 0.90, "fallback_rate": 0.90}


def _configurations() -> list[tuple[str, dict[str, Any]]]:
    from chat.answerability import AnswerPolicy
    from documents.retrieval import RetrievalOptions
    from integrations.llm.fake import FakeChatModel

    always = FakeChatModel  # answers every question it is asked, citing passage 1 (as the old answerer did)
    baseline_retrieval = RetrievalOptions.baseline()
    return [
        (
            "baseline",
            {"retrieval": baseline_retrieval, "policy": AnswerPolicy.baseline(0.15), "model": always()},
        ),
        ("+ lexical (hybrid RRF)", {"retrieval": RetrievalOptions(neighbours=0), "ask": False}),
        ("+ neighbours (dense only)", {"retrieval": RetrievalOptions(lexical=False), "ask": False}),
        (
            "hybrid + neighbours, old 0.15 decision",
            {"retrieval": RetrievalOptions(), "policy": AnswerPolicy.baseline(0.15), "model": always()},
        ),
        ("hybrid + neighbours + answerability, model always answers", {"model": always()}),
        ("final (+ extractive answerer)", {}),
    ]


def _measure() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from evaluation.dataset import load_questions, read_corpus
    from evaluation.metrics import summarise
    from evaluation.runner import evaluate_bot, ingest_corpus

    files = read_corpus(DATASET / "docs")
    user, org = _django.tenant("quality")
    bot = _django.new_bot(org=org, user=user, name="Django documentation")
    started = time.perf_counter()
    sources = ingest_corpus(bot=bot, user=user, files=files)
    ingest_s = time.perf_counter() - started
    questions = load_questions(DATASET / "questions.jsonl", corpus=DATASET / "docs")
    # Load the model and the bot's vector matrix before anything is timed.
    evaluate_bot(bot=bot, questions=questions[:2], sources=sources, k=K)

    table: dict[str, dict[str, Any]] = {}
    for name, options in _configurations():
        outcomes = evaluate_bot(bot=bot, questions=questions, sources=sources, k=K, **options)
        summary = summarise(outcomes, k=K).as_dict()
        if options.get("ask") is False:
            summary.update(answered_rate=None, fallback_rate=None)  # retrieval only: not asked
        table[name] = summary
        print(f"[quality] {name}: {summary}", file=sys.stderr, flush=True)

    base, final = table["baseline"], table["final (+ extractive answerer)"]
    labels = {
        "recall": f"recall@{K}",
        "mrr": f"MRR@{K}",
        "answered_rate": "on-topic answered",
        "fallback_rate": "off-topic fallback",
    }
    counts = {metric: final["off_topic" if metric == "fallback_rate" else "on_topic"] for metric in GOALS}
    rows = [
        row(
            f"{labels[metric]} ({counts[metric]} questions)",
            final[metric],
            base[metric],
            goal=f">= {goal}",
            ok=final[metric] >= goal,
        )
        for metric, goal in GOALS.items()
    ]
    rows.append(
        row("chat turn p50, final vs baseline", final["p50_ms"], base["p50_ms"], goal=INFO, unit="ms")
    )
    for name, summary in table.items():
        if name in ("baseline", "final (+ extractive answerer)"):
            continue
        for metric in ("recall", "mrr", "answered_rate", "fallback_rate"):
            if summary[metric] is not None:
                rows.append(
                    row(f"ablation: {name}: {labels[metric]}", summary[metric], base[metric], goal=INFO)
                )
    info = {
        "corpus": "Django 5.2.19 docs (topics, howto, faq, intro, misc), BSD-3-Clause",
        "documents": len(files),
        "chunks": sum(d.chunk_count for d in bot.documents.all()),
        "questions_on_topic": final["on_topic"],
        "questions_off_topic": final["off_topic"],
        "ingest_s": round(ingest_s, 1),
        "table": table,
    }
    return rows, info


def run() -> dict[str, Any]:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="botwright-bench-quality-") as workdir:
        _django.setup(Path(workdir))
        rows, info = _measure()
    info["runtime_s"] = round(time.perf_counter() - started, 1)
    return {"module": "quality", "rows": rows, "info": info}


if __name__ == "__main__":
    main(run)
