"""The one citation module: reading, renumbering, stripping and placing [n] markers."""

from __future__ import annotations

from integrations.llm.citations import cite, cited_numbers, renumber, renumber_as_sources, strip


def test_groups_are_renumbered_member_by_member():
    # Issue 9: "[2, 3]" was recognised but left as is while "[3]" became "[2]", so the reader's
    # "[3]" pointed at a source that was not there.
    assert renumber_as_sources("…days [2, 3]. Opening [3].", [2, 3]) == "…days [1, 2]. Opening [2]."


def test_unknown_numbers_are_dropped_with_their_space_and_empty_groups_vanish():
    assert renumber_as_sources("A [3]. B [1][3]. C [9]. D [9, 3].", [3, 1]) == "A [1]. B [2][1]. C. D [1]."
    assert renumber("x [1, 1, 2]", {1: 4, 2: 4}) == "x [4]"


def test_cited_numbers_are_valid_deduplicated_and_in_order():
    assert cited_numbers("a [3] b [1, 3] c [7] d [2,1]", 3) == (3, 1, 2)
    assert cited_numbers("[link text](x) and [1-3] are not markers", 5) == ()


def test_strip_and_cite():
    assert strip("Opens at 9 [1]. Closes at 5 [2, 3].") == "Opens at 9. Closes at 5."
    assert cite("Opens at 9.", 2) == "Opens at 9 [2]."
    assert cite("Opens at 9", 2) == "Opens at 9 [2]."
