"""The embedded default vector store: vectors as float32 bytes in the relational database.

Search loads a bot's live vectors once into one numpy matrix and keeps it per process, keyed by
the bot's live (document, generation) set — which changes whenever a document is (re)indexed or
deleted — so repeated questions cost one matrix-vector product. Exact cosine, no approximation.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from integrations import metering

from .base import SearchHit, VectorItem
from .exact import pack_float32
from .exact import top_k as exact_top_k

DIM = 384


@dataclass(frozen=True)
class _Matrix:
    chunk_ids: list[str]
    document_ids: list[str]
    ordinals: np.ndarray
    matrix: np.ndarray  # (n, dim) float32


class DatabaseVectorStore:
    """Vectors in the `documents.StoredVector` table; scoped by org through the tenant manager."""

    def __init__(self, *, cache_bots: int = 8) -> None:
        self._cache: OrderedDict[tuple, _Matrix] = OrderedDict()
        self._cache_bots = cache_bots
        self._lock = threading.Lock()
        self.last_loaded_from_db = False

    @staticmethod
    def _model():
        from documents.models import StoredVector

        return StoredVector

    def upsert(
        self, *, org_id: str, bot_id: str, document_id: str, generation: int, items: Sequence[VectorItem]
    ) -> None:
        StoredVector = self._model()
        rows = [
            StoredVector(
                org_id=org_id,
                bot_id=bot_id,
                document_id=document_id,
                chunk_id=item.chunk_id,
                generation=generation,
                ordinal=item.ordinal,
                vector=pack_float32(np.asarray(item.vector, dtype=np.float32).reshape(1, -1)),
            )
            for item in items
        ]
        # Idempotent: a retried batch replaces the rows it wrote before.
        StoredVector.objects.for_org(org_id).filter(chunk_id__in=[r.chunk_id for r in rows]).delete()
        StoredVector.objects.bulk_create(rows, batch_size=500)

    def delete_document(
        self, *, org_id: str, bot_id: str, document_id: str, generation: int | None = None
    ) -> None:
        qs = self._model().objects.for_org(org_id).filter(bot_id=bot_id, document_id=document_id)
        if generation is not None:
            qs = qs.filter(generation=generation)
        qs.delete()

    def delete_bot(self, *, org_id: str, bot_id: str) -> None:
        self._model().objects.for_org(org_id).filter(bot_id=bot_id).delete()
        with self._lock:
            for key in [k for k in self._cache if k[:2] == (str(org_id), str(bot_id))]:
                del self._cache[key]

    def count(self, *, org_id: str, bot_id: str, document_id: str | None = None) -> int:
        qs = self._model().objects.for_org(org_id).filter(bot_id=bot_id)
        if document_id is not None:
            qs = qs.filter(document_id=document_id)
        return qs.count()

    def _load(self, org_id: str, bot_id: str, active: Mapping[str, int]) -> _Matrix:
        key = (str(org_id), str(bot_id), frozenset((str(d), int(g)) for d, g in active.items()))
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                self.last_loaded_from_db = False
                return cached
        live = {str(d): int(g) for d, g in active.items()}
        rows = (
            self._model()
            .objects.for_org(org_id)
            .filter(bot_id=bot_id, document_id__in=list(live))
            .order_by("document_id", "ordinal")
            .values_list("chunk_id", "document_id", "generation", "ordinal", "vector")
        )
        chunk_ids, document_ids, ordinals, blobs = [], [], [], []
        for chunk_id, document_id, generation, ordinal, blob in rows.iterator(chunk_size=2000):
            if live.get(str(document_id)) != generation:
                continue  # a generation being built, or an old one about to be deleted
            chunk_ids.append(str(chunk_id))
            document_ids.append(str(document_id))
            ordinals.append(ordinal)
            blobs.append(bytes(blob))
        matrix = (
            np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), -1)
            if blobs
            else np.empty((0, DIM), dtype=np.float32)
        )
        loaded = _Matrix(chunk_ids, document_ids, np.asarray(ordinals, dtype=np.int64), matrix)
        with self._lock:
            self._cache[key] = loaded
            for stale in [k for k in self._cache if k[:2] == key[:2] and k != key]:
                del self._cache[stale]
            while len(self._cache) > self._cache_bots:
                self._cache.popitem(last=False)
        self.last_loaded_from_db = True
        return loaded

    def search(
        self, *, org_id: str, bot_id: str, query: np.ndarray, top_k: int, active: Mapping[str, int]
    ) -> list[SearchHit]:
        if not active or top_k <= 0:
            return []
        loaded = self._load(org_id, bot_id, active)
        metering.add("vector_items_read", len(loaded.chunk_ids))
        metering.add("vector_bytes_read", loaded.matrix.nbytes)
        if not loaded.chunk_ids:
            return []
        indices, scores = exact_top_k(loaded.matrix, np.asarray(query, dtype=np.float32).reshape(-1), top_k)
        winners = [loaded.chunk_ids[i] for i in indices]
        from documents.models import Chunk

        chunks = {
            str(c.pk): c
            for c in Chunk.objects.for_org(org_id).filter(pk__in=winners).select_related("document")
        }
        hits = []
        for i, score in zip(indices, scores, strict=True):
            chunk = chunks.get(loaded.chunk_ids[i])
            if chunk is None:
                continue  # deleted since the matrix was cached
            hits.append(
                SearchHit(
                    chunk_id=str(chunk.pk),
                    document_id=str(chunk.document_id),
                    score=float(score),
                    text=chunk.text,
                    metadata={
                        "page_start": chunk.page_start,
                        "page_end": chunk.page_end,
                        "heading_path": list(chunk.heading_path),
                        "title": chunk.document.title,
                        "ordinal": chunk.ordinal,
                    },
                )
            )
        return hits
