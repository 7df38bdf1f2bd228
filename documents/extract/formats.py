"""The extraction entry point: a kind from :func:`~documents.extract.sniff.sniff_type` → its reader.

A new format (HTML, PPTX) is a module with an ``extract_<format>(data, ...)`` function, one branch
here, and a rule in :mod:`documents.extract.sniff`.
"""

from __future__ import annotations

from .base import (
    DEFAULT_MAX_PAGES,
    DEFAULT_MAX_RATIO,
    DEFAULT_MAX_UNCOMPRESSED_BYTES,
    DEFAULT_MAX_ZIP_MEMBERS,
    SUPPORTED_HINT,
    ExtractedDocument,
    UnsupportedType,
)
from .docx import extract_docx
from .markdown import extract_markdown
from .pdf import extract_pdf
from .text import extract_text


def extract(
    data: bytes,
    kind: str,
    *,
    max_pages: int = DEFAULT_MAX_PAGES,
    max_uncompressed_bytes: int = DEFAULT_MAX_UNCOMPRESSED_BYTES,
    max_ratio: int = DEFAULT_MAX_RATIO,
    max_zip_members: int = DEFAULT_MAX_ZIP_MEMBERS,
) -> ExtractedDocument:
    """Extract ``data`` of ``kind`` (as returned by ``sniff_type``) into blocks in reading order.

    Raises :class:`ExtractionError` (or a subclass) for every problem caused by the file itself.
    Runs in-process with no time bound; untrusted uploads should go through ``extract_with_timeout``
    or ``documents.chunking.extract_and_chunk``.
    """
    if kind == "pdf":
        return extract_pdf(data, max_pages=max_pages)
    if kind == "docx":
        return extract_docx(
            data,
            max_uncompressed_bytes=max_uncompressed_bytes,
            max_ratio=max_ratio,
            max_members=max_zip_members,
        )
    if kind == "text":
        return extract_text(data)
    if kind == "markdown":
        return extract_markdown(data)
    raise UnsupportedType(f"Unsupported document kind {kind!r}. {SUPPORTED_HINT}")
