"""Type sniffing and extraction of well-formed files (the demo corpus, Markdown, text, DOCX quirks)."""

from __future__ import annotations

import codecs
import io
import multiprocessing.context
import os
import time
from pathlib import Path

import docx
import pypdf
import pytest
from docx.oxml.ns import qn
from lxml import etree

from documents.chunking import chunk_document
from documents.extract import (
    Block,
    EmptyDocument,
    ExtractedDocument,
    ExtractionError,
    UnsupportedType,
    extract,
    extract_with_timeout,
    sandbox,
    sniff_type,
)
from documents.samples import (
    DEMO_DOCX_BODY,
    DEMO_PDF_PAGES,
    DEMO_PDF_TITLE,
    build_docx,
    build_pdf,
    write_demo_documents,
)

from . import malformed


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    paths = write_demo_documents(tmp_path_factory.mktemp("demo"))
    return {path.suffix: path for path in paths}


def _extract_file(path: Path) -> ExtractedDocument:
    data = path.read_bytes()
    return extract(data, sniff_type(data, path.name))


# --------------------------------------------------------------------------------------------------
# Demo corpus and builders
# --------------------------------------------------------------------------------------------------


def test_write_demo_documents_writes_three_named_files(demo_files: dict[str, Path]) -> None:
    assert sorted(path.name for path in demo_files.values()) == [
        "botwright-faq.md",
        "botwright-returns-policy.pdf",
        "botwright-staff-handbook.docx",
    ]
    assert all(path.stat().st_size > 0 for path in demo_files.values())


def test_build_pdf_writes_an_xref_table_whose_offsets_point_at_objects() -> None:
    data = build_pdf([["# Heading", "Body (with parentheses) and a back\\slash."], ["Second page."]])
    xref_at = int(data[data.rindex(b"startxref") :].split()[1])
    lines = data[xref_at:].split(b"\n")
    assert lines[0] == b"xref"
    count = int(lines[1].split()[1])
    for number, line in enumerate(lines[3 : 2 + count], start=1):
        offset = int(line.split()[0])
        assert data[offset:].startswith(b"%d 0 obj" % number)
    reader = pypdf.PdfReader(io.BytesIO(data), strict=True)
    assert "Body (with parentheses) and a back\\slash." in reader.pages[0].extract_text()


# --------------------------------------------------------------------------------------------------
# sniff_type
# --------------------------------------------------------------------------------------------------


def test_sniff_type_recognises_the_demo_documents_by_content(demo_files: dict[str, Path]) -> None:
    kinds = {suffix: sniff_type(path.read_bytes(), path.name) for suffix, path in demo_files.items()}
    assert kinds == {".pdf": "pdf", ".docx": "docx", ".md": "markdown"}


def test_sniff_type_finds_pdf_magic_after_leading_junk() -> None:
    data = b"\x00" * 500 + build_pdf([["Some text."]])
    assert sniff_type(data, "upload.bin") == "pdf"


def test_sniff_type_ignores_pdf_magic_beyond_the_first_kilobyte() -> None:
    data = b"plain words " * 100 + b"%PDF-1.4"
    assert sniff_type(data, "notes.pdf") == "text"


def test_sniff_type_trusts_content_over_a_pdf_filename() -> None:
    assert sniff_type(b"Just a note about opening hours.\n", "report.pdf") == "text"


def test_sniff_type_treats_md_filename_as_markdown_even_without_structure() -> None:
    assert sniff_type(b"A single plain sentence.", "readme.md") == "markdown"
    assert sniff_type(b"A single plain sentence.", "README.MARKDOWN") == "markdown"


def test_sniff_type_detects_markdown_structure_without_md_filename() -> None:
    data = b"# Guide\n\nSee the [docs](https://example.com/docs).\n\n## Setup\n\nRun it.\n"
    assert sniff_type(data, "guide.txt") == "markdown"


def test_sniff_type_keeps_plain_text_with_bullets_as_text() -> None:
    data = b"Shopping list\n\n- milk\n- eggs\n\n1. first\n2. second\n"
    assert sniff_type(data, "list.txt") == "text"


def test_sniff_type_decodes_utf16_with_bom_as_text() -> None:
    data = codecs.BOM_UTF16_LE + "Grüße aus Köln, the café opens at 08:30.".encode("utf-16-le")
    assert sniff_type(data, "greeting.txt") == "text"


