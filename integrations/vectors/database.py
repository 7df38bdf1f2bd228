"""The embedded default vector store: vectors as float32 bytes in the relational database.

Rows live in the store's own table, :class:`integrations.models.ChunkVector` (vector, text, metadata per
chunk; no foreign keys into the apps), scoped by ``(org_id, bot_id)`` on every query like the DynamoDB
store's partition key.

Search loads a bot's live vectors once into one numpy matrix and keeps it in the process
(:mod:`integrations.vectors.cache`), keyed by the bot's live (document, generation) set — which changes
whenever a document is (re)indexed — so repeated questions cost one matrix-vector product and one read
of the winners' rows. Exact cosine, no approximation. Reads are metered (``vector_bytes_read``,
``vector_items_read``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .. import metering
from .base import SearchHit, VectorItem
from .cache import DEFAULT_CACHE_MAX_BYTES, LiveMatrix, MatrixCache, assemble, live_pairs
from .exact import check_dimension, pack_float32, unpack_float32
from .exact import top_k as exact_top_k


def _table() -> Any:
    # Imported on use: this module is importable before Django's app registry is ready.
    from integrations.models import ChunkVector

    return ChunkVector


class DatabaseVectorStore:
    """``VectorStore`` on the ``ChunkVector`` table; ``cache_max_bytes`` bounds the matrix cache."""

    def __init__(self, *, cache_max_bytes: int = DEFAULT_CACHE_MAX_BYTES) -> None:
        self.matrix_cache = MatrixCache(cache_max_bytes)
        self.last_loaded_from_db = False

    @staticmethod
    def _rows(org_id: str, bot_id: str) -> Any:
        return _table().objects.filter(org_id=str(org_id), bot_id=str(bot_id))

    def upsert(
        self, *, org_id: str, bot_id: str, document_id: str, generation: int, items: Sequence[VectorItem]
    ) -> None:
        from django.db import transaction

        table = _table()
        rows = []
        for item in items:
            if str(item.document_id) != str(document_id):
                raise ValueError(
                    f"item {item.chunk_id!r} belongs to document {item.document_id!r}, not {document_id!r}"
                )
            rows.append(
                table(
                    org_id=str(org_id),
                    bot_id=str(bot_id),
                    document_id=str(document_id),
                    generation=generation,
                    ordinal=item.ordinal,
                    chunk_id=str(item.chunk_id),
                    vector=pack_float32(np.asarray(item.vector, dtype=np.float32).reshape(1, -1)),
                    text=item.text,
                    metadata=dict(item.metadata or {}),
                )
            )
        with transaction.atomic():
            # Idempotent: a retried batch replaces the rows it wrote before.
            self._rows(org_id, bot_id).filter(chunk_id__in=[r.chunk_id for r in rows]).delete()
            table.objects.bulk_create(rows, batch_size=500)

    def delete_document(
        self, *, org_id: str, bot_id: str, document_id: str, generation: int | None = None
    ) -> None:
        rows = self._rows(org_id, bot_id).filter(document_id=str(document_id))
        if generation is not None:
            rows = rows.filter(generation=generation)
        rows.delete()
        # Not needed for correctness (the live set no longer names these rows): frees the memory now.
        self.matrix_cache.discard((str(org_id), str(bot_id)), str(document_id), generation)

    def delete_bot(self, *, org_id: str, bot_id: str) -> None:
        self._rows(org_id, bot_id).delete()
        self.matrix_cache.discard((str(org_id), str(bot_id)))

    def count(self, *, org_id: str, bot_id: str, document_id: str | None = None) -> int:
        rows = self._rows(org_id, bot_id)
        if document_id is not None:
            rows = rows.filter(document_id=str(document_id))
        return rows.count()

    def read_document(
        self, *, org_id: str, bot_id: str, document_id: str, generation: int
    ) -> list[VectorItem]:
        rows = (
            self._rows(org_id, bot_id)
            .filter(document_id=str(document_id), generation=generation)
            .order_by("ordinal")
        )
        return [
            VectorItem(
                chunk_id=row.chunk_id,
                document_id=row.document_id,
                ordinal=row.ordinal,
                vector=unpack_float32(bytes(row.vector), len(row.vector) // 4)[0],
                text=row.text,
                metadata=dict(row.metadata),
            )
            for row in rows.iterator(chunk_size=500)
        ]

    def _load(self, org_id: str, bot_id: str, active: Mapping[str, int], dim: int) -> LiveMatrix:
        live = {str(d): int(g) for d, g in active.items()}
        rows = (
            self._rows(org_id, bot_id)
            .filter(document_id__in=list(live))
            .order_by("document_id", "ordinal")
            .values_list("pk", "document_id", "generation", "ordinal", "vector")
        )
        blocks: dict[tuple[str, int], tuple[list[int], list[int], list[bytes]]] = {}
        read_bytes = read_rows = 0
        for pk, document_id, generation, ordinal, blob in rows.iterator(chunk_size=2000):
            read_rows += 1
            read_bytes += len(blob)
            if live.get(document_id) != generation:
                continue  # a generation being built, or an old one about to be deleted
            ids, ordinals, blobs = blocks.setdefault((document_id, generation), ([], [], []))
            ids.append(pk)
            ordinals.append(ordinal)
            blobs.append(bytes(blob))
        metering.add("vector_bytes_read", read_bytes)
        metering.add("vector_items_read", read_rows)
        decoded = [
            (pair, unpack_float32(b"".join(blobs), dim), np.asarray(ordinals, dtype=np.int64), False)
            for pair, (_, ordinals, blobs) in blocks.items()
        ]
        row_ids = np.asarray([pk for ids, _, _ in blocks.values() for pk in ids], dtype=np.int64)
        self.last_loaded_from_db = True
        return assemble(live_pairs(active), decoded, dim=dim, row_ids=row_ids)

    def search(
        self, *, org_id: str, bot_id: str, query: np.ndarray, top_k: int, active: Mapping[str, int]
    ) -> list[SearchHit]:
        if not active or top_k <= 0:
            return []
        query = np.asarray(query, dtype=np.float32).reshape(-1)
        scope = (str(org_id), str(bot_id))
        cached = self.matrix_cache.lookup(scope, live_pairs(active))
        if cached is not None:
            entry, mask = cached
            self.last_loaded_from_db = False
        else:
            entry, mask = self._load(org_id, bot_id, active, query.shape[0]), None
            self.matrix_cache.store(scope, entry)
        if not len(entry):
            return []
        check_dimension(query, entry.matrix)
        indices, scores = exact_top_k(entry.matrix, query, top_k, mask)
        assert entry.row_ids is not None
        winners = entry.row_ids[indices].tolist()
        found = {
            row.pk: row
            for row in self._rows(org_id, bot_id)
            .filter(pk__in=winners)
            .only("pk", "chunk_id", "document_id", "ordinal", "text", "metadata")
        }
        metering.add("vector_items_read", len(found))
        metering.add(
            "vector_bytes_read",
            sum(len(r.text.encode()) + len(json.dumps(r.metadata)) for r in found.values()),
        )
        hits = []
        for pk, score in zip(winners, scores.tolist(), strict=True):
            row = found.get(pk)
            if row is None:
                continue  # deleted since the matrix was cached
            hits.append(
                SearchHit(
                    chunk_id=row.chunk_id,
                    document_id=row.document_id,
                    score=float(score),
                    text=row.text,
                    metadata={**row.metadata, "ordinal": row.ordinal},
                )
            )
        return hits
