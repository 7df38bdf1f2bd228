"""Markdown: a deliberately small subset (ATX and setext headings, fenced code, pipe tables), plus
reStructuredText section titles (documentation sets such as Django's ship ``.txt`` files in reST).

Markdown detection rule (used by :func:`looks_like_markdown`): content is Markdown when it scores at
least 2 "Markdown signals", where each ATX heading line (``# Title``), setext underline, fenced code
line and inline link ``[text](url)`` is one signal. Bullet lists alone do not count: plain-text
notes use them too.

reStructuredText titles: a title line underlined (optionally also overlined) by a run of one
punctuation character at least as long as the title. reST has no fixed levels: the first style seen
(character, and whether overlined) is level 1, the next new one level 2, and so on. A document
"uses reST titles" when it has an overlined title or an underline other than ``=``/``-``; only then
are ``~~~``/backtick runs under a title read as adornments instead of code fences, so Markdown
files keep their fences.

Every line test here is linear in the line's length. The obvious regular expressions for an ATX
heading (optional closing hashes after a lazy title) and a table separator (optional blanks around
optional pipes) backtrack quadratically on a long run of blanks, so those are plain string scanning.
"""

from __future__ import annotations

import re

from .base import Block, ExtractedDocument, HeadingStack
from .text import read_text, text_document

_BLANKS = " \t"
# Linear: anchored, and each is one quantified run followed by a fixed tail.
_SETEXT_RE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_LIST_ITEM_RE = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])\s")
# An inline link. Neither part may contain "[", so the text scanned from one "[" never reaches past
# the next "[": the scans from successive starts cover disjoint stretches and the search is linear.
# (Allowing "[" inside, as CommonMark does, makes "[a]([a]([a](..." quadratic.)
_LINK_RE = re.compile(r"\[[^\[\]\n]+\]\([^\[)\s]+\)")
# The characters reST allows for section adornments (the recommended set).
_REST_ADORNMENTS = frozenset("=-`:'\"~^_*+#<>")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def atx_heading(line: str) -> tuple[int, str] | None:
    """``(level, title)`` when ``line`` is an ATX heading (``## Title ##``), else ``None``.

    The title is ``""`` for a bare ``##``. Closing hashes count as closing only after a blank.
    """
    if _indent(line) > 3:
        return None
    rest = line.lstrip(" ")
    level = len(rest) - len(rest.lstrip("#"))
    if not 1 <= level <= 6:
        return None
    rest = rest[level:]
    if not rest:
        return level, ""
    if rest[0] not in _BLANKS:
        return None  # "#hashtag", or more than six hashes
    title = rest.strip(_BLANKS)
    if title.endswith("#"):
        opened = title.rstrip("#")
        if opened[-1:] in (" ", "\t"):
            title = opened.rstrip(_BLANKS)
    return level, title


def _is_thematic_break(line: str) -> bool:
    """``---``, ``* * *``, ``___``: three or more of one marker, blanks between allowed."""
    if _indent(line) > 3:
        return False
    rest = line.lstrip(" ")
    if not rest or rest[0] not in "-*_":
        return False
    marks = rest.replace(" ", "").replace("\t", "")
    return len(marks) >= 3 and marks.count(rest[0]) == len(marks)


def _is_table_separator(line: str) -> bool:
    """A pipe-table delimiter row: ``|---|:---:|``, outer pipes optional, each cell ``:?-{3,}:?``."""
    row = line.strip()
    row = row[1:] if row.startswith("|") else row
    row = row[:-1] if row.endswith("|") else row
    for cell in row.split("|"):
        cell = cell.strip()
        cell = cell[1:] if cell.startswith(":") else cell
        cell = cell[:-1] if cell.endswith(":") else cell
        if len(cell) < 3 or cell.count("-") != len(cell):
            return False
    return True


def _is_list_item(line: str) -> bool:
    return _LIST_ITEM_RE.match(line) is not None


def _adornment(line: str) -> str | None:
    """The character of a reST adornment line (a run of >= 3 of one punctuation character), else None."""
    run = line.rstrip(_BLANKS)
    if len(run) < 3 or run[0] not in _REST_ADORNMENTS or run.count(run[0]) != len(run):
        return None
    return run[0]


def _underlines(title: str, line: str) -> str | None:
    """The adornment character when ``line`` underlines ``title`` in reST (at least as long), else None."""
    char = _adornment(line)
    text = title.strip()
    if char is None or not text or title[:1] in _BLANKS or _adornment(title) is not None:
        return None
    return char if len(line.rstrip(_BLANKS)) >= len(text) else None


