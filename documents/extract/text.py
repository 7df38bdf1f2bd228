"""Plain text: decoding (BOM-aware UTF, UTF-8, cp1252, latin-1) and paragraphs.

Text decoding: UTF-8 (BOM optional), UTF-16/UTF-32 with a BOM, then cp1252, then latin-1. UTF-16 without
a BOM contains NUL bytes and is rejected as binary.
"""

from __future__ import annotations

import codecs
import re

from .base import (
    EMPTY_REASON,
    SUPPORTED_HINT,
    WHITESPACE_REASON,
    Block,
    DocumentKind,
    EmptyDocument,
    ExtractedDocument,
    UnsupportedType,
    clean_text,
    paragraphs,
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
_BINARY_REASON = f"The file looks binary, not text. {SUPPORTED_HINT}"


def _decode(data: bytes, encoding: str, *, errors: str, final: bool) -> str:
    # An incremental decoder holds back a character cut off at the end when ``final`` is false.
    return codecs.getincrementaldecoder(encoding)(errors).decode(data, final=final)


def decode_text(data: bytes, *, final: bool = True) -> str:
    """Decode text bytes (BOM-aware UTF, else UTF-8, else cp1252, else latin-1).

    ``final=False`` says ``data`` is a prefix of the file (as when sniffing): a multi-byte character
    cut off at its end is dropped rather than spoiling the decoding. Raises :class:`UnsupportedType`
    when the bytes look binary (NULs or many control characters).
    """
    text: str | None = None
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = _decode(data[len(bom) :], encoding, errors="replace", final=final)
            break
    if text is None:
        if b"\x00" in data:
            raise UnsupportedType(_BINARY_REASON)
        for encoding in ("utf-8", "cp1252"):
            try:
                text = _decode(data, encoding, errors="strict", final=final)
                break
            except UnicodeDecodeError:
                continue
        else:
            text = data.decode("latin-1")
    if text:
        bad = len(_CONTROL_RE.findall(text)) + text.count("\ufffd")
        if bad / len(text) > _MAX_CONTROL_FRACTION:
            raise UnsupportedType(_BINARY_REASON)
    return text


def read_text(data: bytes) -> str:
    """The decoded and cleaned text of a whole text file; :class:`EmptyDocument` if there is none."""
    if not data:
        raise EmptyDocument(EMPTY_REASON)
    return clean_text(decode_text(data))


def text_document(kind: DocumentKind, blocks: list[Block]) -> ExtractedDocument:
    """Wrap the blocks of a text-like file; a lone top-level heading is its title."""
    if not blocks:
        raise EmptyDocument(WHITESPACE_REASON)
    # Several top-level headings are sections, not a title.
    top = [b.text for b in blocks if b.kind == "heading" and len(b.heading_path) == 1]
    title = top[0] if len(top) == 1 else None
    return ExtractedDocument(kind=kind, page_count=None, blocks=blocks, title=title)


def extract_text(data: bytes) -> ExtractedDocument:
    """Plain text: one paragraph block per run of non-blank lines."""
    text = read_text(data)
    blocks = [Block(text=p, page=None, heading_path=(), kind="paragraph") for p in paragraphs(text)]
    return text_document("text", blocks)
