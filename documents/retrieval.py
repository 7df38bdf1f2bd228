"""Search a bot's knowledge base: hybrid dense + lexical retrieval, fused, with neighbouring context.

1. **Dense**: embed the question (``embedder.embed_query``) and ask the vector store for its nearest
   live chunks (cosine similarity).
2. **Lexical**: full-text search over the same live chunks in the relational database
   (``documents.lexical``: SQLite FTS5 / PostgreSQL tsvector), whatever the vector store.
3. **Fusion**: weighted reciprocal-rank fusion, ``sum(weight / (rrf_k + rank))`` over the two ranked
   lists — rank-based, so the stores' incomparable score scales never matter.
4. **Windows**: each winner is handed out with ``neighbours`` chunks of the same document on either
   side as ``context_before``/``context_after`` (sentence-window expansion: a chunk is ~150 tokens
   and the sentence that answers is often next to the one that matched). A chunk already inside a
   better-ranked winner's window is not repeated.

The defaults are the configuration measured best on ``bench/bench_quality.py`` (Django's own
documentation, 137 paraphrased questions); ``RetrievalOptions.baseline()`` is the dense-only search
Botwright had before, kept for that comparison. Every query is scoped to the bot's org, the bot and
its live ``(document, generation)`` set, on both sides.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.db.models import Q

from bots.models import Bot
from integrations.embeddings import get_embedder
from integrations.embeddings.base import Embedder
from integrations.llm.base import Passage
from integrations.llm.terms import query_words
from integrations.vectors.base import VectorStore
from integrations.vectors.factory import get_vector_store

from . import lexical
from .models import Chunk
from .selectors import active_generations

__all__ = ["Passage", "Retrieval", "RetrievalOptions", "retrieve", "retrieve_detailed"]


@dataclass(frozen=True)
class RetrievalOptions:
    """How a question finds its passages (see the module docstring for each step)."""

    dense: bool = True
    lexical: bool = True
    # How deep each ranked list is read before fusion.
    candidates: int = 50
    rrf_k: int = 5
    lexical_weight: float = 0.5
    neighbours: int = 2

    @classmethod
    def baseline(cls) -> RetrievalOptions:
        """Dense-only, no context: retrieval as it was before hybrid search (for comparisons)."""
        return cls(lexical=False, neighbours=0, candidates=0)


@dataclass(frozen=True)
class Retrieval:
    """The passages of one search plus what answerability needs to judge them."""

    passages: list[Passage]
    words: list[str]  # the question's searchable words
    active: dict[str, int]  # the live (document -> generation) set that was searched
    seconds: float


def _dense(
    *, bot: Bot, query: str, embedder: Embedder, store: VectorStore, active: dict[str, int], depth: int
) -> dict[str, float]:
    vector = embedder.embed_query(query)
    hits = store.search(org_id=str(bot.org_id), bot_id=str(bot.pk), query=vector, top_k=depth, active=active)
    return {hit.chunk_id: float(hit.score) for hit in hits}


def _fuse(ranked: Sequence[tuple[Sequence[str], float]], rrf_k: int) -> list[str]:
    """Chunk ids by weighted reciprocal-rank fusion of ``(ids best first, weight)`` lists."""
    scores: dict[str, float] = {}
    for ids, weight in ranked:
        for rank, chunk_id in enumerate(ids, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight / (rrf_k + rank)
    return sorted(scores, key=lambda chunk_id: (-scores[chunk_id], chunk_id))


def _rows(bot: Bot, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
    rows = (
        Chunk.objects.for_org(bot.org_id)
        .filter(bot=bot, pk__in=list(chunk_ids))
        .select_related("document")
        .only(
            "id",
            "document_id",
            "generation",
            "ordinal",
            "text",
            "page_start",
            "page_end",
            "heading_path",
            "char_start",
            "char_end",
            "document__title",
        )
    )
    return {str(row.pk): row for row in rows}


def _neighbours(bot: Bot, winners: Sequence[Chunk], span: int) -> dict[tuple[str, int, int], Chunk]:
    """The chunks within ``span`` ordinals of each winner, keyed by (document, generation, ordinal)."""
    if span <= 0 or not winners:
        return {}
    wanted = Q()
    for row in winners:
        wanted |= Q(
            document_id=row.document_id,
            generation=row.generation,
            ordinal__gte=row.ordinal - span,
            ordinal__lte=row.ordinal + span,
        )
    rows = (
        Chunk.objects.for_org(bot.org_id)
        .filter(bot=bot)
        .filter(wanted)
        .only("id", "document_id", "generation", "ordinal", "text", "char_start", "char_end")
    )
    return {(str(r.document_id), r.generation, r.ordinal): r for r in rows}


def _slice(piece: Chunk, start: int, end: int) -> str:
    """The part of ``piece`` between document offsets ``start`` and ``end``."""
    return piece.text[
        max(start, piece.char_start) - piece.char_start : min(end, piece.char_end) - piece.char_start
    ]


def _join(pieces: Sequence[Chunk], start: int, end: int) -> str:
    """Consecutive chunks' text between document offsets ``start`` and ``end``, overlaps removed.

    Consecutive chunks of a section overlap by a sentence or two (``chunk.text`` is exactly
    ``full_text[char_start:char_end]``), so each piece adds only what lies past the previous one;
    where two pieces do not touch (two sections) the document's block separator goes between them.
    """
    parts: list[str] = []
    position = start
    for piece in pieces:
        if piece.char_end <= position or piece.char_start >= end:
            continue
        if parts and piece.char_start > position:
            parts.append("\n\n")
        parts.append(_slice(piece, max(position, piece.char_start), end))
        position = piece.char_end
    return "".join(parts).strip()


def _context(row: Chunk, nearby: dict[tuple[str, int, int], Chunk], span: int) -> tuple[str, str]:
    """``(before, after)``: the neighbouring chunks' text up to and from ``row`` (without its own)."""
    key = (str(row.document_id), row.generation)
    before = [nearby[(*key, o)] for o in range(row.ordinal - span, row.ordinal) if (*key, o) in nearby]
    after = [nearby[(*key, o)] for o in range(row.ordinal + 1, row.ordinal + span + 1) if (*key, o) in nearby]
    text_before = _join(before, before[0].char_start, row.char_start) if before else ""
    text_after = _join(after, row.char_end, after[-1].char_end) if after else ""
    return text_before, text_after


