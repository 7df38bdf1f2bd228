"""Robustness over real-world PDFs from ../shared/corpus/pdf (skipped when the folder is absent).

Every file, and truncated copies of it, must either extract (page_count >= 1) or fail with an
ExtractionError carrying a reason — never another exception, never a hang.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

import pypdf
import pytest

from documents.chunking import chunk_document, estimate_tokens, full_text
from documents.extract import ExtractedDocument, ExtractionError, extract_with_timeout, sniff_type

from .test_chunking import minilm_tokenizer

# The project root's parent holds shared/ both here (/work) and in CI (a clone beside ../shared).
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "pdf"
FILES = sorted(p.name for p in CORPUS.glob("*.pdf")) if CORPUS.is_dir() else []
PASSWORD_FILE = "005-libreoffice-writer-password_libreoffice-writer-password.pdf"
SCANNED_FILES = {
    "007-imagemagick-images_imagemagick-ASCII85Decode.pdf",
    "007-imagemagick-images_imagemagick-CCITTFaxDecode.pdf",
    "007-imagemagick-images_imagemagick-lzw.pdf",
    "019-grayscale-image_grayscale-image.pdf",
    "023-cmyk-image_cmyk-image.pdf",
}
TIMEOUT_S = 30

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CORPUS.is_dir(), reason=f"PDF corpus not found at {CORPUS}"),
]


def _outcome(data: bytes, name: str) -> ExtractedDocument | ExtractionError:
    try:
        return extract_with_timeout(data, sniff_type(data, name), timeout_s=TIMEOUT_S)
    except ExtractionError as error:
        return error


@functools.cache
def _file_outcome(name: str) -> ExtractedDocument | ExtractionError:
    """Whole-file outcomes are cached: several tests read the same extraction."""
    return _outcome((CORPUS / name).read_bytes(), name)


@pytest.mark.parametrize("name", FILES)
def test_corpus_pdf_extracts_or_fails_with_a_reason(name: str) -> None:
    outcome = _file_outcome(name)
    if isinstance(outcome, ExtractionError):
        assert outcome.reason.strip()
        if name in SCANNED_FILES:
            assert outcome.reason.startswith("No extractable text: the PDF looks scanned")
        return
    assert name not in SCANNED_FILES and name != PASSWORD_FILE
    assert outcome.kind == "pdf"
    assert outcome.page_count is not None and outcome.page_count >= 1
    assert outcome.blocks
    assert all(b.page is not None and 1 <= b.page <= outcome.page_count for b in outcome.blocks)
    pages = [b.page for b in outcome.blocks]
    assert pages == sorted(pages)  # reading order
    text = full_text(outcome)
    for chunk in chunk_document(outcome):
        assert chunk.text == text[chunk.char_start : chunk.char_end]
        assert estimate_tokens(chunk.text) <= 200


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("fraction", ["half", "1KiB"])
def test_truncated_corpus_pdf_extracts_or_fails_with_a_reason(name: str, fraction: str) -> None:
    data = (CORPUS / name).read_bytes()
    data = data[: len(data) // 2] if fraction == "half" else data[:1024]
    outcome = _outcome(data, name)
    if isinstance(outcome, ExtractionError):
        assert outcome.reason.strip()
    else:
        assert outcome.page_count is not None and outcome.page_count >= 1
        assert outcome.blocks


@pytest.mark.skipif(PASSWORD_FILE not in FILES, reason="password-protected sample not in the corpus")
def test_password_protected_corpus_pdf_really_needs_a_user_password() -> None:
    data = (CORPUS / PASSWORD_FILE).read_bytes()
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert reader.is_encrypted
    assert reader.decrypt("") == pypdf.PasswordType.NOT_DECRYPTED  # so it cannot be opened silently
    outcome = _file_outcome(PASSWORD_FILE)
    assert isinstance(outcome, ExtractionError)
    assert outcome.reason == "The PDF is password-protected; upload an unencrypted copy."


@pytest.mark.skipif(
    "006-pdflatex-outline_pdflatex-outline.pdf" not in FILES, reason="outline sample not in the corpus"
)
def test_corpus_pdf_bookmarks_become_heading_paths() -> None:
    name = "006-pdflatex-outline_pdflatex-outline.pdf"
    outcome = _file_outcome(name)
    assert isinstance(outcome, ExtractedDocument)
    headings = [(b.page, b.text) for b in outcome.blocks if b.kind == "heading"]
    assert headings[:3] == [(2, "1 Foo"), (2, "2 Bar"), (2, "3 Baz")]
    assert len(headings) == 9
    body = next(b for b in outcome.blocks if b.kind == "paragraph" and b.page == 4)
    assert body.heading_path in {("Foo",), ("Bar",), ("Baz",)}


def test_corpus_chunks_fit_the_minilm_window_with_the_real_tokenizer() -> None:
    tokenizer = minilm_tokenizer()
    counts: list[int] = []
    for name in FILES:
        outcome = _file_outcome(name)
        if isinstance(outcome, ExtractedDocument):
            counts += [len(tokenizer.encode(c.text).ids) for c in chunk_document(outcome)]
    assert len(counts) > 100
    assert max(counts) <= 256  # includes [CLS] and [SEP]
