"""The vector-store interface: what the ingest pipeline writes and what retrieval reads.

Plain Python (no Django, no SDK). Implementations: the relational-database store (default) and
:class:`integrations.vectors.dynamodb.DynamoDBVectorStore` (production on AWS).

Contract shared by every ``VectorStore``

- Everything is scoped by ``(org_id, bot_id)``; nothing written for one bot is visible to another,
  even when document ids coincide.
- A document is written as a *generation*: re-indexing writes generation ``g+1`` next to ``g``.
  ``search`` only considers vectors whose ``(document_id, generation)`` appears in ``active``
  (document id → live generation), so the app switches a document atomically by changing its live
  generation in the relational database once the new generation is complete, and then deletes
  the old one. Restricting ``active`` to some documents is also how a search is filtered.
- Vectors are float32 and unit length; scores are cosine similarities (dot products), hits sorted
  by score descending with ties broken by ``(document_id, ordinal)``.
- ``upsert`` is idempotent: writing the same items for the same generation again leaves the store
  as if written once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class VectorItem:
    """One chunk to index.

    ``metadata`` holds ``page_start``, ``page_end``, ``heading_path`` (list) and ``title``.
    """

    chunk_id: str
    document_id: str
    ordinal: int
    vector: np.ndarray
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchHit:
    """One retrieved chunk with its cosine similarity to the query."""

    chunk_id: str
    document_id: str
    score: float
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class VectorStore(Protocol):
    def upsert(
        self,
        *,
        org_id: str,
        bot_id: str,
        document_id: str,
        generation: int,
        items: Sequence[VectorItem],
    ) -> None:
        """Write ``items`` (all of ``document_id``) as part of ``generation``."""
        ...

    def delete_document(
        self, *, org_id: str, bot_id: str, document_id: str, generation: int | None = None
    ) -> None:
        """Delete one generation of a document, or all of its generations when ``generation`` is None."""
        ...

    def delete_bot(self, *, org_id: str, bot_id: str) -> None:
        """Delete everything stored for a bot."""
        ...

    def search(
        self,
        *,
        org_id: str,
        bot_id: str,
        query: np.ndarray,
        top_k: int,
        active: Mapping[str, int],
    ) -> list[SearchHit]:
        """Return up to ``top_k`` hits among the live generations named in ``active``."""
        ...

    def count(self, *, org_id: str, bot_id: str, document_id: str | None = None) -> int:
        """Number of chunks stored for the bot (or one document), counting every stored generation."""
        ...

    def read_document(
        self, *, org_id: str, bot_id: str, document_id: str, generation: int
    ) -> list[VectorItem]:
        """Every item of one document generation as written (float32 vectors), sorted by ordinal.

        Backups read vectors through this so a restore needs no re-embedding; it is not metered.
        """
        ...
