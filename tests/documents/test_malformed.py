"""Hostile and broken uploads: each fails with the right error class and a specific reason, fast."""

from __future__ import annotations

import io
import re
import time
import zipfile
from collections.abc import Callable

import pytest

from documents.extract import (
    EmptyDocument,
    ExtractionError,
    UnsupportedType,
    extract,
    extract_with_timeout,
    sniff_type,
)
from documents.samples import build_docx

from . import malformed

CORRUPT_PDF = "The PDF could not be read (corrupt or truncated file): "
PASSWORD = "The PDF is password-protected; upload an unencrypted copy."
SCANNED = "No extractable text: the PDF looks scanned (images only); OCR is not supported."
DTD = "declares a DTD or XML entities, which Word documents never contain (possible XML bomb or XXE attack)"
NOT_DOCX = "Unsupported file type (a ZIP archive that is not a Word .docx)."
BINARY = "The file looks binary, not text."

# (case id, file name, generator, expected class, expected reason fragment)
CASES: list[tuple[str, str, Callable[[], bytes], type[ExtractionError], str]] = [
    ("truncated-pdf", "report.pdf", malformed.truncated_pdf, ExtractionError, CORRUPT_PDF),
    ("corrupt-streams-pdf", "report.pdf", malformed.corrupt_streams_pdf, ExtractionError, CORRUPT_PDF),
    ("garbage-xref-pdf", "report.pdf", malformed.garbage_xref_pdf, ExtractionError, CORRUPT_PDF),
    (
        "no-startxref-pdf",
        "report.pdf",
        malformed.no_startxref_pdf,
        ExtractionError,
        CORRUPT_PDF + "PdfReadError",
    ),
    ("encrypted-pdf", "secret.pdf", malformed.encrypted_pdf, ExtractionError, PASSWORD),
    ("image-only-pdf", "scan.pdf", malformed.image_only_pdf, ExtractionError, SCANNED),
    ("billion-laughs-docx", "laughs.docx", malformed.billion_laughs_docx, ExtractionError, DTD),
    ("xxe-docx", "xxe.docx", malformed.xxe_docx, ExtractionError, DTD),
    ("utf16-dtd-docx", "xxe16.docx", malformed.utf16_doctype_docx, ExtractionError, DTD),
    # Every XML part, whatever its name and encoding (issue 8: a non-.xml main part and UTF-32 got past).
    (
        "dtd-in-renamed-main-part-docx",
        "renamed.docx",
        malformed.dtd_in_renamed_main_part_docx,
        ExtractionError,
        "its part 'word/main.bin' " + DTD,
    ),
    (
        "utf32-bom-dtd-docx",
        "xxe32.docx",
        lambda: malformed.encoded_doctype_docx("utf-32", "UTF-32"),
        ExtractionError,
        DTD,
    ),
    (
        "utf32le-dtd-docx",
        "xxe32le.docx",
        lambda: malformed.encoded_doctype_docx("utf-32-le"),
        ExtractionError,
        DTD,
    ),
    (
        "utf32be-dtd-docx",
        "xxe32be.docx",
        lambda: malformed.encoded_doctype_docx("utf-32-be", "UTF-32"),
        ExtractionError,
        DTD,
    ),
    ("utf7-dtd-docx", "xxe7.docx", malformed.utf7_doctype_docx, ExtractionError, DTD),
    (
        "ebcdic-docx",
        "ebcdic.docx",
        lambda: malformed.encoded_doctype_docx("cp037", "IBM037"),
        ExtractionError,
        "uses a character encoding (EBCDIC or UCS-4 in an unusual byte order) that cannot be checked",
    ),
    (
        "unknown-encoding-docx",
        "bogus.docx",
        lambda: malformed.encoded_doctype_docx("ascii", "X-BOGUS"),
        ExtractionError,
        "uses a character encoding (X-BOGUS) that cannot be checked for DTDs",
    ),
    ("zip-bomb-docx", "bomb.docx", malformed.zip_bomb_docx, ExtractionError, "it looks like a zip bomb"),
    ("random-zip-as-docx", "archive.docx", malformed.random_zip, UnsupportedType, NOT_DOCX),
    ("truncated-docx", "cut.docx", malformed.truncated_docx, ExtractionError, "corrupt or truncated ZIP"),
    ("empty-file", "empty.txt", lambda: b"", EmptyDocument, "The file is empty."),
    ("whitespace-text", "blank.txt", lambda: b" \r\n\t\n   ", EmptyDocument, "only whitespace"),
    (
        "png-named-pdf",
        "photo.pdf",
        malformed.png_bytes,
        UnsupportedType,
        "Unsupported file type (PNG image).",
    ),
    ("garbage-named-txt", "notes.txt", malformed.binary_garbage, UnsupportedType, BINARY),
    ("nul-free-garbage-txt", "notes.txt", malformed.binary_garbage_without_nul, UnsupportedType, BINARY),
]


def _sniff_and_extract(data: bytes, filename: str, *, timeout: bool, **limits: int) -> None:
    kind = sniff_type(data, filename)
    if timeout:
        extract_with_timeout(data, kind, timeout_s=20, **limits)
    else:
        extract(data, kind, **limits)


