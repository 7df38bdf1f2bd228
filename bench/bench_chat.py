"""Chat and search latency benchmarks against what they cannot avoid: embedding the query and searching.

Setup: Django on an isolated SQLite database in a temporary folder (``bench._django``), the real
all-MiniLM-L6-v2 embedder and the database vector store; one bot whose knowledge base is a 50-page
generated operations manual (``bench._corpus``, ~300 chunks) ingested through the app's own pipeline,
so the query embedder matches the index and questions find passages above the bot's threshold.

(a) ``chat.services.chat_answer(bot=..., message=..., model=FakeChatModel())`` — the model answers
    instantly, so what is left is the service's own work: validation, a new conversation, retrieval,
    the prompt, two message rows — against ``documents.retrieval.retrieve`` alone (query embedding +
    vector search + passage data). p50 over ``ITERATIONS`` questions, the two interleaved question by
    question (alternating which goes first). Goal: p50 ≤ 1.3×.
(b) ``POST /api/orgs/<org>/bots/<bot>/search/`` through ``django.test.Client`` (session login, JSON)
    against ``get_vector_store().search(...)`` with a precomputed query vector (the store alone) and
    against ``retrieve()``; all three interleaved per question. Informational: no goal.

Everything is warmed first (model loaded, the bot's vector matrix cached, one request of each kind).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/bench_chat.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _django  # noqa: E402
from bench._common import INFO, main, p50_ms, row  # noqa: E402
from bench._corpus import manual_pages, questions  # noqa: E402

PAGES = 50
ITERATIONS = 50
GOAL = 1.3
TITLE = "Botwright Demo Co. Operations Manual"


def _interleaved(steps: dict[str, Callable[[int], Any]], iterations: int) -> dict[str, list[float]]:
    """Run every step once per iteration, rotating which goes first; seconds per step and iteration."""
    names = list(steps)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for i in range(iterations):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            steps[name](i)
            seconds[name].append(time.perf_counter() - start)
    return seconds


def _p90_ms(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))] * 1000


def _sql_profile(call: Callable[[], Any]) -> dict[str, int]:
    """Queries one call issues: all, writes, and explicit transactions (each write outside one commits)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        call()
    statements = [q["sql"].lstrip().split(None, 1)[0].upper() for q in captured.captured_queries]
    return {
        "queries": len(statements),
        "writes": sum(s in ("INSERT", "UPDATE", "DELETE") for s in statements),
        "transactions": statements.count("BEGIN"),
    }


def _sqlite_pragmas() -> dict[str, Any] | None:
    from django.db import connection

    if connection.vendor != "sqlite":
        return None
    with connection.cursor() as cursor:
        return {
            name: cursor.execute(f"PRAGMA {name}").fetchone()[0] for name in ("journal_mode", "synchronous")
        }


def _measure(pages: int, iterations: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from django.test import Client

    from chat.services import chat_answer
    from documents.retrieval import retrieve
    from documents.samples import build_pdf
    from documents.selectors import active_generations
    from integrations.embeddings import get_embedder
    from integrations.llm.fake import FakeChatModel
    from integrations.vectors.factory import get_vector_store

    embedder = get_embedder("minilm")
    embedder.embed(["Load the model before anything is timed."])
    user, org = _django.tenant("chat")
    bot = _django.new_bot(org=org, user=user, name="Support")
    start = time.perf_counter()
    document = _django.ingest(
        bot=bot, user=user, data=build_pdf(manual_pages(pages, seed=21)), filename="manual.pdf", title=TITLE
    )
    ingest_s = time.perf_counter() - start

    asked = questions(iterations)
    store = get_vector_store()
    client = Client()
    client.force_login(user)
    url = f"/api/orgs/{org.pk}/bots/{bot.pk}/search/"
    query_vectors = embedder.embed(asked)
    active = active_generations(bot=bot)
    answered = 0

    def chat(i: int) -> None:
        nonlocal answered
        result = chat_answer(bot=bot, message=asked[i], model=FakeChatModel())
        answered += not result.message.unanswered

    def retrieve_only(i: int) -> None:
        if len(retrieve(bot=bot, query=asked[i])) != bot.top_k:
            raise AssertionError("retrieve() returned fewer passages than the bot's top_k")

    def api(i: int) -> None:
        response = client.post(url, data={"query": asked[i]}, content_type="application/json")
        if response.status_code != 200 or len(response.json()["results"]) != bot.top_k:
            raise AssertionError(f"search API answered {response.status_code}: {response.content[:300]!r}")

    def store_only(i: int) -> None:
        hits = store.search(
            org_id=str(org.pk), bot_id=str(bot.pk), query=query_vectors[i], top_k=bot.top_k, active=active
        )
        if len(hits) != bot.top_k:
            raise AssertionError("the store returned fewer hits than the bot's top_k")

    for step in (chat, retrieve_only, api, store_only):  # warm every path (and the cached matrix)
        step(0)
    answered = 0

    part_a = _interleaved({"chat": chat, "retrieve": retrieve_only}, iterations)
    part_b = _interleaved({"api": api, "store": store_only, "retrieve": retrieve_only}, iterations)

    answered_timed = answered
    sql = {"chat_answer": _sql_profile(lambda: chat(1)), "search_api": _sql_profile(lambda: api(1))}

    chat_p50, retrieve_p50 = p50_ms(part_a["chat"]), p50_ms(part_a["retrieve"])
    api_p50, store_p50, retrieve_b_p50 = (
        p50_ms(part_b["api"]),
        p50_ms(part_b["store"]),
        p50_ms(part_b["retrieve"]),
    )
    rows = [
        row(
            f"chat_answer p50, fake model, {document.chunk_count} chunks (vs retrieve() p50)",
            chat_p50,
            retrieve_p50,
            goal=f"<= {GOAL}x",
            ok=chat_p50 <= GOAL * retrieve_p50,
            unit="ms",
        ),
        row(
            "search API p50 (vs store.search alone, precomputed vector)",
            api_p50,
            store_p50,
            goal=INFO,
            unit="ms",
        ),
        row("search API p50 (vs retrieve() p50)", api_p50, retrieve_b_p50, goal=INFO, unit="ms"),
    ]
    info = {
        "chunks": document.chunk_count,
        "iterations": iterations,
        "questions_answered_by_model": answered_timed,
        "top_k": bot.top_k,
        "relevance_threshold": bot.relevance_threshold,
        "ingest_s": round(ingest_s, 2),
        "p90_ms": {
            "chat": round(_p90_ms(part_a["chat"]), 2),
            "retrieve": round(_p90_ms(part_a["retrieve"]), 2),
            "api": round(_p90_ms(part_b["api"]), 2),
            "store": round(_p90_ms(part_b["store"]), 2),
        },
        # Query embedding dominates retrieve(); the store alone is the matrix product plus chunk rows.
        "retrieve_p50_ms_part_b": round(retrieve_b_p50, 2),
        # What each request adds in SQL: on SQLite every commit waits for the disk (fsync), so the
        # number of writes outside one transaction is what the chat overhead mostly is.
        "sql_per_request": sql,
        "sqlite": _sqlite_pragmas(),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
    }
    return rows, info


def run(*, pages: int = PAGES, iterations: int = ITERATIONS) -> dict[str, Any]:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="botwright-bench-chat-") as workdir:
        _django.setup(Path(workdir))
        rows, info = _measure(pages, iterations)
    info["runtime_s"] = round(time.perf_counter() - started, 1)
    return {"module": "chat", "rows": rows, "info": info}


if __name__ == "__main__":
    main(run)
