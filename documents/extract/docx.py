"""Word .docx: zip-bomb and DTD checks on the raw archive, then python-docx in body order.

Every XML part is checked for a DTD, whatever its name: python-docx finds the main part through the
package relationships, so a part called ``word/main.bin`` can be the document. A part counts as XML
when its first character, in the encoding an XML parser would detect (XML 1.0 appendix F: byte-order
mark, or the first four bytes, then the ``encoding`` declaration), is ``<``; anything else fails
to parse before a DTD could be read. An XML part is searched for ``<!DOCTYPE``/``<!ENTITY`` as bytes
in ASCII, UTF-16 and UTF-32 (either byte order, any alignment) and as text decoded in its detected
and declared encodings; a part whose encoding cannot be decoded here (EBCDIC, an unknown name) is
refused rather than trusted.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from typing import Any

# Imported eagerly (not inside the extractor) so that forked extraction children inherit the loaded
# modules instead of paying ~0.1 s of imports per document. (Absolute imports: this is python-docx.)
import docx
import docx.styles.style
from docx.enum.style import WD_STYLE_TYPE

from .base import (
    RATIO_CHECK_MIN_BYTES,
    SUPPORTED_HINT,
    TOO_LARGE_REASON,
    Block,
    EmptyDocument,
    ExtractedDocument,
    ExtractionError,
    HeadingStack,
    UnsupportedType,
    clean_text,
    short,
)

NOT_DOCX_REASON = f"Unsupported file type (a ZIP archive that is not a Word .docx). {SUPPORTED_HINT}"
_W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_P, _R, _HYPERLINK, _TBL, _TR, _TC, _SDT, _SDT_CONTENT = (
    f"{{{_W_NS}}}{name}" for name in ("p", "r", "hyperlink", "tbl", "tr", "tc", "sdt", "sdtContent")
)
# What python-docx's run text is made of (docx.oxml.text.run.CT_R.text).
_RUN_TEXT_TAGS = tuple(f"{{{_W_NS}}}{name}" for name in ("br", "cr", "noBreakHyphen", "ptab", "t", "tab"))
# Linear: anchored, one blank run, one digit.
_HEADING_STYLE_RE = re.compile(r"^heading\s*([1-9])$", re.IGNORECASE)

_DTD_MARKERS = ("<!DOCTYPE", "<!ENTITY")
# Linear: every alternative is a fixed string.
_DTD_TEXT_RE = re.compile("|".join(re.escape(m) for m in _DTD_MARKERS), re.IGNORECASE)
_DTD_BYTES_RE = re.compile(
    b"|".join(
        re.escape(marker.encode(encoding))
        for marker in _DTD_MARKERS
        for encoding in ("ascii", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
    ),
    re.IGNORECASE,
)
# (leading bytes, encoding or None for one we refuse, length of the byte-order mark): XML 1.0
# appendix F. The UTF-32 little-endian mark comes first because it starts with the UTF-16 one.
_XML_SIGNATURES: tuple[tuple[bytes, str | None, int], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le", 4),
    (codecs.BOM_UTF32_BE, "utf-32-be", 4),
    (codecs.BOM_UTF8, "utf-8", 3),
    (codecs.BOM_UTF16_LE, "utf-16-le", 2),
    (codecs.BOM_UTF16_BE, "utf-16-be", 2),
    (b"\x00\x00\x00<", "utf-32-be", 0),
    (b"<\x00\x00\x00", "utf-32-le", 0),
    (b"\x00\x00<\x00", None, 0),  # UCS-4 in an unusual byte order
    (b"\x00<\x00\x00", None, 0),
    (b"\x00<\x00?", "utf-16-be", 0),
    (b"<\x00?\x00", "utf-16-le", 0),
    (b"Lo\xa7\x94", None, 0),  # "<?xm" in EBCDIC
)
_XML_HEAD_BYTES = 4096
# The encoding pseudo-attribute of an XML declaration. Linear: starts only at the literal word.
_DECLARED_ENCODING_RE = re.compile(r"""\bencoding[ \t\r\n]*=[ \t\r\n]*["']([^"'<>?\s]{1,64})["']""")


def _docx_corrupt(exc: BaseException) -> ExtractionError:
    return ExtractionError(
        f"The Word file could not be read (corrupt or not a valid .docx: {short(exc)}). "
        "Re-save it in Word and upload it again."
    )


def _dtd_refused(name: str) -> ExtractionError:
    # Blocks billion-laughs expansion and XXE file/network reads in one rule: Office never writes
    # DTDs, so any DOCTYPE/ENTITY is hostile or broken.
    return ExtractionError(
        f"The Word file was rejected: its part {name!r} declares a DTD or XML entities, which Word "
        "documents never contain (possible XML bomb or XXE attack). Re-save it in Word and upload it again."
    )


def _encoding_refused(name: str, encoding: str) -> ExtractionError:
    return ExtractionError(
        f"The Word file was rejected: its part {name!r} uses a character encoding ({encoding}) that "
        "cannot be checked for DTDs; Word writes XML in UTF-8 or UTF-16. "
        "Re-save it in Word and upload it again."
    )


def _xml_encodings(name: str, head: bytes) -> tuple[int, list[str]] | None:
    """``(byte-order-mark length, encodings to decode the part in)`` when the part starting with
    ``head`` can be XML, else ``None``. Raises when it is XML in an encoding we cannot decode."""
    detected, bom = next(
        ((encoding, length) for signature, encoding, length in _XML_SIGNATURES if head.startswith(signature)),
        ("utf-8", 0),
    )
    if detected is None:
        raise _encoding_refused(name, "EBCDIC or UCS-4 in an unusual byte order")
    text = head[bom:].decode(detected, errors="replace").lstrip(" \t\r\n")
    if not text.startswith("<"):
        return None
    encodings = [detected]
    declaration = text[: text.find("?>")] if text.startswith("<?xml") else ""
    declared = _DECLARED_ENCODING_RE.search(declaration)
    if declared:
        try:
            "".encode(declared.group(1))
        except LookupError:  # unknown, or a bytes-to-bytes codec such as base64
            raise _encoding_refused(name, declared.group(1)) from None
        encodings.append(declared.group(1))
    return bom, encodings


def _check_xml_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    with archive.open(info) as member:
        head = member.read(_XML_HEAD_BYTES)
        found = _xml_encodings(info.filename, head)
        if found is None:
            return
        raw = head + member.read()
    bom, encodings = found
    if _DTD_BYTES_RE.search(raw):
        raise _dtd_refused(info.filename)
    for encoding in dict.fromkeys(encodings):
        if codecs.lookup(encoding).name == "utf-8":
            continue  # ASCII bytes are never part of a UTF-8 sequence: the byte search covered it
        try:
            text = raw[bom:].decode(encoding, errors="replace")
        except (LookupError, ValueError) as exc:  # a codec without the "replace" handler
            raise _encoding_refused(info.filename, f"{encoding}: {short(exc, 60)}") from None
        if _DTD_TEXT_RE.search(text):
            raise _dtd_refused(info.filename)


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
            raise UnsupportedType(NOT_DOCX_REASON)
        for info in infos:
            if info.is_dir():
                continue
            try:
                _check_xml_part(archive, info)
            except ExtractionError:
                raise
            except Exception as exc:  # noqa: BLE001 - CRC errors, truncated members, bad compression
                raise _docx_corrupt(exc)


def extract_docx(
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
        raise ExtractionError(TOO_LARGE_REASON)
    except Exception as exc:  # noqa: BLE001 - python-docx/lxml raise many types on malformed parts
        raise _docx_corrupt(exc)
    if not blocks:
        raise EmptyDocument("The Word document contains no text. Upload a document that contains text.")
    return ExtractedDocument(
        kind="docx", page_count=None, blocks=blocks, title=core_title or first_heading or None
    )


def _docx_blocks(document: Any) -> tuple[list[Block], str | None]:
    blocks: list[Block] = []
    headings = HeadingStack()
    first_heading: str | None = None
    heading_level = _HeadingLevels(document)

    def walk(container: Any) -> None:
        nonlocal first_heading
        for child in container.iterchildren():
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag == _P:
                text = clean_text(_paragraph_text(child)).strip()
                if not text:
                    continue
                level = heading_level(child.style)
                if level is None:
                    blocks.append(Block(text=text, page=None, heading_path=headings.path, kind="paragraph"))
                else:
                    title = " ".join(text.split())
                    first_heading = first_heading or title
                    blocks.append(
                        Block(text=text, page=None, heading_path=headings.push(level, title), kind="heading")
                    )
            elif tag == _TBL:
                text = _docx_table_text(child)
                if text:
                    blocks.append(Block(text=text, page=None, heading_path=headings.path, kind="table"))
            elif tag == _SDT:
                # Content controls wrap ordinary body content (templates, tables of contents).
                content = child.find(_SDT_CONTENT)
                if content is not None:
                    walk(content)

    walk(document.element.body)
    return blocks, first_heading


class _HeadingLevels:
    """The heading level (0 for "Title", 1-9 for "Heading N") of a paragraph's style id, resolved as
    python-docx's ``Paragraph.style`` does (no id, an unknown id, or the id of a character or table
    style means the default paragraph style), from one pass over the styles: python-docx rescans
    every style for every paragraph, quadratic in a file of many paragraphs and many styles."""

    def __init__(self, document: Any) -> None:
        self._levels: dict[str | None, int | None] = {}
        self._by_id: dict[str, Any] = {}
        self._default: Any = None
        try:
            for element in document.styles.element.style_lst:
                self._by_id.setdefault(element.styleId, element)  # the first one wins, as in python-docx
            self._default = document.styles.default(WD_STYLE_TYPE.PARAGRAPH)
        except Exception:  # noqa: BLE001, S110 - a broken styles part only costs the headings
            pass

    def __call__(self, style_id: str | None) -> int | None:
        if style_id not in self._levels:
            element = self._by_id.get(style_id) if style_id else None
            if element is None or element.type != WD_STYLE_TYPE.PARAGRAPH:
                style = self._default
            else:
                style = docx.styles.style.StyleFactory(element)
            self._levels[style_id] = _style_heading_level(style)
        return self._levels[style_id]


def _style_heading_level(style: Any) -> int | None:
    try:
        name = (style.name or "") if style is not None else ""
    except Exception:  # noqa: BLE001 - a damaged style is not worth failing the file
        return None
    if name.strip().lower() == "title":
        return 0
    match = _HEADING_STYLE_RE.match(name.strip())
    return int(match.group(1)) if match else None


# python-docx's text properties select children with XPath unions ("w:r | w:hyperlink"), which
# libxml2 evaluates in quadratic time: one paragraph of 80 000 line breaks took 16 s. These walk
# the same children in document order and render each with python-docx's own element classes
# (str() of w:t, w:tab, w:br, ...), so the text is the same, in linear time.
def _run_text(r: Any) -> str:
    return "".join(str(e) for e in r.iterchildren(*_RUN_TEXT_TAGS))


def _paragraph_text(p: Any) -> str:
    parts: list[str] = []
    for child in p.iterchildren(_R, _HYPERLINK):
        runs = (child,) if child.tag == _R else child.iterchildren(_R)
        parts.extend(_run_text(r) for r in runs)
    return "".join(parts)


def _docx_table_text(tbl: Any) -> str:
    """One line per row, cells joined by " | "; a merged cell appears once per row it covers.

    The cells are python-docx's ``_Row.cells`` (a vertically merged continuation shows the content
    of the cell where the merge starts), computed in one pass: python-docx repeats a cell once per
    grid column it spans (a crafted span of 10**9 loops that long) and finds the cell above a
    continuation by rescanning earlier rows (quadratic in the table size).
    """
    rows: list[str] = []
    above: dict[int, Any] | None = None  # grid offset -> the content cell starting there, row above
    for tr in tbl.iterchildren(_TR):
        starts: dict[int, Any] = {}
        cells: list[str] = []
        previous = None
        offset = tr.grid_before
        for tc in tr.iterchildren(_TC):
            content = tc
            if tc.vMerge == "continue":
                if above is None:
                    raise ValueError("no tr above topmost tr in w:tbl")
                if offset not in above:
                    raise ValueError(f"no `tc` element at grid_offset={offset}")
                content = above[offset]
            starts.setdefault(offset, content)
            span = tc.grid_span
            offset += span
            # python-docx yields the content cell once per column it spans (none for a span < 1);
            # consecutive repeats are one cell.
            if content.grid_span < 1 or content is previous:
                continue
            previous = content
            text = "\n".join(_paragraph_text(p) for p in content.iterchildren(_P))
            cells.append(" ".join(clean_text(text).split()))
        above = starts
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)
