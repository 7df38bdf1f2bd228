"""Evaluation metrics and golden sets: pure, no database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.dataset import DatasetError, document_title, load_questions, read_corpus
from evaluation.metrics import Expected, Outcome, covers, hit_rank, mrr_at_k, recall_at_k, summarise

DATASET = Path(__file__).resolve().parents[2] / "bench" / "datasets" / "django_docs"


def test_covers_matches_across_wrapping_and_a_chunk_boundary():
    quote = "Django does *not* provide automatic purging of expired sessions."
    assert covers("It says: Django does *not*\nprovide   automatic purging of expired sessions. So…", quote)
    assert covers("…Django does *not* provide automatic purging of expired", quote)  # most of it
    assert not covers("Django does *not* provide", quote)  # too little of it
    with pytest.raises(ValueError):
        covers("text", "  ")


def test_hit_rank_needs_the_right_source_and_respects_k():
    expected = Expected(source="a.txt", quote="the answer")
    passages = [("b.txt", "the answer"), ("a.txt", "nothing"), ("a.txt", "here is the answer")]
    assert hit_rank(passages, expected) == 3
    assert hit_rank(passages, expected, k=2) is None


def test_recall_and_mrr_at_k():
    ranks = [1, 2, None, 6]
    assert recall_at_k(ranks, 5) == 0.5
    assert mrr_at_k(ranks, 5) == pytest.approx((1 + 0.5) / 4)
    assert recall_at_k([], 5) == 0.0 and mrr_at_k([], 5) == 0.0


def test_summary_separates_on_and_off_topic_rates():
    outcomes = [
        Outcome("a", True, 1, True, 0.1),
        Outcome("b", True, None, False, 0.3),
        Outcome("c", False, None, False, 0.2),
        Outcome("d", False, None, True, 0.2),
    ]
    summary = summarise(outcomes, k=5)
    assert (summary.on_topic, summary.off_topic) == (2, 2)
    assert summary.recall == 0.5 and summary.mrr == 0.5
    assert summary.answered_rate == 0.5 and summary.fallback_rate == 0.5
    assert summary.p50_ms == pytest.approx(200)


def test_the_shipped_golden_set_is_valid_against_its_corpus():
    questions = load_questions(DATASET / "questions.jsonl", corpus=DATASET / "docs")
    on_topic = [q for q in questions if q.on_topic]
    assert len(on_topic) >= 100 and len(questions) - len(on_topic) >= 40
    files = {f.key for f in read_corpus(DATASET / "docs")}
    assert all(e.source in files for q in on_topic for e in q.expected)
    assert (DATASET / "LICENSE").read_text().startswith("Copyright (c) Django Software Foundation")


def test_a_misquoted_answer_is_an_error_naming_the_line(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("Title\n=====\n\nThe office opens at nine.\n")
    lines = [
        {"id": "q1", "question": "When?", "file": "a.txt", "answer": "The office opens at nine."},
        {"id": "q2", "question": "When?", "file": "a.txt", "answer": "The office opens at ten."},
    ]
    (tmp_path / "q.jsonl").write_text("\n".join(json.dumps(line) for line in lines))

    with pytest.raises(DatasetError, match=r"q.jsonl:2: the answer quote is not in a.txt"):
        load_questions(tmp_path / "q.jsonl", corpus=tmp_path / "docs")
    assert read_corpus(tmp_path / "docs")[0].title == "Title"


def test_document_title_reads_rst_and_setext_headings():
    assert document_title("=====\nFAQ: The admin\n=====\n\ntext", "x") == "FAQ: The admin"
    assert document_title("no heading here", "fallback") == "fallback"
