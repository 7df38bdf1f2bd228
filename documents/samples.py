"""Demo documents about the fictional "Botwright Demo Co." and the builders that make them.

The three demo files carry distinct, checkable facts (one topic per PDF page, a table in the DOCX) so
they serve as a seed corpus for demos and as fixtures for extraction, chunking and retrieval tests.
``build_pdf`` is a minimal PDF writer (Helvetica, FlateDecode content streams, bookmarks, a correct
xref table) so no PDF-generation dependency is needed.
"""

from __future__ import annotations

import io
import textwrap
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "DEMO_DOCX_BODY",
    "DEMO_FAQ_MARKDOWN",
    "DEMO_PDF_PAGES",
    "assemble_pdf",
    "build_docx",
    "build_pdf",
    "pdf_string",
    "write_demo_documents",
]

# --------------------------------------------------------------------------------------------------
# Demo content
# --------------------------------------------------------------------------------------------------

DEMO_PDF_TITLE = "Botwright Demo Co. Returns and Warranty Policy"
DEMO_PDF_PAGES: list[list[str]] = [
    [
        "# Returns",
        "Botwright Demo Co. accepts returns of unused products within 30 days of delivery. "
        "Items must be returned in their original packaging together with the order number.",
        "Refunds are issued within 14 days of the returned item arriving at our warehouse in Leeds. "
        "The refund is paid to the original payment method; store credit is available on request.",
        "Return shipping is free for orders over 50 euros. For smaller orders a flat return fee of "
        "4.95 euros is deducted from the refund.",
    ],
    [
        "# Warranty",
        "Every Botwright robot vacuum comes with a 2-year manufacturer warranty covering defects in "
        "materials and workmanship. Batteries are covered for 12 months.",
        "The warranty does not cover damage caused by water, drops or unauthorised repairs. "
        "Replacement brushes and filters are consumables and are not covered.",
        "To make a warranty claim, email warranty@botwright-demo.example with the serial number, "
        "which is printed under the dust bin.",
    ],
    [
        "# Exchanges and contact",
        "Exchanges for a different colour or model are handled as a return followed by a new order. "
        "Exchanged items ship within 3 working days.",
        "Our customer service team is available by phone on +44 113 496 0000 from Monday to Friday, "
        "09:00 to 17:30 UK time.",
    ],
]

# Items: ("title", text) | ("h1".."h9", text) | ("p", text) | ("table", rows).
DEMO_DOCX_BODY: list[tuple[str, object]] = [
    ("title", "Botwright Demo Co. Staff Handbook"),
    ("p", "This handbook explains how we work at Botwright Demo Co. It applies to every employee."),
    ("h1", "Working hours"),
    ("p", "The office opens at 08:30 and closes at 18:00 from Monday to Friday."),
    ("p", "Core hours are 10:00 to 15:00; outside them, staff may plan their day freely."),
    ("h2", "Remote work"),
    ("p", "Staff may work from home up to two days per week after their probation period."),
    ("h1", "Leave"),
    ("p", "Every full-time employee receives 28 days of paid annual leave, including public holidays."),
    (
        "table",
        [
            ["Leave type", "Days per year", "Approval"],
            ["Annual leave", "28", "Line manager"],
            ["Sick leave (self-certified)", "7", "None"],
            ["Parental leave", "Statutory plus 4 weeks", "HR"],
        ],
    ),
    ("p", "Requests for more than ten consecutive days must be made four weeks in advance."),
    ("h1", "Equipment"),
    ("p", "New starters receive a laptop on their first day; the IT desk is on the second floor."),
]

DEMO_FAQ_MARKDOWN = """\
# Botwright Demo Co. FAQ

Answers to the questions our customers ask most often.

## Orders

### How long does delivery take?

Standard delivery within the UK takes 2 to 4 working days. Express delivery arrives the next
working day when ordered before 14:00.

### Can I change my order?

Orders can be changed within 1 hour of purchase from the [order page](https://botwright-demo.example/orders).

## Products

### Which floors can the robot vacuum clean?

The Botwright R2 cleans hardwood, tiles and low-pile carpet. It is not suitable for rugs with
tassels longer than 5 cm.

### How do I reset the robot?

Hold the home button for 10 seconds until the light ring turns purple:

```
# this is not a heading: it is a shell comment inside a code block
botwright-cli reset --factory
```

## Account

### How do I delete my account?

Email privacy@botwright-demo.example; accounts are deleted within 30 days.
"""


