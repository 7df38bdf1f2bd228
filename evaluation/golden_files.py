"""Golden questions from an uploaded file (CSV or JSON Lines) — pure: no Django.

CSV: a header row naming ``question`` and, as needed, ``answer`` and ``off_topic``; one question a
row. JSON Lines: one object a line with the keys ``question``, ``answer`` (optional) and
``off_topic`` (optional, a boolean). ``answer`` is a span copied from a document that answers the
question; an off-topic question has no answer. :func:`parse_golden_file` checks every line and
reports every bad one at once (``{"line 3": ["…"]}``), so an import is all or nothing.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

COLUMNS = ("question", "answer", "off_topic")
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0", ""}


@dataclass(frozen=True)
class GoldenRow:
    line: int
    question: str
    answer: str
    off_topic: bool


class GoldenFileError(ValueError):
    """The file cannot be imported; ``errors`` maps ``"line N"`` (or ``"file"``) to messages."""

    def __init__(self, message: str, errors: dict[str, list[str]]) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors


def file_format(filename: str, data: bytes) -> str:
    """``"csv"`` or ``"jsonl"``: by the file's extension, else by its first character."""
    name = filename.lower()
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    return "jsonl" if data.lstrip().startswith(b"{") else "csv"


def _flag(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    return None


def _check(
    line: int, record: dict, *, max_question: int, max_answer: int
) -> tuple[GoldenRow | None, list[str]]:
    problems = []
    unknown = sorted(set(record) - set(COLUMNS))
    if unknown:
        problems.append(
            f"Unknown {'keys' if len(unknown) > 1 else 'key'} {', '.join(unknown)}; use {', '.join(COLUMNS)}."
        )
    question, answer = record.get("question"), record.get("answer")
    if question is not None and not isinstance(question, str):
        problems.append("'question' must be text.")
    if answer is not None and not isinstance(answer, str):
        problems.append("'answer' must be text.")
    if problems:
        return None, problems
    question, answer = (question or "").strip(), (answer or "").strip()
    off_topic = _flag(record.get("off_topic"))
    if off_topic is None:
        problems.append("'off_topic' must be true or false.")
    if not question:
        problems.append("The question is empty.")
    elif len(question) > max_question:
        problems.append(f"The question is {len(question)} characters; the limit is {max_question}.")
    if len(answer) > max_answer:
        problems.append(f"The answer is {len(answer)} characters; the limit is {max_answer}.")
    if off_topic and answer:
        problems.append("An off-topic question has no answer: clear 'answer' or set off_topic to false.")
    if off_topic is False and not answer:
        problems.append(
            "Give the 'answer' passage, or set off_topic to true for a question the bot should decline."
        )
    if problems:
        return None, problems
    return GoldenRow(line=line, question=question, answer=answer, off_topic=bool(off_topic)), []


def _csv_records(text: str) -> list[tuple[int, dict]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [name.strip().lower() for name in next(reader, [])]
    if "question" not in header:
        raise GoldenFileError(
            "The CSV needs a header row naming the columns question, answer and off_topic.",
            {"line 1": ["No 'question' column in the header."]},
        )
    records, start = [], reader.line_num + 1
    for cells in reader:
        line, start = start, reader.line_num + 1  # a quoted cell may span several lines
        if not any(cell.strip() for cell in cells):
            continue
        record: dict = dict(zip(header, cells, strict=False))
        if len(cells) > len(header):
            record["(cells past the header)"] = cells[len(header) :]
        records.append((line, record))
    return records


def _jsonl_records(text: str) -> tuple[list[tuple[int, dict]], dict[str, list[str]]]:
    records, errors = [], {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            errors[f"line {number}"] = [f"Not JSON: {exc.msg} (column {exc.colno})."]
            continue
        if not isinstance(record, dict):
            errors[f"line {number}"] = ['Each line must be a JSON object: {"question": …, "answer": …}.']
            continue
        records.append((number, record))
    return records, errors


def parse_golden_file(
    data: bytes, *, filename: str, max_question: int, max_answer: int, max_rows: int
) -> list[GoldenRow]:
    """Every row of a CSV or JSONL golden-question file; raises GoldenFileError listing every bad line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise GoldenFileError(
            "The file is not UTF-8 text; save it as UTF-8 and upload it again.",
            {"file": [f"Byte {exc.start} is not UTF-8."]},
        ) from exc
    kind = file_format(filename, data)
    errors: dict[str, list[str]] = {}
    try:
        if kind == "csv":
            records = _csv_records(text)
        else:
            records, errors = _jsonl_records(text)
    except csv.Error as exc:
        raise GoldenFileError(f"The CSV cannot be read: {exc}.", {"file": [str(exc)]}) from exc
    rows: list[GoldenRow] = []
    seen: dict[str, int] = {}
    for line, record in records:
        row, problems = _check(line, record, max_question=max_question, max_answer=max_answer)
        if row is not None:
            key = " ".join(row.question.split()).casefold()
            if key in seen:
                problems = [f"The same question is on line {seen[key]}."]
            else:
                seen[key] = line
                rows.append(row)
        if problems:
            errors[f"line {line}"] = problems
    if errors:
        count = len(errors)
        raise GoldenFileError(
            f"{count} line{'s' if count > 1 else ''} of the {kind.upper()} file "
            f"{'are' if count > 1 else 'is'} invalid; nothing was imported. "
            "Fix the lines listed in 'errors' and upload the file again.",
            errors,
        )
    if not rows:
        raise GoldenFileError("The file holds no questions.", {"file": ["No rows."]})
    if len(rows) > max_rows:
        raise GoldenFileError(
            f"The file holds {len(rows)} questions; at most {max_rows} can be imported.",
            {"file": [f"More than {max_rows} rows."]},
        )
    return rows