def retrieve_detailed(
    *,
    bot: Bot,
    query: str,
    top_k: int | None = None,
    document_ids: Sequence[Any] | None = None,
    embedder: Embedder | None = None,
    store: VectorStore | None = None,
    options: RetrievalOptions | None = None,
) -> Retrieval:
    """The bot's best ``top_k`` passages for ``query`` and the search's by-products."""
    started = time.perf_counter()
    options = options or RetrievalOptions()
    top_k = top_k or bot.top_k
    embedder = embedder or get_embedder()
    active = active_generations(
        bot=bot,
        document_ids=list(document_ids) if document_ids is not None else None,
        embedding_model=embedder.name,
    )
    words = query_words(query)
    empty = Retrieval([], words, active, 0.0)
    if not active or not query.strip():
        return empty
    depth = max(options.candidates, top_k)
    similarity: dict[str, float] = {}
    ranked: list[tuple[list[str], float]] = []
    if options.dense:
        similarity = _dense(
            bot=bot,
            query=query,
            embedder=embedder,
            store=store or get_vector_store(),
            active=active,
            depth=depth,
        )
        ranked.append((list(similarity), 1.0))
    if options.lexical and words:
        hits = lexical.search(
            org_id=str(bot.org_id), bot_id=str(bot.pk), active=active, words=words, limit=depth
        )
        ranked.append(([h.chunk_id for h in hits], options.lexical_weight))
    order = _fuse(ranked, options.rrf_k) if len(ranked) > 1 else (ranked[0][0] if ranked else [])
    # Read a few more rows than needed: some fold into a better winner's window.
    rows = _rows(bot, order[: top_k * (2 * options.neighbours + 1)])
    chosen: list[Chunk] = []
    covered: set[tuple[str, int, int]] = set()
    for chunk_id in order:
        row = rows.get(chunk_id)
        if row is None:
            continue
        key = (str(row.document_id), row.generation, row.ordinal)
        if key in covered:
            continue
        chosen.append(row)
        covered.update(
            (key[0], key[1], o)
            for o in range(row.ordinal - options.neighbours, row.ordinal + options.neighbours + 1)
        )
        if len(chosen) == top_k:
            break
    nearby = _neighbours(bot, chosen, options.neighbours)
    fused_rank = {chunk_id: rank for rank, chunk_id in enumerate(order, start=1)}
    passages = []
    for row in chosen:
        before, after = _context(row, nearby, options.neighbours) if options.neighbours else ("", "")
        chunk_id = str(row.pk)
        cosine = similarity.get(chunk_id)
        passages.append(
            Passage(
                chunk_id=chunk_id,
                document_id=str(row.document_id),
                title=row.document.title,
                text=row.text,
                # Dense-only keeps the cosine as the score (as before); fused ranks score 1/rank.
                score=round(
                    cosine if len(ranked) == 1 and cosine is not None else 1.0 / fused_rank[chunk_id], 4
                ),
                page_start=row.page_start,
                page_end=row.page_end,
                heading_path=tuple(row.heading_path or ()),
                similarity=None if cosine is None else round(cosine, 4),
                context_before=before,
                context_after=after,
            )
        )
    return replace(empty, passages=passages, seconds=time.perf_counter() - started)


def retrieve(
    *,
    bot: Bot,
    query: str,
    top_k: int | None = None,
    document_ids: Sequence[Any] | None = None,
    embedder: Embedder | None = None,
    store: VectorStore | None = None,
    options: RetrievalOptions | None = None,
) -> list[Passage]:
    """The bot's ``top_k`` best passages for ``query``, best first (no relevance threshold)."""
    return retrieve_detailed(
        bot=bot,
        query=query,
        top_k=top_k,
        document_ids=document_ids,
        embedder=embedder,
        store=store,
        options=options,
    ).passages
