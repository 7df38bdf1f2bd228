"""Evaluate a bot on golden questions through the real pipeline: ingest, retrieve, answer.

Django-side companion of :mod:`evaluation.metrics`. :func:`ingest_corpus` uploads and processes
files with the application's own services (extraction, chunking, the configured embedder and vector
store); :func:`evaluate_bot` asks every golden question through ``documents.retrieval.retrieve``
(where is the answer among the passages?) and ``chat.services.chat_answer`` (did the bot answer or
give its fallback?), and returns one :class:`~evaluation.metrics.Outcome` per question.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .dataset import CorpusFile
from .metrics import GoldenQuestion, Outcome, hit_rank


def ingest_corpus(
    *,
    bot: Any,
    user: Any,
    files: Sequence[CorpusFile],
    on_document: Callable[[int, int], None] | None = None,
    **process: Any,
) -> dict[str, str]:
    """Upload and process ``files`` into ``bot`` inline; returns ``{document id: file key}``.

    Raises RuntimeError naming the file when one does not become ready (a golden set over a
    half-indexed corpus would measure nothing).
    """
    from documents.models import DocumentStatus
    from documents.services import document_process, document_upload

    sources: dict[str, str] = {}
    for done, file in enumerate(files, start=1):
        document, _ = document_upload(
            bot=bot,
            user=user,
            data=file.data,
            filename=file.key.replace("/", "_"),
            title=file.title,
            enqueue=False,
        )
        document = document_process(document_id=str(document.pk), org_id=str(document.org_id), **process)
        if document is None or document.status != DocumentStatus.READY:
            raise RuntimeError(f"{file.key} did not index: {getattr(document, 'error', 'it vanished')}")
        sources[str(document.pk)] = file.key
        if on_document:
            on_document(done, len(files))
    return sources


def evaluate_bot(
    *,
    bot: Any,
    questions: Sequence[GoldenQuestion],
    sources: Mapping[str, str],
    k: int | None = None,
    retrieval: Any = None,
    policy: Any = None,
    model: Any = None,
    ask: bool = True,
) -> list[Outcome]:
    """Ask every question; ``sources`` maps document ids to the keys the golden answers name.

    ``retrieval`` (``RetrievalOptions``), ``policy`` (``AnswerPolicy``) and ``model`` (a
    ``ChatModel``) default to what the bot uses in production. ``ask=False`` measures retrieval only
    (every outcome counts as answered). ``Outcome.seconds`` is the time of the whole chat turn (or of
    the search alone without ``ask``).
    """
    from chat.services import chat_answer
    from documents.retrieval import retrieve

    k = k or bot.top_k
    outcomes = []
    for golden in questions:
        started = time.perf_counter()
        passages = retrieve(bot=bot, query=golden.question, top_k=k, options=retrieval)
        seconds = time.perf_counter() - started
        rank = None
        if golden.expected:
            found = [(sources.get(p.document_id, ""), p.window) for p in passages]
            ranks = [r for r in (hit_rank(found, e, k=k) for e in golden.expected) if r is not None]
            rank = min(ranks) if ranks else None
        answered = True
        if ask:
            started = time.perf_counter()
            result = chat_answer(
                bot=bot, message=golden.question, retrieval=retrieval, policy=policy, model=model
            )
            seconds = time.perf_counter() - started
            answered = not result.message.unanswered
        outcomes.append(Outcome(golden.id, golden.on_topic, rank, answered, seconds))
    return outcomes