def test_sniff_type_accepts_cp1252_text() -> None:
    data = "Price: 5 € — naïve café".encode("cp1252")
    assert sniff_type(data, "prices.txt") == "text"


@pytest.mark.parametrize(
    ("data", "label"),
    [
        (malformed.png_bytes(), "PNG image"),
        (b"MZ\x90\x00\x03" + bytes(200), "Windows executable"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200), "legacy Microsoft Office file"),
        (b"\x7fELF\x02\x01\x01" + bytes(100), "ELF executable"),
    ],
)
def test_sniff_type_names_known_binary_formats_as_unsupported(data: bytes, label: str) -> None:
    with pytest.raises(UnsupportedType) as caught:
        sniff_type(data, "upload.pdf")
    assert label in caught.value.reason
    assert "Upload a PDF, Word (.docx)" in caught.value.reason


def test_sniff_type_rejects_zip_that_is_not_docx() -> None:
    with pytest.raises(UnsupportedType) as caught:
        sniff_type(malformed.random_zip(), "archive.docx")
    assert "ZIP archive that is not a Word .docx" in caught.value.reason


def test_sniff_type_reports_whitespace_only_utf16_as_empty() -> None:
    data = codecs.BOM_UTF16_LE + "  \n\t ".encode("utf-16-le")
    with pytest.raises(EmptyDocument) as caught:
        sniff_type(data, "blank.txt")
    assert "only whitespace" in caught.value.reason


def test_error_hierarchy_lets_callers_map_status_codes() -> None:
    assert issubclass(UnsupportedType, ExtractionError)
    assert issubclass(EmptyDocument, ExtractionError)
    error = UnsupportedType("nope")
    assert error.reason == "nope"
    assert str(error) == "nope"


# --------------------------------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------------------------------


def test_extract_pdf_keeps_one_based_page_numbers(demo_files: dict[str, Path]) -> None:
    doc = _extract_file(demo_files[".pdf"])
    assert doc.kind == "pdf"
    assert doc.page_count == len(DEMO_PDF_PAGES) == 3
    page_of = {fact: next(b.page for b in doc.blocks if fact in " ".join(b.text.split())) for fact in (
        "Refunds are issued within 14 days",
        "2-year manufacturer warranty",
        "09:00 to 17:30 UK time",
    )}  # fmt: skip
    assert page_of == {
        "Refunds are issued within 14 days": 1,
        "2-year manufacturer warranty": 2,
        "09:00 to 17:30 UK time": 3,
    }
    assert doc.warnings == []


def test_extract_pdf_derives_headings_from_bookmarks(demo_files: dict[str, Path]) -> None:
    doc = _extract_file(demo_files[".pdf"])
    headings = [(b.page, b.text) for b in doc.blocks if b.kind == "heading"]
    assert headings == [(1, "Returns"), (2, "Warranty"), (3, "Exchanges and contact")]
    warranty_text = next(b for b in doc.blocks if "Batteries are covered" in b.text)
    assert warranty_text.heading_path == ("Warranty",)
    assert doc.title == DEMO_PDF_TITLE


def test_extract_pdf_matches_numbered_heading_lines_to_bookmarks() -> None:
    # LaTeX-style output: the page says "2.1 Delivery", the bookmark just "Delivery".
    writer = pypdf.PdfWriter(
        clone_from=pypdf.PdfReader(io.BytesIO(build_pdf([["2.1 Delivery", "Parcels ship."]])))
    )
    writer.add_outline_item(title="Delivery", page_number=0)
    out = io.BytesIO()
    writer.write(out)
    doc = extract(out.getvalue(), "pdf")
    assert [(b.kind, b.text, b.heading_path) for b in doc.blocks] == [
        ("heading", "2.1 Delivery", ("Delivery",)),
        ("paragraph", "Parcels ship.", ("Delivery",)),
    ]


def test_extract_pdf_applies_bookmarks_missing_from_the_text_at_page_start() -> None:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(build_pdf([["Intro."], ["Details."]]))))
    writer.add_outline_item(title="Appendix", page_number=1)
    out = io.BytesIO()
    writer.write(out)
    doc = extract(out.getvalue(), "pdf")
    assert [(b.page, b.kind, b.heading_path) for b in doc.blocks] == [
        (1, "paragraph", ()),
        (2, "paragraph", ("Appendix",)),
    ]


