"""Golden-question files (CSV, JSONL) parse without Django and report every bad line at once."""

from __future__ import annotations

import pytest

from evaluation.golden_files import GoldenFileError, file_format, parse_golden_file


def _parse(data: bytes, filename: str = "golden.csv", **limits):
    options = {"max_question": 200, "max_answer": 400, "max_rows": 10, **limits}
    return parse_golden_file(data, filename=filename, **options)


def test_csv_with_quoted_multiline_answer_and_off_topic_rows():
    data = (
        b"\xef\xbb\xbfQuestion,Answer,off_topic\n"
        b'How long do refunds take?,"Refunds are issued\nwithin 14 days",\n'
        b"\n"
        b"Who painted the Sistine Chapel?,,yes\n"
    )
    rows = _parse(data)
    assert [(r.line, r.question, r.off_topic) for r in rows] == [
        (2, "How long do refunds take?", False),
        (5, "Who painted the Sistine Chapel?", True),
    ]
    assert rows[0].answer == "Refunds are issued\nwithin 14 days"


def test_jsonl_rows_and_format_detection():
    data = (
        b'{"question": "When does the office open?", "answer": "opens at 08:30"}\n'
        b"\n"
        b'{"question": "Best pizza in Naples?", "off_topic": true}\n'
    )
    assert file_format("upload.bin", data) == "jsonl" and file_format("x.csv", data) == "csv"
    rows = _parse(data, filename="golden.jsonl")
    assert [(r.line, r.answer, r.off_topic) for r in rows] == [(1, "opens at 08:30", False), (3, "", True)]


def test_every_bad_jsonl_line_is_reported_with_its_number():
    data = (
        b'{"question": "ok?", "answer": "fine"}\n'
        b"{not json\n"
        b'["a list"]\n'
        b'{"question": "", "answer": "x"}\n'
        b'{"question": "Both?", "answer": "x", "off_topic": true}\n'
        b'{"question": "Neither?"}\n'
        b'{"question": "Flag?", "answer": "x", "off_topic": "maybe"}\n'
        b'{"question": "Typo?", "answr": "x"}\n'
        b'{"question": "OK?", "answer": "again"}\n'
    )
    with pytest.raises(GoldenFileError) as caught:
        _parse(data, filename="g.jsonl")
    errors = caught.value.errors
    assert sorted(errors) == ["line 2", "line 3", "line 4", "line 5", "line 6", "line 7", "line 8", "line 9"]
    assert "Not JSON" in errors["line 2"][0]
    assert "JSON object" in errors["line 3"][0]
    assert "empty" in errors["line 4"][0]
    assert "off-topic question has no answer" in errors["line 5"][0]
    assert "set off_topic to true" in errors["line 6"][0]
    assert "true or false" in errors["line 7"][0]
    assert "answr" in errors["line 8"][0]
    assert "same question is on line 1" in errors["line 9"][0]
    assert "8 lines" in caught.value.message and "nothing was imported" in caught.value.message


def test_csv_without_question_column_or_with_extra_cells_is_refused():
    with pytest.raises(GoldenFileError) as caught:
        _parse(b"q,a\nx,y\n")
    assert "header row" in caught.value.message
    with pytest.raises(GoldenFileError) as caught:
        _parse(b"question,answer\nWhy?,because,extra cell\n")
    assert list(caught.value.errors) == ["line 2"]


def test_limits_encoding_and_empty_files():
    with pytest.raises(GoldenFileError, match="not UTF-8"):
        _parse(b"question\n\xff\xfe\n")
    with pytest.raises(GoldenFileError, match="no questions"):
        _parse(b"question,answer,off_topic\n\n")
    with pytest.raises(GoldenFileError) as caught:
        _parse(b"question,answer\n" + b"Q" * 201 + b",a\n")
    assert "limit is 200" in caught.value.errors["line 2"][0]
    many = b"question,off_topic\n" + b"".join(b"q%d,true\n" % i for i in range(11))
    with pytest.raises(GoldenFileError, match="at most 10"):
        _parse(many)


def test_the_demo_golden_file_parses_and_quotes_the_demo_documents():
    from pathlib import Path

    from documents.samples import DEMO_DOCX_BODY, DEMO_FAQ_MARKDOWN, DEMO_PDF_PAGES
    from evaluation.metrics import normalise

    path = Path(__file__).resolve().parents[2] / "docs" / "demo-golden.csv"
    rows = _parse(path.read_bytes(), max_rows=100)
    texts = [*(p for page in DEMO_PDF_PAGES for p in page), DEMO_FAQ_MARKDOWN]
    texts += [str(value) for _, value in DEMO_DOCX_BODY]
    corpus = normalise(" ".join(texts))
    assert sum(not r.off_topic for r in rows) == 13 and sum(r.off_topic for r in rows) == 4
    for row in rows:
        assert row.off_topic or normalise(row.answer) in corpus, row.question
