"""The analytics datasets and how they are written: CSV or JSON Lines, streamed in constant memory.

Every dataset has stable, documented columns (`DATASETS`, also the README and the Athena DDL).
Shared rules:
- timestamps are ISO-8601 UTC with microseconds and `Z`; days are `YYYY-MM-DD`;
- booleans are `true`/`false`; a missing value is an empty CSV cell / JSON `null`;
- public visitors appear only as pseudonyms (`visitor-` + 12 hex of a SHA-256), never their token;
- CSV text cells starting with `=`, `+`, `-`, `@`, tab or carriage return get a leading `'`, so a
  spreadsheet shows them instead of running them as formulas (JSON keeps text as it is);
- rows come from one organisation's scoped querysets only.

On PostgreSQL the large CSV datasets (messages, conversations, feedback, documents) are produced by
`COPY (<the scoped query with the formatting above in SQL>) TO STDOUT` and streamed block by
block, at the speed of the server; elsewhere, and for JSON, rows are read with
`QuerySet.iterator(chunk_size=...)` and written by `csv.writer`. Both produce the same bytes
(the export tests run on SQLite and PostgreSQL against one expected output).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from django.db import connection
from django.db.models import CharField, F, Func, Q, QuerySet
from django.http import StreamingHttpResponse

from bots.models import Bot
from chat.models import Conversation, Message, Role
from documents.models import Document
from tenants.models import Organization

from .models import DailyMetrics, UnansweredQuestion
from .rollup import LATENCY_BUCKET_COUNT, key_hash, latency_percentile, normalise, pseudonym, usd
from .services import day_bounds, question_subquery

CHUNK_ROWS = 2000
FLUSH_BYTES = 64 * 1024
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # text, id, int, float, bool, timestamp, date, pseudonym
    description: str
    source: str = ""  # ORM lookup, for datasets read straight from a queryset


@dataclass(frozen=True)
class Window:
    org: Organization
    start: date
    end: date
    bot: Bot | None = None

    @property
    def since(self) -> datetime:
        return day_bounds(self.start)[0]

    @property
    def until(self) -> datetime:
        return day_bounds(self.end)[1]


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    columns: tuple[Column, ...]
    # Either a queryset whose `values_list(*sources)` are the rows (COPY-able), or a row generator.
    queryset: Callable[[Window], QuerySet] | None = None
    rows: Callable[[Window], Iterator[tuple]] | None = None
    athena_types: dict[str, str] = field(default_factory=dict)

    def iter_rows(self, window: Window) -> Iterator[tuple]:
        if self.queryset is not None:
            sources = [column.source for column in self.columns]
            return self.queryset(window).values_list(*sources).iterator(chunk_size=CHUNK_ROWS)
        return self.rows(window)


# --- Formatting ----------------------------------------------------------------------------------


def escape_formula(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def timestamp(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if value is not None else None


def csv_cell(kind: str, value: Any, *, single_line: bool = False) -> Any:
    if value is None or value == "":
        return ""
    if kind == "text":
        text = escape_formula(str(value))
        # Athena's CSV reader cannot take a line break inside a quoted cell: the S3 feed folds them.
        return " ".join(text.splitlines()) if single_line else text
    if kind == "bool":
        return "true" if value else "false"
    if kind == "timestamp":
        return timestamp(value)
    if kind == "pseudonym":
        return pseudonym(value)
    if kind in ("id", "date"):
        return str(value)
    return value


def json_value(kind: str, value: Any) -> Any:
    if kind == "timestamp":
        return timestamp(value)
    if kind == "pseudonym":
        return pseudonym(value) or None
    if kind in ("id", "date"):
        return str(value) if value not in (None, "") else None
    if kind == "text":
        return value if value not in (None, "") else None
    return value


# PostgreSQL: the same formatting, in SQL, for COPY. `%(expressions)s` is the column.
_SQL_FORMAT = {
    "text": "CASE WHEN %(expressions)s ~ '^[-=+@\\t\\r]' THEN '''' || %(expressions)s "
    "ELSE NULLIF(%(expressions)s, '') END",
    "id": "(%(expressions)s)::text",
    "int": "%(expressions)s",
    "bool": "CASE WHEN %(expressions)s THEN 'true' ELSE 'false' END",
    "timestamp": "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
    "pseudonym": "CASE WHEN %(expressions)s = '' THEN NULL ELSE 'visitor-' || "
    "left(encode(sha256(convert_to(%(expressions)s, 'UTF8')), 'hex'), 12) END",
}


def _sql_formatted(dataset: Dataset, window: Window) -> tuple[str, list[Any]]:
    qs = dataset.queryset(window)
    names = [f"c{i}" for i in range(len(dataset.columns))]
    annotations = {
        name: Func(F(column.source), template=_SQL_FORMAT[column.kind], output_field=CharField())
        for name, column in zip(names, dataset.columns, strict=True)
    }
    sql, params = qs.annotate(**annotations).values_list(*names).query.sql_with_params()
    return sql, list(params)


# --- Writers -----------------------------------------------------------------------------------


def _csv_writer(buffer: io.StringIO):
    return csv.writer(buffer, lineterminator="\n")


def stream_csv(
    dataset: Dataset, window: Window, *, header: bool = True, single_line: bool = False
) -> Iterator[bytes]:
    """The dataset as CSV, ~64 KB at a time."""
    if header:
        yield (",".join(column.name for column in dataset.columns) + "\n").encode()
    if connection.vendor == "postgresql" and dataset.queryset is not None and not single_line:
        yield from _copy(dataset, window)
        return
    kinds = [column.kind for column in dataset.columns]
    buffer = io.StringIO()
    writer = _csv_writer(buffer)
    for row in dataset.iter_rows(window):
        writer.writerow(
            [csv_cell(kind, value, single_line=single_line) for kind, value in zip(kinds, row, strict=True)]
        )
        if buffer.tell() >= FLUSH_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def _copy(dataset: Dataset, window: Window) -> Iterator[bytes]:
    sql, params = _sql_formatted(dataset, window)
    pending = bytearray()
    # The statement is the scoped queryset's own SQL with its bound parameters.
    statement = f"COPY ({sql}) TO STDOUT (FORMAT csv)"
    with connection.cursor() as cursor, cursor.cursor.copy(statement, params) as copy:
        for block in copy:
            pending += block
            if len(pending) >= FLUSH_BYTES:
                yield bytes(pending)
                pending.clear()
    if pending:
        yield bytes(pending)


def stream_jsonl(dataset: Dataset, window: Window) -> Iterator[bytes]:
    """The dataset as JSON Lines: one object per row, keys in column order."""
    columns = dataset.columns
    parts: list[str] = []
    size = 0
    for row in dataset.iter_rows(window):
        line = json.dumps(
            {c.name: json_value(c.kind, v) for c, v in zip(columns, row, strict=True)}, ensure_ascii=False
        )
        parts.append(line)
        size += len(line) + 1
        if size >= FLUSH_BYTES:
            yield ("\n".join(parts) + "\n").encode()
            parts, size = [], 0
    if parts:
        yield ("\n".join(parts) + "\n").encode()


# --- Datasets ----------------------------------------------------------------------------------

ORG = Column("org_id", "id", "The organisation.", "org_id")


def _by_bot(qs: QuerySet, window: Window) -> QuerySet:
    return qs.filter(bot=window.bot) if window.bot is not None else qs


def _messages(window: Window) -> QuerySet:
    qs = Message.objects.for_org(window.org).filter(created_at__gte=window.since, created_at__lt=window.until)
    return _by_bot(qs, window).order_by("created_at", "id")


def _conversations(window: Window) -> QuerySet:
    qs = Conversation.objects.for_org(window.org).filter(
        started_at__gte=window.since, started_at__lt=window.until
    )
    return _by_bot(qs, window).order_by("started_at", "id")


def _feedback(window: Window) -> QuerySet:
    qs = Message.objects.for_org(window.org).filter(
        role=Role.ASSISTANT, feedback_at__gte=window.since, feedback_at__lt=window.until
    )
    return _by_bot(qs, window).exclude(rating="").order_by("feedback_at", "id")


def _documents(window: Window) -> QuerySet:
    qs = Document.objects.for_org(window.org).filter(
        created_at__gte=window.since, created_at__lt=window.until
    )
    return _by_bot(qs, window).order_by("created_at", "id")


def _daily_metrics(window: Window) -> Iterator[tuple]:
    qs = _by_bot(
        DailyMetrics.objects.for_org(window.org).filter(day__gte=window.start, day__lte=window.end), window
    ).order_by("day", "bot_id", "channel")
    for m in qs.iterator(chunk_size=CHUNK_ROWS):
        histogram = [getattr(m, f"latency_b{i:02d}") for i in range(LATENCY_BUCKET_COUNT)]
        answers = m.assistant_messages
        yield (
            m.org_id, m.day, m.bot_id, m.channel, m.conversations, m.user_messages, answers, m.visitors,
            m.unanswered, m.fallback_answers, m.model_errors, m.rated_up, m.rated_down,
            round(m.latency_ms_sum / answers) if answers else None,
            latency_percentile(histogram) if answers else None,
            m.prompt_tokens, m.completion_tokens, m.embeddings_computed, m.embedding_tokens,
            m.vector_bytes_read, usd(m.cost_nanousd),
        )  # fmt: skip


def _unanswered(window: Window) -> Iterator[tuple]:
    qs = _by_bot(
        Message.objects.for_org(window.org).filter(
            role=Role.ASSISTANT, created_at__gte=window.since, created_at__lt=window.until
        ),
        window,
    )
    rows = (
        qs.filter(Q(unanswered=True, error="") | Q(rating="down"))
        .annotate(question=question_subquery(window.org))
        .order_by("created_at", "id")
        .values_list("org_id", "id", "conversation_id", "bot_id", "conversation__channel", "created_at",
                     "question", "unanswered", "rating")
    )  # fmt: skip
    groups: dict[tuple[Any, str], tuple[Any, str]] = {}
    pending: list[tuple] = []

    def flush() -> Iterator[tuple]:
        wanted = {key_hash(normalise(row[6] or "")) for row in pending} - {h for _, h in groups}
        if wanted:
            for group_id, bot_id, digest, status in (
                UnansweredQuestion.objects.for_org(window.org)
                .filter(key_hash__in=wanted)
                .values_list("id", "bot_id", "key_hash", "status")
            ):
                groups[(bot_id, digest)] = (group_id, status)
        for (
            org_id,
            message_id,
            conversation_id,
            bot_id,
            channel,
            created_at,
            question,
            unanswered,
            _rating,
        ) in pending:
            group_id, status = groups.get((bot_id, key_hash(normalise(question or ""))), (None, "open"))
            reason = "fallback" if unanswered else "rated_down"
            yield (org_id, message_id, conversation_id, bot_id, channel, created_at, question, reason,
                   group_id, status)  # fmt: skip
        pending.clear()

    for row in rows.iterator(chunk_size=CHUNK_ROWS):
        pending.append(row)
        if len(pending) >= CHUNK_ROWS:
            yield from flush()
    yield from flush()


DATASETS: dict[str, Dataset] = {
    dataset.name: dataset
    for dataset in (
        Dataset(
            "messages",
            "Every question and answer.",
            (
                ORG,
                Column("message_id", "id", "The message.", "id"),
                Column("conversation_id", "id", "Its conversation.", "conversation_id"),
                Column("bot_id", "id", "The bot.", "bot_id"),
                Column("created_at", "timestamp", "When it was written (UTC).", "created_at"),
                Column("channel", "text", "builder, public or api.", "conversation__channel"),
                Column(
                    "visitor",
                    "pseudonym",
                    "Public visitor's pseudonym; empty otherwise.",
                    "conversation__visitor_id",
                ),
                Column("role", "text", "user or assistant.", "role"),
                Column("content", "text", "The text.", "content"),
                Column("unanswered", "bool", "The bot fell back or the model failed.", "unanswered"),
                Column("model_name", "text", "The model that answered.", "model_name"),
                Column("prompt_tokens", "int", "Model input tokens.", "prompt_tokens"),
                Column("completion_tokens", "int", "Model output tokens.", "completion_tokens"),
                Column("latency_ms", "int", "Time to answer.", "latency_ms"),
                Column("rating", "text", "up, down or empty.", "rating"),
                Column("embeddings_computed", "int", "Texts embedded for the turn.", "embeddings_computed"),
                Column(
                    "vector_bytes_read", "int", "Vector store bytes read for the turn.", "vector_bytes_read"
                ),
                Column("error", "text", "Why the model could not answer, if it could not.", "error"),
            ),
            queryset=_messages,
        ),
        Dataset(
            "conversations",
            "Conversations by start time.",
            (
                ORG,
                Column("conversation_id", "id", "The conversation.", "id"),
                Column("bot_id", "id", "The bot.", "bot_id"),
                Column("channel", "text", "builder, public or api.", "channel"),
                Column("visitor", "pseudonym", "Public visitor's pseudonym; empty otherwise.", "visitor_id"),
                Column("user_id", "id", "The member, on the builder channel.", "user_id"),
                Column("started_at", "timestamp", "First message (UTC).", "started_at"),
                Column("last_activity_at", "timestamp", "Latest message (UTC).", "last_activity_at"),
                Column("message_count", "int", "Messages, questions and answers.", "message_count"),
                Column("title", "text", "The first question, cut at 200 characters.", "title"),
            ),
            queryset=_conversations,
        ),
        Dataset(
            "daily_metrics",
            "The daily rollup: one row per bot, UTC day and channel.",
            (
                ORG,
                Column("day", "date", "UTC day."),
                Column("bot_id", "id", "The bot."),
                Column("channel", "text", "builder, public or api."),
                Column("conversations", "int", "Conversations started."),
                Column("user_messages", "int", "Questions."),
                Column("assistant_messages", "int", "Answers."),
                Column("visitors", "int", "Distinct visitors (members, API keys) that day."),
                Column("unanswered", "int", "Answers that fell back or failed."),
                Column("fallback_answers", "int", "Fallbacks given without calling the model."),
                Column("model_errors", "int", "Model failures."),
                Column("rated_up", "int", "Thumbs up on that day's answers."),
                Column("rated_down", "int", "Thumbs down on that day's answers."),
                Column("latency_ms_avg", "int", "Mean time to answer."),
                Column("latency_ms_p95", "int", "95th percentile time to answer (histogram estimate)."),
                Column("prompt_tokens", "int", "Model input tokens."),
                Column("completion_tokens", "int", "Model output tokens."),
                Column("embeddings_computed", "int", "Texts embedded."),
                Column("embedding_tokens", "int", "Tokens embedded (billed embedders)."),
                Column("vector_bytes_read", "int", "Vector store bytes read."),
                Column("estimated_cost_usd", "float", "Estimated model and embedding cost."),
            ),
            rows=_daily_metrics,
        ),
        Dataset(
            "documents",
            "Knowledge-base documents by upload time.",
            (
                ORG,
                Column("document_id", "id", "The document.", "id"),
                Column("bot_id", "id", "The bot.", "bot_id"),
                Column("title", "text", "Title.", "title"),
                Column("filename", "text", "Uploaded file name.", "filename"),
                Column("kind", "text", "pdf, docx, text or markdown.", "kind"),
                Column("status", "text", "pending, processing, ready or failed.", "status"),
                Column("size_bytes", "int", "File size.", "size_bytes"),
                Column("page_count", "int", "Pages (PDF).", "page_count"),
                Column("chunk_count", "int", "Indexed passages.", "chunk_count"),
                Column("embedding_model", "text", "Embedder of its vectors.", "embedding_model"),
                Column("created_at", "timestamp", "Uploaded (UTC).", "created_at"),
                Column("processed_at", "timestamp", "Indexed (UTC).", "processed_at"),
            ),
            queryset=_documents,
        ),
        Dataset(
            "feedback",
            "Ratings of answers, by rating time.",
            (
                ORG,
                Column("message_id", "id", "The rated answer.", "id"),
                Column("conversation_id", "id", "Its conversation.", "conversation_id"),
                Column("bot_id", "id", "The bot.", "bot_id"),
                Column("channel", "text", "builder, public or api.", "conversation__channel"),
                Column(
                    "visitor",
                    "pseudonym",
                    "Public visitor's pseudonym; empty otherwise.",
                    "conversation__visitor_id",
                ),
                Column("answered_at", "timestamp", "When the answer was given (UTC).", "created_at"),
                Column("rated_at", "timestamp", "When it was rated (UTC).", "feedback_at"),
                Column("rating", "text", "up or down.", "rating"),
                Column("comment", "text", "The rater's comment.", "feedback_comment"),
            ),
            queryset=_feedback,
        ),
        Dataset(
            "unanswered",
            "Answers that fell back or were rated down, with the question and its group.",
            (
                ORG,
                Column("message_id", "id", "The answer."),
                Column("conversation_id", "id", "Its conversation."),
                Column("bot_id", "id", "The bot."),
                Column("channel", "text", "builder, public or api."),
                Column("created_at", "timestamp", "When it was answered (UTC)."),
                Column("question", "text", "The visitor's question."),
                Column("reason", "text", "fallback or rated_down."),
                Column("group_id", "id", "The unanswered-question group."),
                Column("status", "text", "open, resolved or ignored."),
            ),
            rows=_unanswered,
        ),
    )
}

CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/x-ndjson"}


def stream(dataset: Dataset, window: Window, fmt: str) -> Iterator[bytes]:
    return stream_jsonl(dataset, window) if fmt == "json" else stream_csv(dataset, window)


def export_response(dataset: Dataset, window: Window, fmt: str) -> StreamingHttpResponse:
    """The download: streamed, never cached, named after the dataset and the range."""
    response = StreamingHttpResponse(stream(dataset, window, fmt), content_type=CONTENT_TYPES[fmt])
    extension = "csv" if fmt == "csv" else "jsonl"
    response["Content-Disposition"] = (
        f'attachment; filename="{dataset.name}-{window.start}-{window.end}.{extension}"'
    )
    response["Cache-Control"] = "no-store"
    return response