def test_extract_pdf_without_bookmarks_has_empty_heading_paths() -> None:
    doc = extract(build_pdf([["First page text."], ["Second page text."]]), "pdf")
    assert [(b.page, b.heading_path, b.kind) for b in doc.blocks] == [
        (1, (), "paragraph"),
        (2, (), "paragraph"),
    ]
    assert doc.title is None


def test_extract_pdf_opens_files_encrypted_with_an_empty_user_password() -> None:
    doc = extract(malformed.owner_only_encrypted_pdf(), "pdf")
    assert doc.page_count == 3
    assert any("warehouse is in Leeds" in b.text for b in doc.blocks)


def test_extract_pdf_drops_control_characters_that_databases_reject() -> None:
    doc = extract(build_pdf([["Alpha\x00 one\x07 two"]]), "pdf")
    assert [b.text for b in doc.blocks] == ["Alpha one two"]


def test_extract_pdf_skips_an_unreadable_page_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    original = pypdf.PageObject.extract_text
    data = build_pdf([["Page one text."], ["Page two text."], ["Page three text."]])

    def flaky(self: pypdf.PageObject, *args: object, **kwargs: object) -> str:
        if "Page two" in original(self):
            raise RecursionError("maximum recursion depth exceeded")
        return original(self)

    monkeypatch.setattr(pypdf.PageObject, "extract_text", flaky)
    doc = extract(data, "pdf")
    assert [(b.page, b.text) for b in doc.blocks] == [(1, "Page one text."), (3, "Page three text.")]
    assert doc.warnings == [
        "Page 2 could not be read and was skipped (RecursionError: maximum recursion depth exceeded)."
    ]


def test_extract_pdf_fails_as_corrupt_when_every_page_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: pypdf.PageObject, *args: object, **kwargs: object) -> str:
        raise TypeError("unsupported operand type(s)")

    monkeypatch.setattr(pypdf.PageObject, "extract_text", broken)
    with pytest.raises(ExtractionError) as caught:
        extract(build_pdf([["Text."]]), "pdf")
    assert caught.value.reason == (
        "The PDF could not be read (corrupt or truncated file): TypeError: unsupported operand type(s)"
    )


def test_extract_pdf_warns_when_some_streams_do_not_decode() -> None:
    good = build_pdf([["Readable page."], ["Broken page."]])
    marker = b">>\nstream\n"
    second_stream = good.find(marker, good.find(marker) + 1) + len(marker)
    damaged = good[:second_stream] + b"\x00\xff" * 8 + good[second_stream + 16 :]
    doc = extract(damaged, "pdf")
    assert [b.text for b in doc.blocks] == ["Readable page."]
    assert doc.warnings and doc.warnings[0].startswith("Parts of the PDF could not be decoded")


# --------------------------------------------------------------------------------------------------
# DOCX
# --------------------------------------------------------------------------------------------------


def test_extract_docx_keeps_body_order_with_table_between_paragraphs(demo_files: dict[str, Path]) -> None:
    doc = _extract_file(demo_files[".docx"])
    kinds_and_starts = [(b.kind, b.text.split("\n")[0][:30]) for b in doc.blocks]
    leave = kinds_and_starts.index(("heading", "Leave"))
    assert kinds_and_starts[leave : leave + 4] == [
        ("heading", "Leave"),
        ("paragraph", "Every full-time employee recei"),
        ("table", "Leave type | Days per year | A"),
        ("paragraph", "Requests for more than ten con"),
    ]
    assert doc.page_count is None
    assert all(b.page is None for b in doc.blocks)


def test_extract_docx_renders_table_rows_with_pipes(demo_files: dict[str, Path]) -> None:
    doc = _extract_file(demo_files[".docx"])
    table = next(b for b in doc.blocks if b.kind == "table")
    expected_rows = [" | ".join(row) for row in dict(DEMO_DOCX_BODY)["table"]]
    assert table.text.split("\n") == expected_rows
    assert table.heading_path == ("Botwright Demo Co. Staff Handbook", "Leave")


