"""Turn uploaded bytes into structured text blocks — pure logic, no Django.

Contract
--------
* :func:`sniff_type` decides the format from the *content* (a ``.pdf`` name on a text file is text).
* :func:`extract` returns an :class:`ExtractedDocument` whose blocks are in reading order, or raises
  :class:`ExtractionError` whose ``reason`` tells the uploader what went wrong and what to do.
  Every failure a user can cause (corrupt, encrypted, scanned, oversized, hostile files) surfaces as
  ``ExtractionError``; :class:`UnsupportedType` (map to HTTP 415) and :class:`EmptyDocument` (map to 400)
  are subclasses.
* :func:`extract_with_timeout` runs :func:`extract` in a child process that is killed after a deadline,
  because parsers can loop or recurse for a very long time on crafted input.

Markdown detection rule (used by :func:`sniff_type`): a text file is Markdown when its name ends in
``.md``/``.markdown``, or when its content scores at least 2 "Markdown signals", where each ATX heading
line (``# Title``), setext underline, fenced code block and inline link ``[text](url)`` is one signal.
Bullet lists alone do not count: plain-text notes use them too. Other names (``.txt``) do not veto
Markdown structure, since treating ``# Heading`` lines as headings only adds metadata.

Text decoding: UTF-8 (BOM optional), UTF-16/UTF-32 with a BOM, then cp1252, then latin-1. UTF-16 without
a BOM contains NUL bytes and is rejected as binary.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import logging
import multiprocessing
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

# Imported eagerly (not inside the extractors) so that forked extraction children inherit the loaded
# modules instead of paying ~0.1 s of imports per document.
import docx
import docx.table
import docx.text.paragraph
import pypdf
from pypdf import PasswordType

__all__ = [
    "Block",
    "BlockKind",
    "DocumentKind",
    "EmptyDocument",
    "ExtractedDocument",
    "ExtractionError",
    "UnsupportedType",
    "decode_text",
    "extract",
    "extract_with_timeout",
    "sniff_type",
]

DocumentKind = Literal["pdf", "docx", "text", "markdown"]
BlockKind = Literal["heading", "paragraph", "table"]
KINDS: tuple[str, ...] = ("pdf", "docx", "text", "markdown")

DEFAULT_MAX_PAGES = 2000
DEFAULT_MAX_UNCOMPRESSED_BYTES = 200 * 2**20
DEFAULT_MAX_RATIO = 100
DEFAULT_MAX_ZIP_MEMBERS = 10_000
# Small parts of real documents (styles, repeated table XML) can compress >100:1; they are harmless
# because the total-size limit bounds them. The per-member ratio limit only bites above this size.
RATIO_CHECK_MIN_BYTES = 1 * 2**20
# Extra address space the extraction child may map on top of what it inherited from the parent.
DEFAULT_CHILD_MEMORY_HEADROOM = 2 * 2**30

SUPPORTED_HINT = "Upload a PDF, Word (.docx), plain-text (.txt) or Markdown (.md) file."

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------------
# Errors and results
# --------------------------------------------------------------------------------------------------


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
    """The result of :func:`extract`; picklable so it can cross a process boundary.

    ``page_count`` is the PDF's page count and ``None`` for formats without pages. ``warnings`` lists
    non-fatal problems (e.g. a PDF page that could not be read and was skipped).
    """

    kind: DocumentKind
    page_count: int | None
    blocks: list[Block]
    title: str | None
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------------
# Type sniffing and text decoding
# --------------------------------------------------------------------------------------------------

_BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"II*\x00", "TIFF image"),
    (b"MM\x00*", "TIFF image"),
    (b"BM", "BMP image"),
    (b"RIFF", "RIFF media file"),
    (b"MZ", "Windows executable"),
    (b"\x7fELF", "ELF executable"),
    (b"\x1f\x8b", "gzip archive"),
    (b"BZh", "bzip2 archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"Rar!", "RAR archive"),
    (b"\xfd7zXZ\x00", "xz archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "legacy Microsoft Office file (.doc/.xls/.ppt)"),
    (b"{\\rtf", "RTF document"),
)
_BOMS: tuple[tuple[bytes, str], ...] = (
    # UTF-32 first: its little-endian BOM starts with the UTF-16 one.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# C0/C1 control characters other than tab, newline, vertical tab, form feed and carriage return.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_MAX_CONTROL_FRACTION = 0.02

_ATX_RE = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT_RE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_LINK_RE = re.compile(r"\[[^\]\n]+\]\([^)\s]+\)")
_MARKDOWN_SUFFIXES = (".md", ".markdown")


def decode_text(data: bytes) -> str:
    """Decode text bytes (BOM-aware UTF, else UTF-8, else cp1252, else latin-1).

    Raises :class:`UnsupportedType` when the bytes look binary (NULs or many control characters).
    """
    text: str | None = None
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = data[len(bom) :].decode(encoding, errors="replace")
            break
    if text is None:
        if b"\x00" in data:
            raise UnsupportedType(f"The file looks binary, not text. {SUPPORTED_HINT}")
        for encoding in ("utf-8", "cp1252"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            text = data.decode("latin-1")
    if text:
        bad = len(_CONTROL_RE.findall(text)) + text.count("\ufffd")
        if bad / len(text) > _MAX_CONTROL_FRACTION:
            raise UnsupportedType(f"The file looks binary, not text. {SUPPORTED_HINT}")
    return text


def _markdown_signals(text: str) -> int:
    signals = 0
    previous = ""
    for line in text.splitlines():
        m = _ATX_RE.match(line)
        if m and m.group(2):
            signals += 1
        elif _FENCE_RE.match(line):
            signals += 1  # each fence line counts; a closed block is two signals
        elif previous.strip() and _SETEXT_RE.match(line) and not _ATX_RE.match(previous):
            signals += 1
        previous = line
    signals += len(_LINK_RE.findall(text))
    return signals


def sniff_type(data: bytes, filename: str = "") -> DocumentKind:
    """Return the document kind of ``data`` by content; ``filename`` only separates text from Markdown.

    Raises :class:`EmptyDocument` for empty/whitespace-only input, :class:`UnsupportedType` for formats
    we cannot read, and :class:`ExtractionError` for a file named ``.docx`` whose ZIP is broken.
    """
    if not data:
        raise EmptyDocument("The file is empty. Upload a document that contains text.")
    if not data.strip():
        raise EmptyDocument("The file contains only whitespace. Upload a document that contains text.")
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _sniff_zip(data, filename)
    for signature, label in _BINARY_SIGNATURES:
        if data.startswith(signature):
            raise UnsupportedType(f"Unsupported file type ({label}). {SUPPORTED_HINT}")
    text = decode_text(data)
    if not text.strip():
        raise EmptyDocument("The file contains only whitespace. Upload a document that contains text.")
    if filename.lower().endswith(_MARKDOWN_SUFFIXES) or _markdown_signals(text) >= 2:
        return "markdown"
    return "text"


def _sniff_zip(data: bytes, filename: str) -> DocumentKind:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except Exception as exc:  # noqa: BLE001 - zipfile raises several types on garbage
        if filename.lower().endswith(".docx"):
            raise ExtractionError(
                f"The Word file could not be read (corrupt or truncated ZIP: {_short(exc)}). "
                "Re-save it in Word and upload it again."
            )
        raise UnsupportedType(f"Unsupported file type (damaged ZIP archive). {SUPPORTED_HINT}")
    if "word/document.xml" in names and "[Content_Types].xml" in names:
        return "docx"
    raise UnsupportedType(f"Unsupported file type (a ZIP archive that is not a Word .docx). {SUPPORTED_HINT}")


# --------------------------------------------------------------------------------------------------
# Extraction entry points
# --------------------------------------------------------------------------------------------------


def extract(
    data: bytes,
    kind: str,
    *,
    max_pages: int = DEFAULT_MAX_PAGES,
    max_uncompressed_bytes: int = DEFAULT_MAX_UNCOMPRESSED_BYTES,
    max_ratio: int = DEFAULT_MAX_RATIO,
    max_zip_members: int = DEFAULT_MAX_ZIP_MEMBERS,
) -> ExtractedDocument:
    """Extract ``data`` of ``kind`` (as returned by :func:`sniff_type`) into blocks in reading order.

    Raises :class:`ExtractionError` (or a subclass) for every problem caused by the file itself.
    Runs in-process with no time bound; untrusted uploads should go through
    :func:`extract_with_timeout`.
    """
    if kind == "pdf":
        return _extract_pdf(data, max_pages=max_pages)
    if kind == "docx":
        return _extract_docx(
            data,
            max_uncompressed_bytes=max_uncompressed_bytes,
            max_ratio=max_ratio,
            max_members=max_zip_members,
        )
    if kind in ("text", "markdown"):
        if not data:
            raise EmptyDocument("The file is empty. Upload a document that contains text.")
        text = _clean_text(decode_text(data))
        blocks = _markdown_blocks(text) if kind == "markdown" else _text_blocks(text)
        if not blocks:
            raise EmptyDocument("The file contains only whitespace. Upload a document that contains text.")
        # A lone top-level heading is the document's title; several are sections, not a title.
        top = [b.text for b in blocks if b.kind == "heading" and len(b.heading_path) == 1]
        title = top[0] if len(top) == 1 else None
        return ExtractedDocument(kind=kind, page_count=None, blocks=blocks, title=title)  # type: ignore[arg-type]
    raise UnsupportedType(f"Unsupported document kind {kind!r}. {SUPPORTED_HINT}")


def extract_with_timeout(
    data: bytes,
    kind: str,
    *,
    timeout_s: float,
    memory_headroom_bytes: int | None = DEFAULT_CHILD_MEMORY_HEADROOM,
    **limits: Any,
) -> ExtractedDocument:
    """Run :func:`extract` in a child process and kill it after ``timeout_s`` seconds.

    Uses a bare ``Process`` and ``Pipe`` (no ``Pool``/``Queue``): those need POSIX semaphores in
    ``/dev/shm``, which AWS Lambda lacks. When no child can be started (no ``fork``, a daemonic
    parent, resource limits) extraction runs in-process without the time bound. The child's
    address space is capped at its inherited size plus ``memory_headroom_bytes`` (Linux, best effort),
    so a memory blow-up becomes a clean error instead of an OOM kill of the whole worker.
    """
    try:
        context = multiprocessing.get_context("fork")
    except ValueError:  # platforms without fork (Windows); spawn re-imports this module in the child
        context = multiprocessing.get_context()
    parent_conn, child_conn = context.Pipe(duplex=False)
    process = context.Process(
        target=_child_main,
        args=(child_conn, data, kind, memory_headroom_bytes, limits),
        name="botwright-extract",
        daemon=True,
    )
    try:
        process.start()
    except (OSError, AssertionError, ValueError) as exc:  # AssertionError: daemonic parents can't fork
        parent_conn.close()
        child_conn.close()
        logger.warning("extraction child could not start (%s); extracting in-process", exc)
        return extract(data, kind, **limits)
    child_conn.close()  # so that recv() sees EOF if the child dies without answering
    try:
        if not parent_conn.poll(timeout_s):
            raise ExtractionError(
                f"Extraction took longer than {timeout_s:g} s; the file is too complex or malformed. "
                "Try re-saving it (e.g. print to PDF) or splitting it into smaller files."
            )
        try:
            status, payload = parent_conn.recv()
        except (EOFError, OSError):
            process.join(1)
            raise ExtractionError(
                f"The extractor crashed on this file (exit code {process.exitcode}); it is probably "
                "malformed or too large. Try re-saving it or splitting it into smaller files."
            )
    finally:
        parent_conn.close()
        if process.is_alive():
            process.kill()
        process.join(5)
        with contextlib.suppress(Exception):
            process.close()
    if status == "ok":
        return payload
    error_class = {"UnsupportedType": UnsupportedType, "EmptyDocument": EmptyDocument}.get(
        payload[0], ExtractionError
    )
    raise error_class(payload[1])


def _child_main(
    conn: Any, data: bytes, kind: str, memory_headroom_bytes: int | None, limits: dict[str, Any]
) -> None:
    # pypdf logs a warning per odd font or object; in the throwaway child they are only noise, so keep
    # them from the inherited root handlers (the damage collector in _extract_pdf still sees them).
    pypdf_logger = logging.getLogger("pypdf")
    pypdf_logger.setLevel(logging.WARNING)
    pypdf_logger.propagate = False
    pypdf_logger.addHandler(logging.NullHandler())
    if memory_headroom_bytes is not None:
        _limit_address_space(memory_headroom_bytes)
    try:
        result: tuple[str, Any] = ("ok", extract(data, kind, **limits))
    except ExtractionError as exc:
        result = ("error", (type(exc).__name__, exc.reason))
    except MemoryError:
        result = ("error", ("ExtractionError", _TOO_LARGE_REASON))
    except BaseException as exc:  # noqa: BLE001 - anything else still deserves a clean answer
        result = ("error", ("ExtractionError", f"The file could not be processed: {_short(exc)}"))
    try:
        conn.send(result)
    finally:
        conn.close()
        # Skip atexit handlers and buffered-IO flushing inherited from the forked parent.
        os._exit(0)


def _limit_address_space(headroom: int) -> None:
    try:
        import resource

        with open("/proc/self/statm") as statm:
            current = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        wanted = current + headroom
        if hard != resource.RLIM_INFINITY:
            wanted = min(wanted, hard)
        if soft == resource.RLIM_INFINITY or wanted < soft:
            resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))
    except Exception:  # noqa: BLE001, S110 - best effort: not Linux, or limits not adjustable
        pass


_TOO_LARGE_REASON = (
    "The file needs too much memory to process; it is too large or malformed. "
    "Split it into smaller files and upload them separately."
)


def _short(exc: BaseException, limit: int = 160) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------------------------------
# Shared text helpers
# --------------------------------------------------------------------------------------------------

_BLANK_LINES_RE = re.compile(r"\n[ \t]*\n")
# Control characters other than tab/newline; NUL in particular cannot be stored in PostgreSQL text.
_STRIP_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def _clean_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    text = _STRIP_CONTROL_RE.sub("", text)
    return "\n".join(line.rstrip() for line in text.split("\n"))


def _paragraphs(text: str) -> Iterator[str]:
    for part in _BLANK_LINES_RE.split(text):
        part = part.strip("\n").rstrip()
        if part.strip():
            yield part.strip()


def _text_blocks(text: str) -> list[Block]:
    return [Block(text=p, page=None, heading_path=(), kind="paragraph") for p in _paragraphs(text)]


class _HeadingStack:
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


# --------------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------------

_TABLE_SEPARATOR_RE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_THEMATIC_BREAK_RE = re.compile(r"^ {0,3}([-*_])([ \t]*\1){2,}[ \t]*$")


def _markdown_blocks(text: str) -> list[Block]:
    """Parse headings, paragraphs, fenced code and pipe tables (a deliberately small Markdown subset)."""
    blocks: list[Block] = []
    headings = _HeadingStack()
    pending: list[str] = []
    lines = text.split("\n")

    def flush() -> None:
        if pending:
            body = "\n".join(pending).strip()
            if body:
                is_table = len(pending) >= 2 and _TABLE_SEPARATOR_RE.match(pending[1]) is not None
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
        atx = _ATX_RE.match(line)
        if atx:
            heading(len(atx.group(1)), atx.group(2) or "")
        elif pending and _SETEXT_RE.match(line) and not _is_list_item(pending[-1]):
            title = " ".join(part.strip() for part in pending)
            pending.clear()
            heading(1 if line.strip().startswith("=") else 2, title)
        elif not line.strip() or _THEMATIC_BREAK_RE.match(line):
            flush()
        else:
            pending.append(line)
        i += 1
    flush()
    return blocks


_LIST_ITEM_RE = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])\s")


def _is_list_item(line: str) -> bool:
    return _LIST_ITEM_RE.match(line) is not None


# --------------------------------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------------------------------

_PASSWORD_REASON = "The PDF is password-protected; upload an unencrypted copy."
_SCANNED_REASON = "No extractable text: the PDF looks scanned (images only); OCR is not supported."
_MAX_OUTLINE_ENTRIES = 5000
_SECTION_NUMBER_RE = re.compile(r"^(?:[A-Z]|\d+)(?:\.\d+)*\.?\s+")


def _pdf_corrupt(exc: BaseException) -> ExtractionError:
    return ExtractionError(f"The PDF could not be read (corrupt or truncated file): {_short(exc)}")


def _extract_pdf(data: bytes, *, max_pages: int) -> ExtractedDocument:
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            # An empty user password is common ("owner password only" PDFs); such files open anyway.
            try:
                decrypted = reader.decrypt("")
            except Exception as exc:  # noqa: BLE001 - unsupported algorithm, missing crypto library
                raise ExtractionError(
                    f"The PDF is encrypted in a way that cannot be opened ({_short(exc)}); "
                    "upload an unencrypted copy."
                )
            if decrypted == PasswordType.NOT_DECRYPTED:
                raise ExtractionError(_PASSWORD_REASON)
        page_count = len(reader.pages)
    except ExtractionError:
        raise
    except MemoryError:
        raise ExtractionError(_TOO_LARGE_REASON)
    except Exception as exc:  # noqa: BLE001 - pypdf raises TypeError, RecursionError, ... on corrupt files
        raise _pdf_corrupt(exc)

    if page_count > max_pages:
        raise ExtractionError(
            f"The PDF has {page_count} pages; the limit is {max_pages}. Split it into smaller files."
        )
    if page_count == 0:
        raise ExtractionError("The PDF has no pages; it is probably corrupt or truncated.")

    outline = _pdf_outline(reader)
    title = _pdf_title(reader)
    warnings: list[str] = []
    blocks: list[Block] = []
    headings = _HeadingStack()
    first_error: BaseException | None = None
    failed_pages = 0
    # pypdf logs (rather than raises) some damage, e.g. a content stream that fails to inflate, and
    # then returns no text; collect those so a broken file is not reported as "scanned". (In-process
    # extraction on parallel threads may see each other's records; the child-process path cannot.)
    collector = _ErrorCollector()
    pypdf_logger = logging.getLogger("pypdf")
    pypdf_logger.addHandler(collector)
    try:
        for index in range(page_count):
            try:
                raw = reader.pages[index].extract_text() or ""
            except MemoryError:
                raise ExtractionError(_TOO_LARGE_REASON)
            except Exception as exc:  # noqa: BLE001 - skip the broken page, keep the readable ones
                failed_pages += 1
                first_error = first_error or exc
                warnings.append(f"Page {index + 1} could not be read and was skipped ({_short(exc, 80)}).")
                continue
            blocks.extend(_pdf_page_blocks(_clean_text(raw), index + 1, outline.get(index, []), headings))
    finally:
        pypdf_logger.removeHandler(collector)

    if not blocks:
        if failed_pages and first_error is not None:
            raise _pdf_corrupt(first_error)
        if collector.messages:
            detail = " ".join(collector.messages[0].split())[:160]
            raise ExtractionError(f"The PDF could not be read (corrupt or truncated file): {detail}")
        raise ExtractionError(_SCANNED_REASON)
    if collector.messages:
        detail = " ".join(collector.messages[0].split())[:160]
        warnings.append(f"Parts of the PDF could not be decoded and may be missing ({detail}).")
    return ExtractedDocument(kind="pdf", page_count=page_count, blocks=blocks, title=title, warnings=warnings)


class _ErrorCollector(logging.Handler):
    """Keeps the first few damage reports pypdf logs while one document is extracted: errors, and
    warnings from its stream filters (a content stream that does not decompress)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        damage = record.levelno >= logging.ERROR or record.name.startswith("pypdf.filters")
        if damage and len(self.messages) < 10:
            with contextlib.suppress(Exception):
                self.messages.append(record.getMessage())


