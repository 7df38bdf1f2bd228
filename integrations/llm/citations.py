"""Citation markers ``[n]`` and ``[n, m]`` in answers — the one place that reads and writes them.

Pure (no Django). Used by the prompt builder (old answers lose their markers), every chat model
(which passages an answer cites), the extractive answerer (where a marker goes in a sentence) and the
chat service (prompt numbers rewritten as positions in the answer's ``sources``).

A marker is ``[`` digits, optionally more digits separated by commas, ``]``: ``[2]``, ``[2, 3]``,
``[2,3]``. Anything else in square brackets (``[link text]``, ``[1-3]``, ``[a]``) is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

__all__ = ["MARKER_RE", "cite", "cited_numbers", "renumber", "renumber_as_sources", "strip"]

MARKER_RE = re.compile(r"\[(\d{1,4}(?:\s*,\s*\d{1,4})*)\]")
# A marker and the space before it, for removing markers without leaving "word ." behind.
_MARKER_WITH_SPACE_RE = re.compile(r"[ \t]?" + MARKER_RE.pattern)


def _numbers(group: str) -> list[int]:
    return [int(raw) for raw in group.split(",")]


def cited_numbers(text: str, n_passages: int) -> tuple[int, ...]:
    """Passage numbers cited in ``text``, valid ones only (``1..n_passages``), deduplicated, in order
    of first appearance. Models sometimes cite a number that was never given; it does not count."""
    seen: dict[int, None] = {}
    for match in MARKER_RE.finditer(text):
        for number in _numbers(match.group(1)):
            if 1 <= number <= n_passages:
                seen.setdefault(number, None)
    return tuple(seen)


def renumber(text: str, mapping: Mapping[int, int]) -> str:
    """Rewrite every number of every marker through ``mapping``; numbers it lacks are dropped.

    A group keeps its valid members in their new numbering (``[2, 3]`` with ``{2: 1, 3: 2}`` →
    ``[1, 2]``; with ``{3: 1}`` → ``[1]``); a marker left with no member disappears with the space
    before it, so "open [9]." becomes "open.".
    """

    def rewrite(match: re.Match[str]) -> str:
        kept: dict[int, None] = {}
        for number in _numbers(match.group(1)):
            if number in mapping:
                kept.setdefault(mapping[number], None)
        if not kept:
            return ""
        prefix = match.group(0)[: match.start(1) - match.start(0) - 1]  # the optional space
        return f"{prefix}[{', '.join(str(n) for n in kept)}]"

    return _MARKER_WITH_SPACE_RE.sub(rewrite, text)


def renumber_as_sources(text: str, cited: Sequence[int]) -> str:
    """Prompt passage numbers → positions in ``cited`` (the answer's sources list, 1-based), so a
    reader's ``[n]`` always points at ``sources[n-1]``; markers citing nothing in it are dropped."""
    return renumber(text, {number: position for position, number in enumerate(cited, start=1)})


def strip(text: str) -> str:
    """``text`` without any citation marker (and without the space before each)."""
    return _MARKER_WITH_SPACE_RE.sub("", text)


def cite(sentence: str, number: int) -> str:
    """``sentence`` citing passage ``number``, the marker before the closing punctuation:
    "Opens at 9." → "Opens at 9 [1]."; a sentence without end punctuation gets a full stop."""
    stripped = sentence.rstrip()
    if stripped and stripped[-1] in ".!?":
        return f"{stripped[:-1].rstrip()} [{number}]{stripped[-1]}"
    return f"{stripped} [{number}]."