@pytest.mark.parametrize("timeout", [False, True], ids=["in-process", "child-process"])
@pytest.mark.parametrize(
    ("filename", "make", "error", "reason"), [case[1:] for case in CASES], ids=[c[0] for c in CASES]
)
def test_malformed_file_fails_with_specific_reason(
    filename: str, make: Callable[[], bytes], error: type[ExtractionError], reason: str, timeout: bool
) -> None:
    data = make()
    started = time.monotonic()
    with pytest.raises(ExtractionError) as caught:
        _sniff_and_extract(data, filename, timeout=timeout)
    assert type(caught.value) is error
    assert reason in caught.value.reason
    assert time.monotonic() - started < 10


def test_pdf_with_more_pages_than_the_limit_is_rejected() -> None:
    data = malformed.many_pages_pdf(5)
    with pytest.raises(ExtractionError) as caught:
        extract_with_timeout(data, "pdf", timeout_s=20, max_pages=3)
    assert caught.value.reason == "The PDF has 5 pages; the limit is 3. Split it into smaller files."
    assert extract(data, "pdf", max_pages=5).page_count == 5


def test_docx_larger_than_the_uncompressed_limit_is_rejected_without_unpacking() -> None:
    data = malformed.zip_bomb_docx(member_bytes=4 * 2**20)
    with pytest.raises(ExtractionError) as caught:
        extract(data, "docx", max_uncompressed_bytes=2 * 2**20, max_ratio=10_000)
    assert re.search(
        r"expands to [45]\.\d MiB when unpacked \(limit 2\.0 MiB\); it looks like a zip bomb",
        caught.value.reason,
    )


def test_docx_zip_bomb_is_small_on_disk_but_huge_when_unpacked() -> None:
    data = malformed.zip_bomb_docx()
    infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    assert len(data) < 100 * 2**10
    assert sum(info.file_size for info in infos) > 20 * 2**20


def test_docx_with_too_many_parts_is_rejected() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
        for n in range(50):
            archive.writestr(f"word/media/{n}.bin", b"x")
    with pytest.raises(ExtractionError) as caught:
        extract(out.getvalue(), "docx", max_zip_members=20)
    assert "contains 52 parts (limit 20)" in caught.value.reason


def test_docx_with_a_broken_document_part_fails_cleanly() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<not-closed")
    with pytest.raises(ExtractionError) as caught:
        extract(out.getvalue(), "docx")
    assert type(caught.value) is ExtractionError
    assert caught.value.reason.startswith("The Word file could not be read (corrupt or not a valid .docx")


def test_truncated_copies_of_a_good_pdf_never_raise_anything_else() -> None:
    data = malformed.good_pdf()
    for size in range(0, len(data), max(1, len(data) // 40)):
        try:
            doc = extract(data[:size], "pdf")
        except ExtractionError as error:
            assert error.reason
        else:
            assert doc.page_count and doc.page_count >= 1


def test_byte_flipped_pdfs_never_raise_anything_else() -> None:
    data = malformed.good_pdf()
    for position in range(9, len(data), 97):
        damaged = bytearray(data)
        damaged[position] ^= 0xFF
        try:
            doc = extract(bytes(damaged), "pdf")
        except ExtractionError as error:
            assert error.reason
        else:
            assert doc.blocks


def test_docx_zip_bomb_member_is_never_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    data = malformed.zip_bomb_docx()
    opened: list[str] = []
    original_open = zipfile.ZipFile.open

    def spying_open(self: zipfile.ZipFile, name: str | zipfile.ZipInfo, *args: object, **kwargs: object):
        opened.append(name.filename if isinstance(name, zipfile.ZipInfo) else name)
        return original_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spying_open)
    with pytest.raises(ExtractionError):
        extract(data, "docx")
    assert opened == []  # rejected from the ZIP directory alone


def test_small_highly_repetitive_docx_part_is_not_mistaken_for_a_bomb() -> None:
    data = build_docx([("p", "Same line again.")] * 3000)
    part = zipfile.ZipFile(io.BytesIO(data)).getinfo("word/document.xml")
    assert part.file_size / part.compress_size > 100  # above max_ratio, but small in absolute terms
    doc = extract(data, "docx")
    assert len(doc.blocks) == 3000


def test_docx_with_a_utf16_document_part_and_no_dtd_still_extracts() -> None:
    doc = extract(malformed.utf16_document_docx("Grüße from a UTF-16 part."), "docx")
    assert [b.text for b in doc.blocks] == ["Grüße from a UTF-16 part."]


def test_docx_binary_parts_are_not_scanned_as_xml() -> None:
    # A media part is not XML (its first character is not "<"), so no parser reads a DTD in it,
    # whatever its bytes; refusing it would reject ordinary documents with pictures.
    base = zipfile.ZipFile(io.BytesIO(build_docx([("p", "A picture follows.")])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in base.infolist():
            archive.writestr(info.filename, base.read(info))
        archive.writestr("word/media/image1.png", malformed.png_bytes() + b"<!ENTITY in image data>")
    doc = extract(out.getvalue(), "docx")
    assert [b.text for b in doc.blocks] == ["A picture follows."]
