"""Structure-aware chunking sized for all-MiniLM-L6-v2 — pure logic, no Django.

The model reads at most 256 word-piece tokens (including ``[CLS]``/``[SEP]``) and silently truncates the
rest, so a chunk that is too long loses text from its embedding. We do not load the real tokenizer here
(it is slow to import and this module must stay dependency-free); :func:`estimate_tokens` is a cheap,
deliberately pessimistic stand-in:

* each run of ASCII letters counts ``ceil(len / 3)`` tokens,
* each run of digits counts ``1 + (len - 1) // 2`` tokens (BERT splits long numbers finely),
* every other non-space character (punctuation, accented or non-Latin letters, CJK) counts 1.

Measured against the real tokenizer on the shared PDF corpus (much German and Latin, whose words split
into many pieces) a 200-token budget gave chunks of 170 real tokens at the median and 231 at most,
including ``[CLS]``/``[SEP]``; for everyday English it overestimates (~150 real tokens per full chunk),
which also suits a model trained on 128-token inputs. Tests re-check the bound with the real tokenizer
when it is installed. A per-letter-run estimate was chosen over "0.75 words per token" because
word-count rules undercount non-English text, URLs and formulas badly.

Chunking contract (:func:`chunk_document`):

* Chunks are contiguous spans of :func:`full_text` (the blocks joined by ``"\\n\\n"``):
  ``chunk.text == full_text(doc)[chunk.char_start:chunk.char_end]``. Nothing is prepended; the heading
  path is metadata that the embedding step may add.
* A section is a heading plus the blocks under it (up to the next heading). A chunk never spans two
  sections, except that a heading directly followed by a sub-heading (no body text of its own) is
  carried into the sub-section's first chunk, so no chunk consists of a bare heading when avoidable.
* Within a section, whole blocks are packed greedily up to ``max_tokens``; a block that does not fit
  starts a new chunk; a block longer than ``max_tokens`` is split at sentence boundaries and a sentence
  longer than ``max_tokens`` is split by words (a "word" longer than the budget by characters).
* Consecutive chunks of one section overlap: the next chunk starts with the trailing sentence(s) of the
  previous one, up to ``overlap_tokens`` (falling back to trailing words when the last sentence alone is
  longer than that).
* ``heading_path`` of a chunk is the path of its first body block (the section's path); ``page_start``/
  ``page_end`` span the pages of the blocks the chunk touches (``None`` when the format has no pages).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

from documents.extract import Block, ExtractedDocument, extract
from documents.extract.base import DEFAULT_CHILD_MEMORY_HEADROOM
from documents.extract.sandbox import run_sandboxed

__all__ = [
    "BLOCK_SEPARATOR",
    "Chunk",
    "chunk_document",
    "estimate_tokens",
    "extract_and_chunk",
    "full_text",
]

BLOCK_SEPARATOR = "\n\n"

# Every pattern here runs over whole documents, so each must be linear in the text's length; the
# comment on each says why it is.
# Linear: one greedy run each, never giving anything back.
_LETTERS_RE = re.compile(r"[A-Za-z]+")
_DIGITS_RE = re.compile(r"[0-9]+")
# Sentence ends: terminal punctuation (plus closing quotes/brackets) before whitespace. The
# lookbehind lets a match start only at the first mark of a run: without it, "z ....w" tried a match
# from every dot, each scanning to the end of the run (quadratic). Equivalent, because every end a
# later start could reach is also reachable from the run's first mark.
_SENTENCE_END_RE = re.compile(r"(?<![.!?…;:])[.!?…;:]+[\"'”’)\]]*(?=\s)")
# A newline that starts a list item or a Markdown/ASCII table row is also a cut point. Linear: starts
# only at a newline, and the blank run it scans stops before the next one.
_LINE_CUT_RE = re.compile(r"\n(?=[ \t]*(?:[-*+•|]|\d{1,3}[.)])[ \t])")
_WORD_RE = re.compile(r"\S+")


@dataclass(frozen=True)
class Chunk:
    """A span of :func:`full_text` sized for embedding. ``ordinal`` is 0-based and dense."""

    ordinal: int
    text: str
    page_start: int | None
    page_end: int | None
    heading_path: tuple[str, ...]
    char_start: int
    char_end: int


@dataclass(frozen=True)
class _Unit:
    start: int  # absolute offsets into full_text, no surrounding whitespace
    end: int
    tokens: int
    block: int  # index into doc.blocks
    block_end: bool  # the last unit of its block


def estimate_tokens(text: str) -> int:
    """Pessimistic word-piece count of ``text`` for the MiniLM (BERT uncased) tokenizer; see module doc."""
    # Every non-space character costs 1, then each ASCII letter or digit run is re-priced: the same
    # count as pricing the pieces of [A-Za-z]+|[0-9]+|\S one by one, without a Python step per
    # punctuation mark (a page of dots is as common in hostile uploads as in tables of contents).
    total = sum(map(len, text.split()))
    for run in _LETTERS_RE.findall(text):
        total += (len(run) + 2) // 3 - len(run)
    for run in _DIGITS_RE.findall(text):
        total += (len(run) + 1) // 2 - len(run)
    return total


def full_text(doc: ExtractedDocument) -> str:
    """The document text that chunk offsets refer to: block texts joined by a blank line."""
    return BLOCK_SEPARATOR.join(block.text for block in doc.blocks)


def chunk_document(doc: ExtractedDocument, *, max_tokens: int = 200, overlap_tokens: int = 30) -> list[Chunk]:
    """Split ``doc`` into overlapping, section-aligned chunks of at most ``max_tokens`` estimated tokens.

    See the module docstring for the full contract. Raises ``ValueError`` for an unusable budget.
    """
    _check_budget(max_tokens, overlap_tokens)
    text = full_text(doc)
    starts: list[int] = []
    offset = 0
    for block in doc.blocks:
        starts.append(offset)
        offset += len(block.text) + len(BLOCK_SEPARATOR)

    chunks: list[Chunk] = []
    for section in _sections(doc.blocks):
        units: list[_Unit] = []
        for index in section:
            units.extend(_block_units(doc.blocks[index], index, starts[index], max_tokens))
        for start, end in _pack(units, text, max_tokens=max_tokens, overlap_tokens=overlap_tokens):
            chunks.append(_make_chunk(len(chunks), doc.blocks, starts, text, start, end))
    return chunks


def extract_and_chunk(
    data: bytes,
    kind: str,
    *,
    timeout_s: float,
    max_tokens: int = 200,
    overlap_tokens: int = 30,
    memory_headroom_bytes: int | None = DEFAULT_CHILD_MEMORY_HEADROOM,
    **limits: Any,
) -> tuple[ExtractedDocument, list[Chunk]]:
    """Extract untrusted ``data`` of ``kind`` and chunk it, both inside the extraction sandbox.

    Chunking walks the same attacker-chosen text as extraction, so it gets the same child process,
    deadline and memory cap (``documents.extract.sandbox.run_sandboxed``). ``limits`` are
    ``extract``'s; raises ``ExtractionError`` like ``extract_with_timeout``.
    """
    _check_budget(max_tokens, overlap_tokens)
    return run_sandboxed(
        _extract_and_chunk_job,
        (data, kind, limits, max_tokens, overlap_tokens),
        timeout_s=timeout_s,
        memory_headroom_bytes=memory_headroom_bytes,
    )


def _extract_and_chunk_job(
    data: bytes, kind: str, limits: dict[str, Any], max_tokens: int, overlap_tokens: int
) -> tuple[ExtractedDocument, list[Chunk]]:
    document = extract(data, kind, **limits)
    return document, chunk_document(document, max_tokens=max_tokens, overlap_tokens=overlap_tokens)


def _check_budget(max_tokens: int, overlap_tokens: int) -> None:
    if max_tokens < 8:
        raise ValueError("max_tokens must be at least 8")
    if not 0 <= overlap_tokens <= max_tokens // 2:
        raise ValueError("overlap_tokens must be between 0 and max_tokens // 2")


def _sections(blocks: list[Block]) -> list[list[int]]:
    """Group block indices into sections; a heading opens a new one unless the open one is headings only
    and this heading is nested inside it."""
    sections: list[list[int]] = []
    # Whether the open section holds only headings, kept as we go: recomputing it per block was
    # quadratic on a file of thousands of identical headings (each counts as nested in the last).
    headings_only = False
    for index, block in enumerate(blocks):
        if not sections:
            sections.append([index])
            headings_only = block.kind == "heading"
            continue
        current = sections[-1]
        last = blocks[current[-1]]
        if block.kind == "heading":
            nested = headings_only and block.heading_path[: len(last.heading_path)] == last.heading_path
            new_section = not nested
        else:
            # Body text whose path differs from the section's (e.g. a PDF bookmark not found in the
            # page text) also starts a section, so chunks never straddle two headings.
            new_section = not headings_only and block.heading_path != last.heading_path
        if new_section:
            sections.append([index])
            headings_only = block.kind == "heading"
        else:
            current.append(index)
            headings_only = headings_only and block.kind == "heading"
    return sections


def _block_units(block: Block, index: int, base: int, max_tokens: int) -> list[_Unit]:
    spans = _sentence_spans(block.text, table=block.kind == "table")
    pieces: list[tuple[int, int, int]] = []
    for start, end in spans:
        tokens = estimate_tokens(block.text[start:end])
        if tokens <= max_tokens:
            pieces.append((start, end, tokens))
        else:
            pieces.extend(_split_long(block.text, start, end, max_tokens))
    units = [
        _Unit(start=base + s, end=base + e, tokens=t, block=index, block_end=False) for s, e, t in pieces
    ]
    if units:
        last = units[-1]
        units[-1] = _Unit(last.start, last.end, last.tokens, last.block, True)
    return units


def _sentence_spans(text: str, *, table: bool) -> list[tuple[int, int]]:
    cuts = {m.end() for m in _SENTENCE_END_RE.finditer(text)}
    cuts.update(m.start() for m in _LINE_CUT_RE.finditer(text))
    if table:
        cuts.update(m.start() for m in re.finditer("\n", text))
    cuts.add(len(text))
    spans: list[tuple[int, int]] = []
    previous = 0
    for cut in sorted(cuts):
        segment = text[previous:cut]
        stripped = segment.strip()
        if stripped:
            lead = len(segment) - len(segment.lstrip())
            spans.append((previous + lead, previous + lead + len(stripped)))
        previous = cut
    return spans


def _split_long(text: str, start: int, end: int, max_tokens: int) -> list[tuple[int, int, int]]:
    """Hard-split text[start:end] into word windows (character windows for giant words) within budget."""
    pieces: list[tuple[int, int, int]] = []
    piece_start: int | None = None
    piece_end = start
    piece_tokens = 0
    for match in _WORD_RE.finditer(text, start, end):
        word_tokens = estimate_tokens(match.group())
        if word_tokens > max_tokens:
            if piece_start is not None:
                pieces.append((piece_start, piece_end, piece_tokens))
                piece_start, piece_tokens = None, 0
            pieces.extend(_split_chars(text, match.start(), match.end(), max_tokens))
            continue
        if piece_start is not None and piece_tokens + word_tokens > max_tokens:
            pieces.append((piece_start, piece_end, piece_tokens))
            piece_start, piece_tokens = None, 0
        if piece_start is None:
            piece_start = match.start()
        piece_end = match.end()
        piece_tokens += word_tokens
    if piece_start is not None:
        pieces.append((piece_start, piece_end, piece_tokens))
    return pieces


def _split_chars(text: str, start: int, end: int, max_tokens: int) -> list[tuple[int, int, int]]:
    pieces: list[tuple[int, int, int]] = []
    position = start
    while position < end:
        # Every character costs at most one estimated token, so max_tokens characters always fit;
        # extend greedily in steps for the common case of cheap (ASCII letter) characters.
        stop = min(end, position + max_tokens)
        step = max_tokens
        while stop < end and step >= 1:
            candidate = min(end, stop + step)
            if estimate_tokens(text[position:candidate]) <= max_tokens:
                stop = candidate
            else:
                step //= 2
        pieces.append((position, stop, estimate_tokens(text[position:stop])))
        position = stop
    return pieces


def _pack(units: list[_Unit], text: str, *, max_tokens: int, overlap_tokens: int) -> list[tuple[int, int]]:
    """Greedy packing of one section's units into (char_start, char_end) spans with overlap."""
    spans: list[tuple[int, int]] = []
    if not units:
        return spans
    prefix = [0]
    for unit in units:
        prefix.append(prefix[-1] + unit.tokens)

    first = 0  # first whole unit of the chunk being built
    lead_start: int | None = None  # char offset where the overlap lead-in starts (before units[first])
    lead_tokens = 0
    while first < len(units):
        budget = max_tokens - lead_tokens
        # Largest `last` with sum(tokens[first:last]) <= budget.
        last = bisect_right(prefix, prefix[first] + budget, lo=first + 1) - 1
        if last <= first:
            if lead_start is not None:
                # The lead-in leaves no room for the next unit: drop the overlap rather than the text.
                lead_start, lead_tokens = None, 0
                continue
            last = first + 1  # unreachable while units respect the budget; guarantees progress anyway
        if last < len(units) and not units[last - 1].block_end:
            # Prefer ending at a block boundary if that still uses a fair share of the budget.
            for candidate in range(last - 1, first - 1, -1):
                if units[candidate].block_end:
                    if lead_tokens + prefix[candidate + 1] - prefix[first] >= 0.4 * max_tokens:
                        last = candidate + 1
                    break
        start = units[first].start if lead_start is None else lead_start
        spans.append((start, units[last - 1].end))
        if last >= len(units):
            break
        lead_start, lead_tokens = _overlap(units, first, last, text, overlap_tokens)
        first = last
    return spans


