"""Adversarial text for the linear-time regression suite (issue 8, finding 1).

Each generator takes a size in bytes and returns text of at least that many UTF-8 bytes, shaped to
hit a backtracking regular expression or a per-line scan where it hurts: a long run of one markup or
punctuation character between two words, markup look-alikes at the start of a line, nested
brackets, a huge single line or word, mixed scripts. All are deterministic and cheap to build.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

from documents.samples import build_docx, build_pdf

# Every character some pattern over user text treats specially: Markdown markup, sentence ends,
# closing quotes and brackets, pipes, list markers, blanks.
MARKUP = "#*_-=`~[]()|>!.?;:…\"'”’<\\/&+,•1 \t"
# Latin with diacritics, Cyrillic, Greek, Arabic and Hebrew (right to left), CJK, Devanagari, emoji
# with a skin-tone modifier, a combining accent and a zero-width joiner.
MIXED_SCRIPTS = "Grüße Здравствуйте Γειά σου مرحبا שלום 你好，世界。 नमस्ते 😀👍🏽 e\u0301\u200d "


def _repeat(unit: str, size: int) -> str:
    """``unit`` repeated to at least ``size`` UTF-8 bytes."""
    return unit * (size // len(unit.encode()) + 1)


def _run(character: str) -> Callable[[int], str]:
    return lambda size: "z " + _repeat(character, size) + "w"


GENERATORS: dict[str, Callable[[int], str]] = {
    **{f"run of {character!r}": _run(character) for character in MARKUP},
    # The two inputs of the issue: a 30 KB file of each froze a worker for 30 s and more.
    "ATX heading around a blank run": lambda size: "# a" + _repeat(" ", size) + "b",
    "ATX heading with closing-hash look-alikes": lambda size: "### " + _repeat("a #", size) + " x",
    "hash run at a line start": lambda size: _repeat("#", size) + " x",
    "table row then blanks": lambda size: "| a | b |\n" + _repeat(" ", size) + "x",
    "table row then many separator cells": lambda size: "| a | b |\n" + _repeat("| --- ", size) + "|x",
    "thematic break look-alike": lambda size: _repeat("- ", size) + "x",
    "setext underline look-alike": lambda size: "Title\n" + _repeat("=", size) + "x",
    "reST title ladder": lambda size: _repeat("===\nT\n===\nA\n---\nB\n~~~\nC\n^^^\n", size),
    "reST overline without a title": lambda size: "~~~\n" + _repeat("~~~\n\n", size) + "x",
    "list marker look-alikes": lambda size: "text\n" + _repeat("1. ", size) + "x\n===",
    "nested brackets": lambda size: _repeat("[", size // 2) + _repeat("]", size // 2),
    "nested link openers": lambda size: _repeat("[a](", size),
    "unclosed link parts": lambda size: "[" + _repeat("a", size // 2) + "](" + _repeat("b", size // 2),
    "mixed brackets": lambda size: _repeat("([{<", size),
    "section number look-alike": lambda size: _repeat("1.", size) + "1x",
    "blank lines of blanks": lambda size: _repeat("\n \t", size) + "x",
    "many short lines": lambda size: _repeat("a\n", size),
    "many headings": lambda size: _repeat("# h\n", size),
    "heading ladder": lambda size: _repeat("# a\n## b\n### c\n#### d\n##### e\n###### f\n", size),
    "ordinary sentences": lambda size: _repeat("The parcel ships on Tuesday. Refunds take 14 days! ", size),
    "huge single line": lambda size: _repeat("lorem ipsum dolor ", size),
    "huge single word": lambda size: _repeat("a", size),
    "mixed scripts on one line": lambda size: _repeat(MIXED_SCRIPTS, size),
    "mixed scripts in paragraphs": lambda size: _repeat(MIXED_SCRIPTS + "!\n\n", size),
}

# (generator, container) pairs also fed through real files; building those costs more. A PDF of
# "many headings" would have thousands of pages (over the page limit) and is left out.
CONTAINER_CASES: tuple[tuple[str, str], ...] = (
    *(
        (name, container)
        for name in ("run of '.'", "run of '['", "huge single word")
        for container in ("docx", "pdf")
    ),
    *(
        (name, container)
        for name in ("ATX heading around a blank run", "nested link openers")
        for container in ("docx", "pdf")
    ),
    ("run of '#'", "docx"),
    ("many headings", "docx"),
    ("mixed scripts on one line", "docx"),
    ("mixed scripts in paragraphs", "pdf"),
    ("section number look-alike", "pdf"),
)


def _docx_with(document_body: str, styles: str = "") -> bytes:
    """A real .docx whose body is ``document_body`` (WordprocessingML) and whose styles part also
    defines ``styles`` (``<w:style>`` elements)."""
    base = zipfile.ZipFile(io.BytesIO(build_docx([("p", "placeholder")])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in base.infolist():
            payload = base.read(info).decode() if info.filename.endswith(".xml") else base.read(info)
            if info.filename == "word/document.xml":
                start, end = payload.index("<w:body>") + len("<w:body>"), payload.index("<w:sectPr")
                payload = payload[:start] + document_body + payload[end:]
            elif info.filename == "word/styles.xml":
                payload = payload.replace("</w:styles>", styles + "</w:styles>")
            archive.writestr(info.filename, payload)
    return out.getvalue()


def _count(unit: str, size: int) -> int:
    return size // len(unit) + 1


_CELL = "<w:tc><w:tcPr><w:vMerge/></w:tcPr><w:p><w:r><w:t>x</w:t></w:r></w:p></w:tc>"
_TEXT = "<w:r><w:t>a</w:t></w:r>"
_LINKED = f"{_TEXT}<w:hyperlink>{_TEXT}</w:hyperlink>"

# WordprocessingML shapes that python-docx reads in super-linear time: text with many children in one
# run or paragraph (XPath unions), many styles (a scan per paragraph), a column merged across many
# rows (a walk up the rows per cell). ``size`` is the size of the body XML.
DOCX_GENERATORS: dict[str, Callable[[int], bytes]] = {
    "line breaks in one run": lambda size: _docx_with(
        "<w:p><w:r>" + "<w:t>a</w:t><w:br/>" * _count("<w:t>a</w:t><w:br/>", size) + "</w:r></w:p>"
    ),
    "runs in one paragraph": lambda size: _docx_with("<w:p>" + _TEXT * _count(_TEXT, size) + "</w:p>"),
    "runs and hyperlinks in one paragraph": lambda size: _docx_with(
        "<w:p>" + _LINKED * _count(_LINKED, size) + "</w:p>"
    ),
    "a style per paragraph": lambda size: _docx_with(
        "".join(
            f'<w:p><w:pPr><w:pStyle w:val="S{i}"/></w:pPr>{_TEXT}</w:p>'
            for i in range(_count("x" * 90, size))
        ),
        "".join(
            f'<w:style w:type="paragraph" w:styleId="S{i}"><w:name w:val="Custom {i}"/></w:style>'
            for i in range(_count("x" * 90, size))
        ),
    ),
    "column merged across every row": lambda size: _docx_with(
        "<w:tbl><w:tr><w:tc><w:tcPr><w:vMerge w:val='restart'/></w:tcPr><w:p><w:r><w:t>top</w:t></w:r></w:p>"
        "</w:tc></w:tr>" + f"<w:tr>{_CELL}</w:tr>" * _count(f"<w:tr>{_CELL}</w:tr>", size) + "</w:tbl>"
    ),
}

# One cell claiming to span 10**9 grid columns: python-docx yields it once per column.
HUGE_GRID_SPAN_DOCX_BODY = (
    '<w:tbl><w:tr><w:tc><w:tcPr><w:gridSpan w:val="1000000000"/></w:tcPr>'
    "<w:p><w:r><w:t>wide</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"
)


def huge_grid_span_docx() -> bytes:
    return _docx_with(HUGE_GRID_SPAN_DOCX_BODY)


def docx_of(text: str) -> bytes:
    """``text`` as a heading (its first line) and one paragraph (all of it) of a real .docx."""
    return build_docx([("h1", text.split("\n", 1)[0]), ("p", text)])


def pdf_of(text: str) -> bytes:
    """``text`` laid out in lines of 80 characters, as many to a page as fit, uncompressed. Lines
    starting with "# " become bookmarked headings (taller, so fewer fit)."""
    lines = [line[i : i + 80] for line in text.split("\n") for i in range(0, max(len(line), 1), 80)]
    pages: list[list[str]] = [[]]
    room = _PAGE_ROOM
    for line in lines:
        # Each paragraph costs its line plus a blank line's worth of space (see samples.build_pdf).
        height = 44 if line.startswith("# ") else 28
        if height > room:
            pages.append([])
            room = _PAGE_ROOM
        pages[-1].append(line)
        room -= height
    return build_pdf(pages, compress=False)


_PAGE_ROOM = 792 - 2 * 72 - 30  # US Letter minus margins, minus slack