def _pdf_title(reader: Any) -> str | None:
    try:
        metadata = reader.metadata
        title = metadata.title if metadata is not None else None
    except Exception:  # noqa: BLE001 - metadata is optional and often broken
        return None
    if isinstance(title, str):
        title = _clean_text(title).strip()
        return title or None
    return None


def _pdf_outline(reader: Any) -> dict[int, list[tuple[int, str]]]:
    """Map 0-based page index -> [(depth, title), ...] in outline order; empty on any problem."""
    entries: dict[int, list[tuple[int, str]]] = {}
    count = 0

    def walk(items: Any, depth: int) -> None:
        nonlocal count
        for item in items:
            if count >= _MAX_OUTLINE_ENTRIES or depth > 8:
                return
            if isinstance(item, list):
                walk(item, depth + 1)
                continue
            title = " ".join(str(getattr(item, "title", "") or "").split())
            page = reader.get_destination_page_number(item)
            if title and isinstance(page, int) and page >= 0:
                entries.setdefault(page, []).append((depth, title))
                count += 1

    try:
        walk(reader.outline, 0)
    except Exception:  # noqa: BLE001 - bookmarks are a bonus; a broken outline must not fail the PDF
        return {}
    return entries


def _normalise_heading(text: str) -> str:
    return " ".join(text.split()).casefold()


