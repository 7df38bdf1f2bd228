"""Types, errors, limits and text helpers shared by every format of the extraction package.

Linear time is a rule here: every helper does a bounded amount of work per character of input,
because the input is an uploaded file. A regular expression is used only when its shape cannot
backtrack more than a bounded distance (a character class, or one quantified run that stops at a
character the run cannot contain); anything subtler is written as plain string scanning.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

DocumentKind = Literal["pdf", "docx", "text", "markdown"]
BlockKind = Literal["heading", "paragraph", "table"]

DEFAULT_MAX_PAGES = 2000
DEFAULT_MAX_UNCOMPRESSED_BYTES = 200 * 2**20
DEFAULT_MAX_RATIO = 100
DEFAULT_MAX_ZIP_MEMBERS = 10_000
# Small parts of real documents (styles, repeated table XML) can compress >100:1; they are harmless
# because the total-size limit bounds them. The per-member ratio limit only bites above this size.
RATIO_CHECK_MIN_BYTES = 1 * 2**20
# Extra address space the sandboxed child may map on top of what it inherited from the parent.
DEFAULT_CHILD_MEMORY_HEADROOM = 2 * 2**30

SUPPORTED_HINT = "Upload a PDF, Word (.docx), plain-text (.txt) or Markdown (.md) file."
EMPTY_REASON = "The file is empty. Upload a document that contains text."
WHITESPACE_REASON = "The file contains only whitespace. Upload a document that contains text."
TOO_LARGE_REASON = (
    "The file needs too much memory to process; it is too large or malformed. "
    "Split it into smaller files and upload them separately."
)


class ExtractionError(Exception):
    """A user-facing extraction failure. ``reason`` says what went wrong and what to do about it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnsupportedType(ExtractionError):
    """The bytes are not a format Botwright can read (callers map this to HTTP 415)."""


class EmptyDocument(ExtractionError):
    """The file is empty or contains only whitespace (callers map this to HTTP 400)."""


@dataclass(frozen=True)
class Block:
    """One unit of body text in reading order.

    ``page`` is 1-based for PDFs and ``None`` where pages are unknowable (DOCX, text). ``heading_path``
    lists the enclosing headings, outermost first; a heading block's path ends with itself.
    """

    text: str
    page: int | None
    heading_path: tuple[str, ...]
    kind: BlockKind


@dataclass(frozen=True)
class ExtractedDocument:
    """The result of extraction; picklable so it can cross a process boundary.

    ``page_count`` is the PDF's page count and ``None`` for formats without pages. ``warnings`` lists
    non-fatal problems (e.g. a PDF page that could not be read and was skipped).
    """

    kind: DocumentKind
    page_count: int | None
    blocks: list[Block]
    title: str | None
    warnings: list[str] = field(default_factory=list)


def short(exc: BaseException, limit: int = 160) -> str:
    """``Type: message`` on one line, cut to ``limit`` characters, for user-facing reasons."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# A newline, blanks, a newline. Linear: matches start only at a newline and the blank run stops at
# the first non-blank, so the runs examined from successive newlines never overlap.
_BLANK_LINES_RE = re.compile(r"\n[ \t]*\n")
# Control characters other than tab/newline; NUL in particular cannot be stored in PostgreSQL text.
_STRIP_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
# A run of horizontal whitespace (any Unicode space but the newline) longer than any real indentation
# or column gap. Token estimates ignore whitespace, so without this a chunk of a few words could carry
# megabytes of blanks into the database, the embedder and every snippet. Linear: a failed attempt
# looks at most MAX_BLANK_RUN characters ahead, a successful one consumes the run.
MAX_BLANK_RUN = 16
_LONG_BLANK_RUN_RE = re.compile(rf"[^\S\n]{{{MAX_BLANK_RUN + 1},}}")


def clean_text(text: str) -> str:
    """Normalise line endings (form feeds become paragraph breaks), drop control characters and
    trailing blanks of every line, and shorten blank runs longer than MAX_BLANK_RUN to one space."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    text = _STRIP_CONTROL_RE.sub("", text)
    text = _LONG_BLANK_RUN_RE.sub(" ", text)
    return "\n".join(line.rstrip() for line in text.split("\n"))


def paragraphs(text: str) -> Iterator[str]:
    """The non-blank paragraphs of ``text`` (separated by blank lines), stripped."""
    for part in _BLANK_LINES_RE.split(text):
        part = part.strip("\n").rstrip()
        if part.strip():
            yield part.strip()


class HeadingStack:
    """Tracks the enclosing headings; a heading of level L closes every open heading of level >= L."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []

    def push(self, level: int, title: str) -> tuple[str, ...]:
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, title))
        return self.path

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(title for _, title in self._stack)
