"""Search a bot's knowledge base: embed the query, search the live vectors, attach document data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bots.models import Bot
from integrations.embeddings import get_embedder
from integrations.embeddings.base import Embedder
from integrations.vectors.base import VectorStore
from integrations.vectors.factory import get_vector_store

from .selectors import active_generations


@dataclass(frozen=True)
class Passage:
    chunk_id: str
    document_id: str
    title: str
    text: str
    score: float
    page_start: int | None
    page_end: int | None
    heading_path: tuple[str, ...]

    @property
    def pages(self) -> str:
        if self.page_start is None:
            return ""
        if self.page_end in (None, self.page_start):
            return str(self.page_start)
        return f"{self.page_start}-{self.page_end}"


def retrieve(
    *,
    bot: Bot,
    query: str,
    top_k: int | None = None,
    document_ids: Sequence[Any] | None = None,
    embedder: Embedder | None = None,
    store: VectorStore | None = None,
) -> list[Passage]:
    """The bot's `top_k` passages most similar to `query`, best first (no relevance threshold)."""
    embedder = embedder or get_embedder()
    active = active_generations(
        bot=bot,
        document_ids=list(document_ids) if document_ids is not None else None,
        embedding_model=embedder.name,
    )
    if not active or not query.strip():
        return []
    store = store or get_vector_store()
    # Asymmetric embedders (Gemini) encode questions differently from passages.
    embed_query = getattr(embedder, "embed_query", None)
    vector = embed_query(query) if embed_query else embedder.embed([query])[0]
    hits = store.search(
        org_id=str(bot.org_id), bot_id=str(bot.pk), query=vector, top_k=top_k or bot.top_k, active=active
    )
    return [
        Passage(
            chunk_id=hit.chunk_id,
            document_id=hit.document_id,
            title=hit.metadata.get("title") or "",
            text=hit.text,
            score=round(float(hit.score), 4),
            page_start=hit.metadata.get("page_start"),
            page_end=hit.metadata.get("page_end"),
            heading_path=tuple(hit.metadata.get("heading_path") or ()),
        )
        for hit in hits
    ]