def _pdf_page_blocks(
    text: str, page: int, outline: list[tuple[int, str]], headings: _HeadingStack
) -> list[Block]:
    """Split a page into paragraphs; lines equal to this page's bookmark titles become heading blocks.

    Bookmarks whose title is not found on the page still set the heading path from the page start.
    """
    lines = text.split("\n")
    # Titles can repeat on one page ("Summary" under two chapters): match each entry once, in order.
    wanted: dict[str, list[int]] = {}
    for position, (_, title) in enumerate(outline):
        wanted.setdefault(_normalise_heading(title), []).append(position)
    matched_lines: dict[int, tuple[int, str]] = {}
    unmatched = set(range(len(outline)))
    for number, line in enumerate(lines):
        for key in (
            _normalise_heading(line),
            _normalise_heading(_SECTION_NUMBER_RE.sub("", line.strip(), count=1)),
        ):
            if wanted.get(key):
                position = wanted[key].pop(0)
                unmatched.discard(position)
                matched_lines[number] = outline[position]
                break
    for position in sorted(unmatched):  # bookmarks not found in the text
        depth, title = outline[position]
        headings.push(depth + 1, title)

    blocks: list[Block] = []
    pending: list[str] = []

    def flush() -> None:
        for paragraph in _paragraphs("\n".join(pending)):
            blocks.append(Block(text=paragraph, page=page, heading_path=headings.path, kind="paragraph"))
        pending.clear()

    for number, line in enumerate(lines):
        if number in matched_lines:
            flush()
            depth, title = matched_lines[number]
            path = headings.push(depth + 1, title)
            blocks.append(Block(text=line.strip(), page=page, heading_path=path, kind="heading"))
        else:
            pending.append(line)
    flush()
    return blocks


