"""Golden question sets and their corpus on disk — pure: no Django.

A set is a JSON Lines file, one question a line::

    {"id": "topics-cache-1", "question": "…", "file": "topics/cache.txt", "answer": "a span quoted from it",
     "also": [{"file": "topics/performance.txt", "answer": "another span that answers it"}]}
    {"id": "off-topic-01", "question": "Who painted the Sistine Chapel?", "file": null, "answer": null}

``file`` is the document's path relative to the corpus folder (the evaluation's ``source`` key) and
``answer`` a span copied from it (whitespace may differ); ``also`` (optional) lists other places that
answer the question as well. ``file`` and ``answer`` both null mark an off-topic question.
:func:`load_questions` checks every line, and with ``corpus`` every quote against its file, so a typo
in a golden set is an error naming the line, never a silently unanswerable question.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .metrics import Expected, GoldenQuestion, normalise

# An RST or Setext title: a text line underlined by a run of one punctuation character.
_UNDERLINE_RE = re.compile(r"([=\-~^\"`*+#])\1{2,}")


class DatasetError(ValueError):
    """A golden set or its corpus is malformed; the message names the file and line."""


@dataclass(frozen=True)
class CorpusFile:
    """One document of a corpus: its key (path relative to the corpus), title and bytes."""

    key: str
    title: str
    data: bytes


def document_title(text: str, fallback: str) -> str:
    """The first underlined heading of an RST/Markdown-Setext text (what the file calls itself)."""
    lines = text.splitlines()
    for line, underline in zip(lines, lines[1:], strict=False):
        title = line.strip()
        if title and not _UNDERLINE_RE.fullmatch(title) and _UNDERLINE_RE.fullmatch(underline.strip()):
            return title.replace("``", "")[:300]
    return fallback


def read_corpus(root: Path, pattern: str = "**/*.txt") -> list[CorpusFile]:
    """Every file under ``root`` matching ``pattern``, sorted by key, titled by its own heading."""
    files = []
    for path in sorted(root.glob(pattern)):
        data = path.read_bytes()
        key = path.relative_to(root).as_posix()
        files.append(CorpusFile(key=key, title=document_title(data.decode("utf-8"), key), data=data))
    if not files:
        raise DatasetError(f"No corpus files match {pattern!r} under {root}.")
    return files


def _lines(path: Path) -> Iterator[tuple[int, dict]]:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{number}: not JSON ({exc.msg}).") from exc
        if not isinstance(record, dict):
            raise DatasetError(f"{path}:{number}: each line must be a JSON object.")
        yield number, record


def load_questions(path: Path, *, corpus: Path | None = None) -> list[GoldenQuestion]:
    """The golden questions of ``path``; with ``corpus``, every quote is checked against its file."""
    questions: list[GoldenQuestion] = []
    seen: set[str] = set()
    texts: dict[str, str] = {}
    for number, record in _lines(path):
        where = f"{path}:{number}"
        qid, question = str(record.get("id") or "").strip(), str(record.get("question") or "").strip()
        source, quote = record.get("file"), record.get("answer")
        if not qid or not question:
            raise DatasetError(f"{where}: every line needs an 'id' and a 'question'.")
        if qid in seen:
            raise DatasetError(f"{where}: the id {qid!r} is used twice.")
        seen.add(qid)
        if (source is None) != (quote is None):
            raise DatasetError(f"{where}: give 'file' and 'answer', or neither for an off-topic question.")
        places = [(source, quote)] if source is not None else []
        also = record.get("also") or []
        if also and not places:
            raise DatasetError(f"{where}: 'also' needs a 'file' and 'answer' first.")
        if not isinstance(also, list) or not all(isinstance(a, dict) for a in also):
            raise DatasetError(f"{where}: 'also' must be a list of {{'file', 'answer'}} objects.")
        places += [(a.get("file"), a.get("answer")) for a in also]
        expected = []
        for file_key, span in places:
            if not file_key or not str(span or "").strip():
                raise DatasetError(f"{where}: every answer needs a 'file' and a non-empty 'answer' quote.")
            place = Expected(source=str(file_key), quote=str(span))
            if corpus is not None:
                if place.source not in texts:
                    file = corpus / place.source
                    if not file.is_file():
                        raise DatasetError(f"{where}: the corpus has no file {place.source!r}.")
                    texts[place.source] = normalise(file.read_text(encoding="utf-8"))
                if normalise(place.quote) not in texts[place.source]:
                    raise DatasetError(f"{where}: the answer quote is not in {place.source}.")
            expected.append(place)
        questions.append(GoldenQuestion(id=qid, question=question, expected=tuple(expected)))
    if not questions:
        raise DatasetError(f"{path} holds no questions.")
    return questions
