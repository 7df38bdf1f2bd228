"""PDF: pypdf page by page; page numbers kept, bookmarks become headings."""

from __future__ import annotations

import contextlib
import io
import logging
import re
from typing import Any

# Imported eagerly (not inside the extractor) so that forked extraction children inherit the loaded
# modules instead of paying ~0.1 s of imports per document.
import pypdf
from pypdf import PasswordType

from .base import (
    TOO_LARGE_REASON,
    Block,
    ExtractedDocument,
    ExtractionError,
    HeadingStack,
    clean_text,
    paragraphs,
    short,
)

_PASSWORD_REASON = "The PDF is password-protected; upload an unencrypted copy."
_SCANNED_REASON = "No extractable text: the PDF looks scanned (images only); OCR is not supported."
_MAX_OUTLINE_ENTRIES = 5000
# "2.1 " before a heading's text. Linear: anchored, and the dots between the digit runs leave each
# run exactly one way to be matched, so a failed match backtracks at most once over the line.
_SECTION_NUMBER_RE = re.compile(r"^(?:[A-Z]|\d+)(?:\.\d+)*\.?\s+")


def _pdf_corrupt(exc: BaseException) -> ExtractionError:
    return ExtractionError(f"The PDF could not be read (corrupt or truncated file): {short(exc)}")


def extract_pdf(data: bytes, *, max_pages: int) -> ExtractedDocument:
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            # An empty user password is common ("owner password only" PDFs); such files open anyway.
            try:
                decrypted = reader.decrypt("")
            except Exception as exc:  # noqa: BLE001 - unsupported algorithm, missing crypto library
                raise ExtractionError(
                    f"The PDF is encrypted in a way that cannot be opened ({short(exc)}); "
                    "upload an unencrypted copy."
                )
            if decrypted == PasswordType.NOT_DECRYPTED:
                raise ExtractionError(_PASSWORD_REASON)
        page_count = len(reader.pages)
    except ExtractionError:
        raise
    except MemoryError:
        raise ExtractionError(TOO_LARGE_REASON)
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
    headings = HeadingStack()
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
                raise ExtractionError(TOO_LARGE_REASON)
            except Exception as exc:  # noqa: BLE001 - skip the broken page, keep the readable ones
                failed_pages += 1
                first_error = first_error or exc
                warnings.append(f"Page {index + 1} could not be read and was skipped ({short(exc, 80)}).")
                continue
            blocks.extend(_pdf_page_blocks(clean_text(raw), index + 1, outline.get(index, []), headings))
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
        title = clean_text(title).strip()
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
    text: str, page: int, outline: list[tuple[int, str]], headings: HeadingStack
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
        for paragraph in paragraphs("\n".join(pending)):
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
