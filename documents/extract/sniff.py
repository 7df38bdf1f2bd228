"""Decide a file's format from its content; the name only separates text from Markdown.

A ``.pdf`` name on a text file is text. Text is judged on a bounded prefix (:data:`SNIFF_BYTES`), so
sniffing inside an upload request costs the same for every file size; the whole file is decoded
later, in the extraction sandbox. Other names (``.txt``) do not veto Markdown structure, since
treating ``# Heading`` lines as headings only adds metadata.
"""

from __future__ import annotations

import io
import zipfile

from .base import (
    EMPTY_REASON,
    SUPPORTED_HINT,
    WHITESPACE_REASON,
    DocumentKind,
    EmptyDocument,
    ExtractionError,
    UnsupportedType,
    short,
)
from .docx import NOT_DOCX_REASON
from .markdown import looks_like_markdown
from .text import decode_text

# How much of a text file decides "text or Markdown, or binary after all".
SNIFF_BYTES = 256 * 2**10

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
_MARKDOWN_SUFFIXES = (".md", ".markdown")


def sniff_type(data: bytes, filename: str = "") -> DocumentKind:
    """Return the document kind of ``data`` by content; ``filename`` only separates text from Markdown.

    Raises :class:`EmptyDocument` for empty/whitespace-only input, :class:`UnsupportedType` for formats
    we cannot read, and :class:`ExtractionError` for a file named ``.docx`` whose ZIP is broken.
    """
    if not data:
        raise EmptyDocument(EMPTY_REASON)
    if not data.strip():
        raise EmptyDocument(WHITESPACE_REASON)
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _sniff_zip(data, filename)
    for signature, label in _BINARY_SIGNATURES:
        if data.startswith(signature):
            raise UnsupportedType(f"Unsupported file type ({label}). {SUPPORTED_HINT}")
    prefix = data[:SNIFF_BYTES]
    whole = len(prefix) == len(data)
    text = decode_text(prefix, final=whole)
    if whole and not text.strip():
        raise EmptyDocument(WHITESPACE_REASON)
    if filename.lower().endswith(_MARKDOWN_SUFFIXES) or looks_like_markdown(text):
        return "markdown"
    return "text"


def _sniff_zip(data: bytes, filename: str) -> DocumentKind:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except Exception as exc:  # noqa: BLE001 - zipfile raises several types on garbage
        if filename.lower().endswith(".docx"):
            raise ExtractionError(
                f"The Word file could not be read (corrupt or truncated ZIP: {short(exc)}). "
                "Re-save it in Word and upload it again."
            )
        raise UnsupportedType(f"Unsupported file type (damaged ZIP archive). {SUPPORTED_HINT}")
    if "word/document.xml" in names and "[Content_Types].xml" in names:
        return "docx"
    raise UnsupportedType(NOT_DOCX_REASON)