def test_extract_docx_builds_heading_paths_from_heading_styles(demo_files: dict[str, Path]) -> None:
    doc = _extract_file(demo_files[".docx"])
    remote = next(b for b in doc.blocks if b.text.startswith("Staff may work from home"))
    assert remote.heading_path == ("Botwright Demo Co. Staff Handbook", "Working hours", "Remote work")
    equipment = next(b for b in doc.blocks if "laptop" in b.text)
    assert equipment.heading_path == ("Botwright Demo Co. Staff Handbook", "Equipment")
    assert doc.title == "Botwright Demo Co. Staff Handbook"


def test_extract_docx_falls_back_to_first_heading_for_title() -> None:
    data = build_docx([("p", "Preamble."), ("h1", "Scope"), ("p", "Body.")])
    doc = extract(data, "docx")
    assert doc.title == "Scope"
    assert doc.blocks[0].heading_path == ()


def test_extract_docx_lists_a_merged_cell_once() -> None:
    document = docx.Document()
    table = document.add_table(rows=2, cols=3)
    merged = table.cell(0, 0).merge(table.cell(0, 2))
    merged.text = "Quarterly totals"
    for cell, text in zip(table.rows[1].cells, ["Q1", "Q2", "Q3"], strict=True):
        cell.text = text
    out = io.BytesIO()
    document.save(out)
    doc = extract(out.getvalue(), "docx")
    assert doc.blocks == [
        Block(text="Quarterly totals\nQ1 | Q2 | Q3", page=None, heading_path=(), kind="table")
    ]


def test_extract_docx_reads_paragraphs_inside_content_controls() -> None:
    document = docx.Document()
    document.add_paragraph("Before the control.")
    wrapped = document.add_paragraph("Inside the control.")
    document.add_paragraph("After the control.")
    sdt = etree.SubElement(document.element.body, qn("w:sdt"))
    content = etree.SubElement(sdt, qn("w:sdtContent"))
    wrapped._p.addprevious(sdt)
    content.append(wrapped._p)
    out = io.BytesIO()
    document.save(out)
    doc = extract(out.getvalue(), "docx")
    assert [b.text for b in doc.blocks] == [
        "Before the control.",
        "Inside the control.",
        "After the control.",
    ]


def test_extract_docx_without_text_is_empty() -> None:
    with pytest.raises(EmptyDocument) as caught:
        extract(build_docx([("p", "   ")]), "docx")
    assert "contains no text" in caught.value.reason


# --------------------------------------------------------------------------------------------------
# Markdown and text
# --------------------------------------------------------------------------------------------------


def test_extract_markdown_nests_heading_paths_and_ignores_hashes_in_code(demo_files: dict[str, Path]) -> None:
    doc = _extract_file(demo_files[".md"])
    headings = [b.heading_path for b in doc.blocks if b.kind == "heading"]
    assert headings[:4] == [
        ("Botwright Demo Co. FAQ",),
        ("Botwright Demo Co. FAQ", "Orders"),
        ("Botwright Demo Co. FAQ", "Orders", "How long does delivery take?"),
        ("Botwright Demo Co. FAQ", "Orders", "Can I change my order?"),
    ]
    code = next(b for b in doc.blocks if b.text.startswith("```"))
    assert "# this is not a heading" in code.text
    assert code.kind == "paragraph"
    assert code.heading_path[-1] == "How do I reset the robot?"
    assert not any(b.kind == "heading" and "not a heading" in b.text for b in doc.blocks)
    assert doc.title == "Botwright Demo Co. FAQ"
    assert len([b for b in doc.blocks if b.kind == "heading"]) == 9  # 1 title, 3 sections, 5 questions


def test_extract_markdown_understands_setext_and_closing_hashes() -> None:
    text = "Manual\n======\n\nIntro text.\n\nInstall\n-------\n\nStep one.\n\n### Extras ###\n\nOptional.\n"
    doc = extract(text.encode(), "markdown")
    assert [(b.kind, b.text, b.heading_path) for b in doc.blocks] == [
        ("heading", "Manual", ("Manual",)),
        ("paragraph", "Intro text.", ("Manual",)),
        ("heading", "Install", ("Manual", "Install")),
        ("paragraph", "Step one.", ("Manual", "Install")),
        ("heading", "Extras", ("Manual", "Install", "Extras")),
        ("paragraph", "Optional.", ("Manual", "Install", "Extras")),
    ]