def _overlap(
    units: list[_Unit], first: int, last: int, text: str, overlap_tokens: int
) -> tuple[int | None, int]:
    """Where the next chunk's lead-in starts: trailing whole units of units[first:last] within the
    overlap budget, else the trailing words of the last unit."""
    if overlap_tokens <= 0:
        return None, 0
    tokens = 0
    start: int | None = None
    for index in range(last - 1, first - 1, -1):
        if tokens + units[index].tokens > overlap_tokens:
            break
        tokens += units[index].tokens
        start = units[index].start
    if start is not None:
        return start, tokens
    unit = units[last - 1]
    words = list(_WORD_RE.finditer(text, unit.start, unit.end))
    tokens = 0
    for match in reversed(words[1:]):  # never the whole unit: that case was handled above
        word_tokens = estimate_tokens(match.group())
        if tokens + word_tokens > overlap_tokens:
            break
        tokens += word_tokens
        start = match.start()
    return (start, tokens) if start is not None else (None, 0)


def _make_chunk(
    ordinal: int, blocks: list[Block], starts: list[int], text: str, char_start: int, char_end: int
) -> Chunk:
    first = bisect_right(starts, char_start) - 1
    last = bisect_right(starts, char_end - 1) - 1
    touched = blocks[first : last + 1]
    pages = [block.page for block in touched if block.page is not None]
    body = next((block for block in touched if block.kind != "heading"), touched[-1])
    return Chunk(
        ordinal=ordinal,
        text=text[char_start:char_end],
        page_start=min(pages) if pages else None,
        page_end=max(pages) if pages else None,
        heading_path=body.heading_path,
        char_start=char_start,
        char_end=char_end,
    )
