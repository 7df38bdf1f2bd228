"""The matrix cache both vector stores search from: live-set keys, subset masks, LRU by bytes."""

from __future__ import annotations

import numpy as np
import pytest

from integrations.vectors.cache import MatrixCache, assemble, live_pairs

DIM = 8


def _entry(active: dict[str, int], rows_per_document: int = 4):
    blocks = [
        (
            (doc, gen),
            np.full((rows_per_document, DIM), i, dtype=np.float32),
            np.arange(rows_per_document),
            False,
        )
        for i, (doc, gen) in enumerate(sorted(active.items()))
    ]
    return assemble(live_pairs(active), blocks, dim=DIM)


def test_a_lookup_hits_the_same_live_set_and_masks_a_subset():
    cache = MatrixCache(10**6)
    entry = _entry({"a": 1, "b": 2, "c": 1})
    cache.store("bot", entry)

    hit, mask = cache.lookup("bot", live_pairs({"a": 1, "b": 2, "c": 1}))
    assert hit is entry and mask is None

    hit, mask = cache.lookup("bot", live_pairs({"b": 2}))
    assert hit is entry
    assert mask.tolist() == [False] * 4 + [True] * 4 + [False] * 4


@pytest.mark.parametrize(
    "active",
    [
        {"a": 1, "b": 3, "c": 1},  # b re-indexed: generation 3 was never loaded
        {"a": 1, "b": 2, "c": 1, "d": 1},  # a new document
        {"a": 2},  # a subset by id, but of another generation
    ],
)
def test_a_live_set_the_entry_does_not_cover_misses(active):
    cache = MatrixCache(10**6)
    cache.store("bot", _entry({"a": 1, "b": 2, "c": 1}))

    assert cache.lookup("bot", live_pairs(active)) is None
    assert cache.lookup("other bot", live_pairs({"a": 1})) is None


def test_entries_are_evicted_least_recently_used_first_to_stay_within_the_byte_bound():
    one = _entry({"a": 1}, rows_per_document=100)
    cache = MatrixCache(max_bytes=int(one.nbytes * 2.5))
    cache.store("bot-1", one)
    cache.store("bot-2", _entry({"a": 1}, rows_per_document=100))
    assert cache.lookup("bot-1", live_pairs({"a": 1})) is not None  # bot-1 is now the most recent

    cache.store("bot-3", _entry({"a": 1}, rows_per_document=100))

    assert cache.lookup("bot-2", live_pairs({"a": 1})) is None
    assert cache.lookup("bot-1", live_pairs({"a": 1})) is not None
    assert cache.lookup("bot-3", live_pairs({"a": 1})) is not None
    assert len(cache) == 2 and cache.total_bytes <= cache.max_bytes
    assert cache.total_bytes == 2 * one.nbytes


def test_an_entry_larger_than_the_bound_is_not_cached_and_replaces_nothing_stale():
    small = _entry({"a": 1}, rows_per_document=2)
    big = _entry({"a": 2}, rows_per_document=1000)
    cache = MatrixCache(max_bytes=big.nbytes - 1)
    cache.store("bot", small)

    assert cache.store("bot", big) is False

    # The old entry is gone too: the bot's live set moved on, it could only ever miss.
    assert len(cache) == 0 and cache.total_bytes == 0
    assert MatrixCache(0).store("bot", small) is False


def test_byte_accounting_counts_every_array_and_the_segment_keys():
    entry = _entry({"a": 1, "b": 1}, rows_per_document=10)
    arrays = entry.matrix.nbytes + entry.segment_of_row.nbytes + entry.ordinals.nbytes
    assert arrays < entry.nbytes < arrays + 1024


def test_discard_drops_an_entry_only_when_it_holds_that_document_generation():
    cache = MatrixCache(10**6)
    cache.store("bot", _entry({"a": 1, "b": 2}))

    cache.discard("bot", "b", 1)  # a failed, never-live generation: the entry stays
    cache.discard("bot", "zzz")
    assert len(cache) == 1

    cache.discard("bot", "b", 2)
    assert len(cache) == 0 and cache.total_bytes == 0

    cache.store("bot", _entry({"a": 1}))
    cache.discard("bot")
    assert len(cache) == 0