# --------------------------------------------------------------------------------------------------
# PDF writer
# --------------------------------------------------------------------------------------------------

_PAGE_WIDTH, _PAGE_HEIGHT = 612, 792  # US Letter in points
_MARGIN = 72
_BODY_SIZE, _BODY_LEADING = 11, 14
_HEADING_SIZE, _HEADING_LEADING = 15, 22
_WRAP_COLUMNS = 88  # Helvetica 11 pt averages ~5.3 pt per character: 88 columns fit 468 pt


def pdf_string(text: str) -> bytes:
    """Encode ``text`` as a PDF literal string in WinAnsi (cp1252), escaping delimiters."""
    raw = text.encode("cp1252", errors="replace")
    raw = raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    return b"(" + raw + b")"


def _pdf_text_string(text: str) -> bytes:
    """A PDF text string (metadata, bookmarks) as UTF-16BE hex, which any Unicode text survives."""
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode("ascii") + b">"


def assemble_pdf(objects: Sequence[bytes], *, info: int | None = None) -> bytes:
    """Serialise ``objects`` (object number = index + 1; object 1 must be the catalog) with an xref table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets: list[int] = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref_at = out.tell()
    out.write(b"xref\n0 %d\n" % (len(objects) + 1))
    out.write(b"0000000000 65535 f \n")  # every entry is exactly 20 bytes
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    trailer = b"<< /Size %d /Root 1 0 R" % (len(objects) + 1)
    if info is not None:
        trailer += b" /Info %d 0 R" % info
    out.write(b"trailer\n" + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref_at)
    return out.getvalue()


def _stream(content: bytes, *, compress: bool = True) -> bytes:
    if compress:
        data = zlib.compress(content)
        return b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream"
    return b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"


def _page_content(paragraphs: Sequence[str]) -> bytes:
    ops: list[bytes] = []
    y = _PAGE_HEIGHT - _MARGIN
    for number, paragraph in enumerate(paragraphs):
        heading = paragraph.startswith("# ")
        text = paragraph[2:] if heading else paragraph
        font, size, leading = (
            (b"/F2", _HEADING_SIZE, _HEADING_LEADING) if heading else (b"/F1", _BODY_SIZE, _BODY_LEADING)
        )
        if number:
            y -= leading  # an empty line's worth of space separates paragraphs
        for line in textwrap.wrap(text, _WRAP_COLUMNS) or [""]:
            if y < _MARGIN:
                raise ValueError("page content does not fit on one page; split it across more pages")
            ops.append(b"BT %s %d Tf %d %d Td %s Tj ET" % (font, size, _MARGIN, y, pdf_string(line)))
            y -= leading
    return b"\n".join(ops)


def build_pdf(pages: Sequence[Sequence[str]], *, title: str | None = None, compress: bool = True) -> bytes:
    """Build a real PDF: one inner list per page, one string per paragraph (word-wrapped).

    A paragraph starting with ``"# "`` is drawn as a bold heading and gets a bookmark (outline entry)
    pointing at its page. Text is WinAnsi-encoded Helvetica, so pypdf extracts it per page. Raises
    ``ValueError`` when a page's text does not fit on the page.
    """
    # Fixed numbers: 1 catalog, 2 page tree, 3 Helvetica, 4 Helvetica-Bold, 5 info, 6 outline root;
    # then a (page, content) pair per page, then one object per bookmark.
    first_page = 7
    page_numbers = [first_page + 2 * i for i in range(len(pages))]
    bookmarks = [
        (paragraph[2:], page_numbers[i])
        for i, page in enumerate(pages)
        for paragraph in page
        if paragraph.startswith("# ")
    ]
    first_bookmark = first_page + 2 * len(pages)
    catalog = b"<< /Type /Catalog /Pages 2 0 R"
    if bookmarks:
        catalog += b" /Outlines 6 0 R /PageMode /UseOutlines"
    objects: list[bytes] = [
        catalog + b" >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % n for n in page_numbers), len(pages)),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Producer "
        + _pdf_text_string("Botwright samples")
        + (b" /Title " + _pdf_text_string(title) if title else b"")
        + b" >>",
    ]
    if bookmarks:
        last = first_bookmark + len(bookmarks) - 1
        objects.append(
            b"<< /Type /Outlines /First %d 0 R /Last %d 0 R /Count %d >>"
            % (first_bookmark, last, len(bookmarks))
        )
    else:
        objects.append(b"<< /Type /Outlines /Count 0 >>")
    for number, paragraphs in zip(page_numbers, pages, strict=True):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R "
            b"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> >>" % (_PAGE_WIDTH, _PAGE_HEIGHT, number + 1)
        )
        objects.append(_stream(_page_content(paragraphs), compress=compress))
    for i, (text, page_object) in enumerate(bookmarks):
        number = first_bookmark + i
        links = b""
        if i:
            links += b" /Prev %d 0 R" % (number - 1)
        if i < len(bookmarks) - 1:
            links += b" /Next %d 0 R" % (number + 1)
        objects.append(
            b"<< /Title "
            + _pdf_text_string(text)
            + b" /Parent 6 0 R"
            + links
            + b" /Dest [%d 0 R /XYZ 0 %d 0] >>" % (page_object, _PAGE_HEIGHT)
        )
    return assemble_pdf(objects, info=5)


# --------------------------------------------------------------------------------------------------
# DOCX writer
# --------------------------------------------------------------------------------------------------


def build_docx(body: Sequence[tuple[str, object]], *, core_title: str | None = None) -> bytes:
    """Build a .docx with python-docx from ``(kind, value)`` items, in order.

    Kinds: ``"title"`` (Title style), ``"h1"``..``"h9"`` (Heading N), ``"p"`` (paragraph) and
    ``"table"`` (value: a list of rows, each a list of cell strings; the first row is the header).
    """
    import docx

    document = docx.Document()
    if core_title:
        document.core_properties.title = core_title
    for kind, value in body:
        if kind == "title":
            document.add_heading(str(value), level=0)
        elif kind.startswith("h") and kind[1:].isdigit():
            document.add_heading(str(value), level=int(kind[1:]))
        elif kind == "p":
            document.add_paragraph(str(value))
        elif kind == "table":
            rows = [list(map(str, row)) for row in value]
            table = document.add_table(rows=len(rows), cols=max(len(row) for row in rows))
            for row_cells, row in zip(table.rows, rows, strict=True):
                for cell, text in zip(row_cells.cells, row, strict=False):
                    cell.text = text
        else:
            raise ValueError(f"unknown DOCX item kind {kind!r}")
    out = io.BytesIO()
    document.save(out)
    return _without_timestamps(out.getvalue())


# The earliest time a ZIP entry can carry: a fixed stamp makes equal content equal bytes.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def _without_timestamps(package: bytes) -> bytes:
    """The same ZIP package with every entry stamped ``_ZIP_EPOCH``.

    python-docx stamps entries with the current time, so equal documents built a second apart
    differed and the byte-hash de-duplication of uploads let the demo seed add a copy per run.
    """
    source = zipfile.ZipFile(io.BytesIO(package))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for entry in source.infolist():
            stamped = zipfile.ZipInfo(entry.filename, date_time=_ZIP_EPOCH)
            stamped.compress_type = entry.compress_type
            stamped.external_attr = entry.external_attr
            target.writestr(stamped, source.read(entry))
    return out.getvalue()


# --------------------------------------------------------------------------------------------------
# Demo corpus
# --------------------------------------------------------------------------------------------------

DEMO_FILENAMES = (
    "botwright-returns-policy.pdf",
    "botwright-staff-handbook.docx",
    "botwright-faq.md",
)


def write_demo_documents(directory: Path) -> list[Path]:
    """Write the PDF policy, DOCX handbook and Markdown FAQ into ``directory``; return their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    contents = (
        build_pdf(DEMO_PDF_PAGES, title=DEMO_PDF_TITLE),
        build_docx(DEMO_DOCX_BODY, core_title="Botwright Demo Co. Staff Handbook"),
        DEMO_FAQ_MARKDOWN.encode("utf-8"),
    )
    paths: list[Path] = []
    for name, data in zip(DEMO_FILENAMES, contents, strict=True):
        path = directory / name
        path.write_bytes(data)
        paths.append(path)
    return paths