def test_restructuredtext_section_titles_are_headings_nested_by_first_appearance() -> None:
    # Django's documentation (the quality benchmark's corpus) is reST in .txt files: an overlined
    # title, then "=", "-", "~" and "^" underlines. "~~~~" is an adornment here, not a code fence.
    text = (
        "=================\nThe cache guide\n=================\n\nIntro.\n\n"
        "Setting up\n==========\n\nPick a backend.\n\n"
        "Redis\n-----\n\nRun a server.\n\n"
        "Options\n~~~~~~~\n\nTimeouts apply.\n\n"
        "Keys\n^^^^\n\nKeys are strings.\n\n"
        "The per-view cache\n==================\n\nDecorate a view.\n"
    )
    assert sniff_type(text.encode(), "cache.txt") == "markdown"
    doc = extract(text.encode(), "markdown")
    assert [(b.kind, b.text, b.heading_path) for b in doc.blocks] == [
        ("heading", "The cache guide", ("The cache guide",)),
        ("paragraph", "Intro.", ("The cache guide",)),
        ("heading", "Setting up", ("The cache guide", "Setting up")),
        ("paragraph", "Pick a backend.", ("The cache guide", "Setting up")),
        ("heading", "Redis", ("The cache guide", "Setting up", "Redis")),
        ("paragraph", "Run a server.", ("The cache guide", "Setting up", "Redis")),
        ("heading", "Options", ("The cache guide", "Setting up", "Redis", "Options")),
        ("paragraph", "Timeouts apply.", ("The cache guide", "Setting up", "Redis", "Options")),
        ("heading", "Keys", ("The cache guide", "Setting up", "Redis", "Options", "Keys")),
        ("paragraph", "Keys are strings.", ("The cache guide", "Setting up", "Redis", "Options", "Keys")),
        ("heading", "The per-view cache", ("The cache guide", "The per-view cache")),
        ("paragraph", "Decorate a view.", ("The cache guide", "The per-view cache")),
    ]


def test_markdown_fences_breaks_and_short_underlines_are_not_mistaken_for_rest_titles() -> None:
    # No reST title in sight: "~~~" opens a fence, "***" is a break, and "Hi" over "===" stays setext.
    text = "Notes\n=====\n\n~~~\ncode\n~~~\n\n***\n\nA long paragraph line\n---\n\nEnd.\n"
    doc = extract(text.encode(), "markdown")
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("heading", "Notes"),
        ("paragraph", "~~~\ncode\n~~~"),
        ("heading", "A long paragraph line"),
        ("paragraph", "End."),
    ]
    # In a reST document an underline shorter than its title is not a title (reST requires the length).
    rest = "Guide\n~~~~~\n\nA long paragraph line\n~~~\n\nEnd.\n"
    assert [(b.kind, b.text) for b in extract(rest.encode(), "markdown").blocks] == [
        ("heading", "Guide"),
        ("paragraph", "A long paragraph line\n~~~"),
        ("paragraph", "End."),
    ]


def test_extract_markdown_keeps_blank_lines_inside_fences_in_one_block() -> None:
    text = "# Code\n\n~~~python\nx = 1\n\n# comment\ny = 2\n~~~\n\nAfter.\n"
    doc = extract(text.encode(), "markdown")
    assert [b.text for b in doc.blocks] == ["Code", "~~~python\nx = 1\n\n# comment\ny = 2\n~~~", "After."]


def test_extract_markdown_marks_pipe_tables_and_closes_deeper_headings() -> None:
    text = "# A\n\n## B\n\n| k | v |\n|---|---|\n| x | 1 |\n\n# C\n\nText under C.\n"
    doc = extract(text.encode(), "markdown")
    table = next(b for b in doc.blocks if b.kind == "table")
    assert table.heading_path == ("A", "B")
    assert doc.blocks[-1].heading_path == ("C",)


def test_extract_text_splits_paragraphs_and_normalises_line_endings() -> None:
    data = b"First line\r\nstill first.\r\n\r\n\r\nSecond paragraph.\fThird after form feed."
    doc = extract(data, "text")
    assert [b.text for b in doc.blocks] == [
        "First line\nstill first.",
        "Second paragraph.",
        "Third after form feed.",
    ]
    assert all(b.heading_path == () and b.page is None for b in doc.blocks)
    assert doc.page_count is None and doc.title is None