def _overlined(lines: list[str], i: int) -> tuple[str, str] | None:
    """``(char, title)`` when lines ``i..i+2`` are an overline, a title and the same underline."""
    if i + 2 >= len(lines):
        return None
    over, title, under = lines[i], lines[i + 1], lines[i + 2]
    char = _adornment(over)
    if char is None or _adornment(under) != char or not title.strip() or _adornment(title) is not None:
        return None
    if len(over.rstrip(_BLANKS)) < len(title.strip()):
        return None
    return char, title.strip()


def _uses_rest_titles(lines: list[str]) -> bool:
    """An overlined title, or a title underlined by a character Markdown's setext does not use."""
    for i, line in enumerate(lines):
        if _overlined(lines, i) is not None:
            return True
        if i and (i < 2 or not lines[i - 2].strip()):
            char = _underlines(lines[i - 1], line)
            if char is not None and char not in "=-":
                return True
    return False


class _SectionLevels:
    """reST levels by first appearance of each adornment style (character, overlined or not)."""

    def __init__(self) -> None:
        self._levels: dict[tuple[str, bool], int] = {}

    def level(self, char: str, overlined: bool) -> int:
        style = (char, overlined)
        if style not in self._levels:
            self._levels[style] = min(len(self._levels) + 1, 6)
        return self._levels[style]


def looks_like_markdown(text: str) -> bool:
    """Whether ``text`` shows at least two Markdown signals (see the module docstring)."""
    signals = 0
    previous = ""
    for line in text.splitlines():
        heading = atx_heading(line)
        if heading is not None and heading[1]:
            signals += 1
        elif _FENCE_RE.match(line):
            signals += 1  # each fence line counts; a closed block is two signals
        elif previous.strip() and _SETEXT_RE.match(line) and atx_heading(previous) is None:
            signals += 1
        elif _underlines(previous, line) is not None:
            signals += 1  # a reST title ("Title" over "~~~~~")
        if signals >= 2:
            return True
        previous = line
    for _ in _LINK_RE.finditer(text):
        signals += 1
        if signals >= 2:
            return True
    return False


def markdown_blocks(text: str) -> list[Block]:
    """Parse headings, paragraphs, fenced code and pipe tables into blocks in reading order."""
    blocks: list[Block] = []
    headings = HeadingStack()
    pending: list[str] = []
    lines = text.split("\n")
    rest_titles = _uses_rest_titles(lines)
    levels = _SectionLevels()

    def flush() -> None:
        if pending:
            body = "\n".join(pending).strip()
            if body:
                is_table = len(pending) >= 2 and _is_table_separator(pending[1])
                blocks.append(
                    Block(
                        text=body,
                        page=None,
                        heading_path=headings.path,
                        kind="table" if is_table else "paragraph",
                    )
                )
            pending.clear()

    def heading(level: int, title: str) -> None:
        flush()
        title = title.strip()
        if title:
            blocks.append(
                Block(text=title, page=None, heading_path=headings.push(level, title), kind="heading")
            )

    i = 0
    while i < len(lines):
        line = lines[i]
        if rest_titles and not pending:
            over = _overlined(lines, i)
            if over is not None:
                heading(levels.level(over[0], True), over[1])
                i += 3
                continue
        if rest_titles and len(pending) == 1:
            char = _underlines(pending[0], line)
            if char is not None:
                title = pending.pop()
                heading(levels.level(char, False), title)
                i += 1
                continue
        fence = _FENCE_RE.match(line)
        if fence and rest_titles and _adornment(line) is not None:
            fence = None  # reST has no fences: a bare "~~~~" run there is an adornment or a transition
        if fence:
            # A fenced block is kept verbatim as one paragraph; '#' inside it is code, not a heading.
            flush()
            marker = fence.group(1)
            code = [line]
            i += 1
            while i < len(lines):
                code.append(lines[i])
                closing = _FENCE_RE.match(lines[i])
                i += 1
                if closing and closing.group(1)[0] == marker[0] and len(closing.group(1)) >= len(marker):
                    break
            body = "\n".join(code).strip()
            blocks.append(Block(text=body, page=None, heading_path=headings.path, kind="paragraph"))
            continue
        atx = atx_heading(line)
        if atx is not None:
            heading(*atx)
        elif pending and _SETEXT_RE.match(line) and not _is_list_item(pending[-1]):
            title = " ".join(part.strip() for part in pending)
            pending.clear()
            heading(1 if line.strip().startswith("=") else 2, title)
        elif not line.strip() or _is_thematic_break(line):
            flush()
        else:
            pending.append(line)
        i += 1
    flush()
    return blocks


def extract_markdown(data: bytes) -> ExtractedDocument:
    return text_document("markdown", markdown_blocks(read_text(data)))
