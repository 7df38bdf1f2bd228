"""Markdown: a deliberately small subset (ATX and setext headings, fenced code, pipe tables).

Markdown detection rule (used by :func:`looks_like_markdown`): content is Markdown when it scores at
least 2 "Markdown signals", where each ATX heading line (``# Title``), setext underline, fenced code
line and inline link ``[text](url)`` is one signal. Bullet lists alone do not count: plain-text
notes use them too.

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
        fence = _FENCE_RE.match(line)
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