# --------------------------------------------------------------------------------------------------
# DOCX
# --------------------------------------------------------------------------------------------------

_DTD_MARKERS = tuple(
    marker.encode(encoding)
    for marker in ("<!DOCTYPE", "<!ENTITY", "<!doctype", "<!entity")
    for encoding in ("ascii", "utf-16-le", "utf-16-be")
)
_XML_SUFFIXES = (".xml", ".rels", ".vml")
_W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_HEADING_STYLE_RE = re.compile(r"^heading\s*([1-9])$", re.IGNORECASE)


def _docx_corrupt(exc: BaseException) -> ExtractionError:
    return ExtractionError(
        f"The Word file could not be read (corrupt or not a valid .docx: {_short(exc)}). "
        "Re-save it in Word and upload it again."
    )


def _check_docx_archive(
    data: bytes, *, max_uncompressed_bytes: int, max_ratio: int, max_members: int
) -> None:
    """Reject zip bombs and XML with DTDs before python-docx parses anything.

    Sizes come from the ZIP directory, which may lie; that is safe because ``zipfile`` stops reading a
    member at its declared size (and fails the CRC check), so the declared total bounds what is read.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001
        raise _docx_corrupt(exc)
    with archive:
        infos = archive.infolist()
        if len(infos) > max_members:
            raise ExtractionError(
                f"The Word file contains {len(infos)} parts (limit {max_members}); it looks like a zip "
                "bomb or a damaged file. Re-save it in Word and upload it again."
            )
        total = sum(info.file_size for info in infos)
        if total > max_uncompressed_bytes:
            raise ExtractionError(
                f"The Word file expands to {total / 2**20:.1f} MiB when unpacked (limit "
                f"{max_uncompressed_bytes / 2**20:.1f} MiB); it looks like a zip bomb. "
                "Remove large embedded media or split the document."
            )
        for info in infos:
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > RATIO_CHECK_MIN_BYTES and ratio > max_ratio:
                raise ExtractionError(
                    f"The Word file part {info.filename!r} has a compression ratio of {ratio:.0f}:1 "
                    f"(limit {max_ratio}:1); it looks like a zip bomb and was not unpacked."
                )
        names = {info.filename for info in infos}
        if "word/document.xml" not in names or "[Content_Types].xml" not in names:
            raise UnsupportedType(
                f"Unsupported file type (a ZIP archive that is not a Word .docx). {SUPPORTED_HINT}"
            )
        for info in infos:
            if not info.filename.lower().endswith(_XML_SUFFIXES) and info.filename != "[Content_Types].xml":
                continue
            try:
                raw = archive.read(info)
            except Exception as exc:  # noqa: BLE001 - CRC errors, truncated members, bad compression
                raise _docx_corrupt(exc)
            if any(marker in raw for marker in _DTD_MARKERS):
                # Blocks billion-laughs expansion and XXE file/network reads in one rule: Office
                # never writes DTDs, so any DOCTYPE/ENTITY is hostile or broken.
                raise ExtractionError(
                    f"The Word file was rejected: its part {info.filename!r} declares a DTD or XML "
                    "entities, which Word documents never contain (possible XML bomb or XXE attack). "
                    "Re-save it in Word and upload it again."
                )


def _extract_docx(
    data: bytes, *, max_uncompressed_bytes: int, max_ratio: int, max_members: int
) -> ExtractedDocument:
    _check_docx_archive(
        data, max_uncompressed_bytes=max_uncompressed_bytes, max_ratio=max_ratio, max_members=max_members
    )
    try:
        # python-docx parses with lxml and resolve_entities=False; lxml's defaults also forbid network
        # access and DTD loading. The DTD scan above is the primary defence.
        document = docx.Document(io.BytesIO(data))
        blocks, first_heading = _docx_blocks(document)
        core_title = (document.core_properties.title or "").strip()
    except ExtractionError:
        raise
    except MemoryError:
        raise ExtractionError(_TOO_LARGE_REASON)
    except Exception as exc:  # noqa: BLE001 - python-docx/lxml raise many types on malformed parts
        raise _docx_corrupt(exc)
    if not blocks:
        raise EmptyDocument("The Word document contains no text. Upload a document that contains text.")
    return ExtractedDocument(
        kind="docx", page_count=None, blocks=blocks, title=core_title or first_heading or None
    )


def _docx_blocks(document: Any) -> tuple[list[Block], str | None]:
    Table = docx.table.Table  # noqa: N806
    Paragraph = docx.text.paragraph.Paragraph  # noqa: N806
    blocks: list[Block] = []
    headings = _HeadingStack()
    first_heading: str | None = None
    body = document.element.body

    def walk(container: Any) -> None:
        nonlocal first_heading
        for child in container.iterchildren():
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag == f"{{{_W_NS}}}p":
                paragraph = Paragraph(child, document._body)
                text = _clean_text(paragraph.text).strip()
                if not text:
                    continue
                level = _docx_heading_level(paragraph)
                if level is None:
                    blocks.append(Block(text=text, page=None, heading_path=headings.path, kind="paragraph"))
                else:
                    title = " ".join(text.split())
                    first_heading = first_heading or title
                    blocks.append(
                        Block(text=text, page=None, heading_path=headings.push(level, title), kind="heading")
                    )
            elif tag == f"{{{_W_NS}}}tbl":
                text = _docx_table_text(Table(child, document._body))
                if text:
                    blocks.append(Block(text=text, page=None, heading_path=headings.path, kind="table"))
            elif tag == f"{{{_W_NS}}}sdt":
                # Content controls wrap ordinary body content (templates, tables of contents).
                content = child.find(f"{{{_W_NS}}}sdtContent")
                if content is not None:
                    walk(content)

    walk(body)
    return blocks, first_heading


def _docx_heading_level(paragraph: Any) -> int | None:
    try:
        name = (paragraph.style.name or "") if paragraph.style is not None else ""
    except Exception:  # noqa: BLE001 - a dangling style reference is not worth failing the file
        return None
    if name.strip().lower() == "title":
        return 0
    match = _HEADING_STYLE_RE.match(name.strip())
    return int(match.group(1)) if match else None


def _docx_table_text(table: Any) -> str:
    rows: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            # A merged cell is returned once per grid column it spans; keep it once.
            if previous is not None and cell._tc is previous:
                continue
            previous = cell._tc
            cells.append(" ".join(_clean_text(cell.text).split()))
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)
