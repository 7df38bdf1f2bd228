"""The per-process cache of decoded vector matrices both stores search from, bounded by bytes (LRU).

A bot's *live set* — the ``(document_id, generation)`` pairs its search may see — comes from the
relational database on every query (``active``). Generations are written once and never reused: a
re-index writes generation ``g+1``, a delete removes the document from the live set. So a matrix decoded
for one live set stays correct for as long as a query asks for that set or part of it:

- a query whose live set equals the cached one is a hit;
- a query for a subset (a search filtered to some documents, or the same bot after a document was
  deleted) is a hit too, masked to the rows of the requested pairs;
- anything else (a re-indexed document, a new document) misses, the store reads the vectors again and
  the new matrix replaces the bot's entry.

Nothing is ever served from a generation that is not live, whatever happened in another process: the
key is the live set, not a timestamp. ``discard`` frees memory early when this process deletes vectors.

One entry per bot (``scope``). Entries are evicted least recently used first until the total stays
within ``max_bytes``; a matrix larger than the whole budget is not cached at all (the store then reads
from the source on every query, as without a cache). ``max_bytes=0`` disables caching.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

Pair = tuple[str, int]
# The default of settings.VECTOR_CACHE_MAX_BYTES: ~170 bots of 1,000 chunks, or 17 of 10,000 (float32).
DEFAULT_CACHE_MAX_BYTES = 256 * 1024 * 1024


def live_pairs(active: Mapping[str, int]) -> frozenset[Pair]:
    """The live set of ``active`` (document id → live generation) as comparable pairs."""
    return frozenset((str(document), int(generation)) for document, generation in active.items())


@dataclass(frozen=True)
class LiveMatrix:
    """A bot's live vectors as one matrix; row ``i`` is ``ordinals[i]`` of ``segments[segment_of_row[i]]``.

    ``approximate`` marks rows decoded from int8 (scores to be rescored exactly); ``row_ids`` is an
    optional per-row key the store uses to fetch the winners' texts.
    """

    live: frozenset[Pair]
    matrix: np.ndarray
    segments: tuple[Pair, ...]
    segment_of_row: np.ndarray
    ordinals: np.ndarray
    approximate: np.ndarray | None = None
    row_ids: np.ndarray | None = None
    nbytes: int = field(init=False)

    def __post_init__(self) -> None:
        arrays = (self.matrix, self.segment_of_row, self.ordinals, self.approximate, self.row_ids)
        size = sum(a.nbytes for a in arrays if a is not None)
        # Segment keys are a few Python strings per document; counted so that many tiny documents do
        # not slip past the bound.
        size += sum(sys.getsizeof(doc) + 64 for doc, _ in self.segments)
        object.__setattr__(self, "nbytes", size)

    def __len__(self) -> int:
        return int(self.matrix.shape[0])

    def rows_of(self, wanted: frozenset[Pair]) -> np.ndarray | None:
        """Boolean mask of the rows in ``wanted`` (a subset of ``live``); None when that is every row."""
        if wanted == self.live:
            return None
        keep = np.fromiter((pair in wanted for pair in self.segments), dtype=bool, count=len(self.segments))
        return keep[self.segment_of_row]


def assemble(
    live: frozenset[Pair],
    blocks: Sequence[tuple[Pair, np.ndarray, np.ndarray, bool]],
    *,
    dim: int,
    row_ids: np.ndarray | None = None,
) -> LiveMatrix:
    """One ``LiveMatrix`` from decoded blocks ``((document, generation), vectors, ordinals, approximate)``."""
    segments: list[Pair] = []
    index: dict[Pair, int] = {}
    for pair, _, _, _ in blocks:
        if pair not in index:
            index[pair] = len(segments)
            segments.append(pair)
    if blocks:
        matrix = np.concatenate([vectors for _, vectors, _, _ in blocks]).astype(np.float32, copy=False)
        segment_of_row = np.concatenate(
            [np.full(len(ordinals), index[pair], dtype=np.int32) for pair, _, ordinals, _ in blocks]
        )
        ordinals = np.concatenate([np.asarray(o, dtype=np.int64) for _, _, o, _ in blocks])
        flags = [np.full(len(o), approx, dtype=bool) for _, _, o, approx in blocks]
        approximate = np.concatenate(flags) if any(approx for *_, approx in blocks) else None
    else:
        matrix = np.empty((0, dim), dtype=np.float32)
        segment_of_row = np.empty(0, dtype=np.int32)
        ordinals = np.empty(0, dtype=np.int64)
        approximate = None
    return LiveMatrix(
        live=live,
        matrix=matrix,
        segments=tuple(segments),
        segment_of_row=segment_of_row,
        ordinals=ordinals,
        approximate=approximate,
        row_ids=row_ids,
    )


class MatrixCache:
    """Thread-safe LRU of ``LiveMatrix`` entries, one per scope, within ``max_bytes`` in total."""

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, LiveMatrix] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def total_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, scope: Hashable, wanted: frozenset[Pair]) -> tuple[LiveMatrix, np.ndarray | None] | None:
        """``(entry, row mask or None)`` when the cached live set covers ``wanted``, else None."""
        with self._lock:
            entry = self._entries.get(scope)
            if entry is None or not wanted <= entry.live:
                return None
            self._entries.move_to_end(scope)
        return entry, entry.rows_of(wanted)

    def store(self, scope: Hashable, entry: LiveMatrix) -> bool:
        """Make ``entry`` the scope's matrix; returns False (and caches nothing) when it exceeds the bound."""
        with self._lock:
            self._pop(scope)
            if entry.nbytes > self.max_bytes:
                return False
            self._entries[scope] = entry
            self._bytes += entry.nbytes
            while self._bytes > self.max_bytes:
                self._pop(next(iter(self._entries)))
            return True

    def discard(self, scope: Hashable, document_id: str | None = None, generation: int | None = None) -> None:
        """Forget the scope's matrix (if it holds ``document_id``'s ``generation`` or any generation)."""
        with self._lock:
            entry = self._entries.get(scope)
            if entry is None:
                return
            if document_id is not None and not any(
                doc == document_id and (generation is None or gen == generation) for doc, gen in entry.live
            ):
                return
            self._pop(scope)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def _pop(self, scope: Hashable) -> None:
        entry = self._entries.pop(scope, None)
        if entry is not None:
            self._bytes -= entry.nbytes
