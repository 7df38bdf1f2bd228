"""Turn uploaded bytes into structured text blocks — pure logic, no Django.

Contract
--------
* :func:`sniff_type` decides the format from the *content* (a ``.pdf`` name on a text file is text),
  reading a bounded prefix of text files.
* :func:`extract` returns an :class:`ExtractedDocument` whose blocks are in reading order, or raises
  :class:`ExtractionError` whose ``reason`` tells the uploader what went wrong and what to do.
  Every failure a user can cause (corrupt, encrypted, scanned, oversized, hostile files) surfaces as
  ``ExtractionError``; :class:`UnsupportedType` (map to HTTP 415) and :class:`EmptyDocument` (map to 400)
  are subclasses.
* :func:`extract_with_timeout` runs :func:`extract` in a child process that is killed after a deadline
  and has a memory cap, because parsers can loop or recurse for a very long time on crafted input
  (``documents.chunking.extract_and_chunk`` runs chunking there too).
* Work is linear in the input size: no regular expression applied to file content can backtrack
  quadratically (see :mod:`documents.extract.base`).

One module per format (:mod:`.pdf`, :mod:`.docx`, :mod:`.text`, :mod:`.markdown`), plus :mod:`.sniff`,
the dispatch in :mod:`.formats` and the child process in :mod:`.sandbox`.
"""

from __future__ import annotations

from .base import (
    Block,
    BlockKind,
    DocumentKind,
    EmptyDocument,
    ExtractedDocument,
    ExtractionError,
    UnsupportedType,
)
from .formats import extract
from .sandbox import extract_with_timeout
from .sniff import sniff_type
from .text import decode_text

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