def test_extract_text_decodes_utf8_bom_and_cp1252() -> None:
    assert extract(codecs.BOM_UTF8 + "Zoë’s café".encode(), "text").blocks[0].text == "Zoë’s café"
    assert extract("Zoë’s café".encode("cp1252"), "text").blocks[0].text == "Zoë’s café"


def test_extract_rejects_an_unknown_kind() -> None:
    with pytest.raises(UnsupportedType):
        extract(b"data", "spreadsheet")


# --------------------------------------------------------------------------------------------------
# extract_with_timeout
# --------------------------------------------------------------------------------------------------


def test_extract_with_timeout_returns_the_same_document_as_in_process(demo_files: dict[str, Path]) -> None:
    for path in demo_files.values():
        data = path.read_bytes()
        kind = sniff_type(data, path.name)
        assert extract_with_timeout(data, kind, timeout_s=30) == extract(data, kind)


def test_extract_with_timeout_kills_a_slow_extraction(monkeypatch: pytest.MonkeyPatch) -> None:
    # The child is forked, so it inherits the patched module attribute.
    monkeypatch.setattr(sandbox, "extract", lambda *args, **kwargs: time.sleep(60))
    started = time.monotonic()
    with pytest.raises(ExtractionError) as caught:
        extract_with_timeout(b"x", "text", timeout_s=0.5)
    assert time.monotonic() - started < 10
    assert caught.value.reason.startswith(
        "Extraction took longer than 0.5 s; the file is too complex or malformed"
    )


def test_extract_with_timeout_reports_a_crashed_child(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "extract", lambda *args, **kwargs: os._exit(3))
    with pytest.raises(ExtractionError) as caught:
        extract_with_timeout(b"x", "text", timeout_s=10)
    assert "The extractor crashed on this file (exit code 3)" in caught.value.reason


def test_extract_with_timeout_turns_unexpected_errors_into_extraction_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise KeyError("surprise")

    monkeypatch.setattr(sandbox, "extract", explode)
    with pytest.raises(ExtractionError) as caught:
        extract_with_timeout(b"x", "text", timeout_s=10)
    assert caught.value.reason == "The file could not be processed: KeyError: 'surprise'"


def test_extract_with_timeout_keeps_error_subclasses() -> None:
    with pytest.raises(UnsupportedType):
        extract_with_timeout(b"data", "spreadsheet", timeout_s=10)
    with pytest.raises(EmptyDocument):
        extract_with_timeout(b"  \n ", "text", timeout_s=10)


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="address-space limit is Linux-only")
def test_extract_with_timeout_turns_memory_blowup_into_a_clean_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "extract", lambda *args, **kwargs: bytearray(8 * 2**30))
    with pytest.raises(ExtractionError) as caught:
        extract_with_timeout(b"x", "text", timeout_s=20, memory_headroom_bytes=256 * 2**20)
    assert "needs too much memory" in caught.value.reason


def test_extract_with_timeout_falls_back_in_process_when_no_child_can_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(self: object) -> None:
        raise OSError("no processes for you")

    monkeypatch.setattr(multiprocessing.context.ForkProcess, "start", refuse)
    doc = extract_with_timeout(b"Fallback text.", "text", timeout_s=5)
    assert [b.text for b in doc.blocks] == ["Fallback text."]


def test_markdown_title_is_a_lone_top_level_heading_only():
    from documents.extract import extract

    assert extract(b"# Staff Handbook\n\n## Leave\n\nText.\n", "markdown").title == "Staff Handbook"
    assert extract(b"# Returns\n\nText.\n\n# Hours\n\nMore.\n", "markdown").title is None


@pytest.mark.parametrize("kind", ["text", "markdown"])
@pytest.mark.parametrize("blank", [" ", "\t", "\u00a0", "\u3000"])
def test_a_long_blank_run_cannot_inflate_a_chunk(kind: str, blank: str) -> None:
    # Token estimates ignore whitespace: 100 000 blanks between two words made one "short" chunk of
    # 100 KB, stored, embedded and shown in snippets. Indentation and column gaps survive.
    data = ("Opening hours. " + blank * 100_000 + "We open at nine.\n\ndef f():\n        return 1\n").encode()
    chunks = chunk_document(extract(data, kind))
    assert sum(len(c.text) for c in chunks) < 200
    assert "Opening hours. We open at nine." in chunks[0].text
    assert "def f():\n        return 1" in chunks[-1].text
