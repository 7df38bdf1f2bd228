"""The incremental half of the daily rollup: what one chat turn, or one rating, adds.

A turn is recorded inside the transaction that writes its messages (`chat.signals.turn_recorded`),
so its counters commit with it. On PostgreSQL that is one statement: the visitor-day insert (and,
for a fallback answer, the unanswered-question group) run as data-modifying CTEs of the rollup
upsert, which adds 1 to `visitors` only when the visitor-day row is new. SQLite (embedded, no
network round trip) runs the same inserts one after another. A turn whose question, answer and
conversation start fall on different UTC days (a turn across midnight) writes one row per day.

Ratings are recorded when a message's `rating` changes (pre/post save of `chat.Message`): the
change is added to the answer's day, so a rating given days later still lands on the day of the
answer, exactly where the rebuild counts it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Model

from chat.models import Conversation, Message, Role

from .models import COUNTERS, DailyMetrics, DailyVisitor, UnansweredQuestion
from .rollup import PriceTable, answer_counters, key_hash, normalise, visitor_key


def prices() -> PriceTable:
    table = settings.ANALYTICS_PRICES
    return PriceTable(
        models=table.get("models", {}),
        embeddings=table.get("embeddings", {}),
        dynamodb_read_request_units=table.get("dynamodb_read_request_units", "0"),
    )


def embedder_name() -> str:
    """The priced name of the configured embedder (only Gemini's embeddings cost per token)."""
    return settings.GEMINI_EMBEDDING_MODEL if settings.EMBEDDER == "gemini" else settings.EMBEDDER


# The answer's fields the rollup counts (`rollup.answer_counters` takes them as keywords).
ANSWER_FIELDS = (
    "unanswered",
    "error",
    "latency_ms",
    "prompt_tokens",
    "completion_tokens",
    "model_name",
    "embeddings_computed",
    "embedding_tokens",
    "vector_bytes_read",
    "rating",
)


def answer_rollup(values: dict[str, Any], table: PriceTable | None = None) -> dict[str, int]:
    """What one answer (its ANSWER_FIELDS) adds to its day; shared by the upsert and the rebuild."""
    return answer_counters(**values, prices=table or prices(), embedder=embedder_name())


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


class _Sql(str):
    """A value spliced into the statement as SQL instead of being bound as a parameter."""


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _insert(
    model: type[Model], values: dict[str, Any], *, conflict: list[str], add: list[str] | None = None
) -> tuple[str, list[Any]]:
    """`INSERT ... ON CONFLICT (conflict) DO NOTHING`, or `DO UPDATE` adding the `add` columns."""
    meta = model._meta
    table = _quote(meta.db_table)
    columns, placeholders, params = [], [], []
    for name, value in values.items():
        field = meta.get_field(name)
        columns.append(_quote(field.column))
        if isinstance(value, _Sql):
            placeholders.append(str(value))
        else:
            placeholders.append("%s")
            params.append(field.get_db_prep_value(value, connection, prepared=False))
    target = ", ".join(_quote(meta.get_field(name).column) for name in conflict)
    # Identifiers come from the model's metadata, values are bound parameters (or our own _Sql).
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(placeholders)})"  # noqa: S608
    sql += f" ON CONFLICT ({target})"
    if add:
        updates = ", ".join(
            f"{c} = {table}.{c} + EXCLUDED.{c}" for c in (_quote(meta.get_field(n).column) for n in add)
        )
        sql += f" DO UPDATE SET {updates}"
    else:
        sql += " DO NOTHING"
    return sql, params


def _metrics_row(
    *, org_id: Any, bot_id: Any, day: date, channel: str, counters: dict[str, Any]
) -> dict[str, Any]:
    return {"id": uuid.uuid4(), "org": org_id, "bot": bot_id, "day": day, "channel": channel, **counters}


def _metrics_upsert(row: dict[str, Any]) -> tuple[str, list[Any]]:
    added = [name for name in row if name in COUNTERS]
    return _insert(DailyMetrics, row, conflict=["bot", "day", "channel"], add=added)


def _visitor_insert(
    *, org_id: Any, bot_id: Any, day: date, channel: str, visitor: str
) -> tuple[str, list[Any]]:
    values = {
        "id": uuid.uuid4(),
        "org": org_id,
        "bot": bot_id,
        "day": day,
        "channel": channel,
        "visitor": visitor,
    }
    return _insert(DailyVisitor, values, conflict=["bot", "day", "channel", "visitor"])


def group_values(*, org_id: Any, bot_id: Any, question: str) -> dict[str, Any] | None:
    key = normalise(question)
    if not key:
        return None
    return {
        "id": uuid.uuid4(),
        "org": org_id,
        "bot": bot_id,
        "key_hash": key_hash(key),
        "key": key[:500],
        "text": question,
        "status": "open",
        "answer": "",
        "created_at": datetime.now(UTC),
    }


def _group_insert(values: dict[str, Any]) -> tuple[str, list[Any]]:
    return _insert(UnansweredQuestion, values, conflict=["bot", "key_hash"])


def _execute(statements: list[tuple[str, list[Any]]]) -> None:
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)


def record_turn(
    *, conversation: Conversation, question: Message, answer: Message, new_conversation: bool
) -> None:
    """Add one turn to the rollup (see the module docstring). Runs inside the turn's transaction."""
    org_id, bot_id, channel = answer.org_id, answer.bot_id, conversation.channel
    per_day: dict[date, dict[str, int]] = defaultdict(dict)
    counters = answer_rollup({name: getattr(answer, name) for name in ANSWER_FIELDS})
    per_day[utc_day(answer.created_at)].update(counters)
    question_day = utc_day(question.created_at)
    per_day[question_day]["user_messages"] = 1
    if new_conversation:
        started = utc_day(conversation.started_at)
        per_day[started]["conversations"] = per_day[started].get("conversations", 0) + 1
    visitor = visitor_key(
        channel=channel,
        visitor_id=conversation.visitor_id,
        user_id=conversation.user_id,
        api_key_id=conversation.api_key_id,
        conversation_id=conversation.pk,
    )
    group = (
        group_values(org_id=org_id, bot_id=bot_id, question=question.content)
        if answer.unanswered and not answer.error
        else None
    )
    visitor_sql, visitor_params = _visitor_insert(
        org_id=org_id, bot_id=bot_id, day=question_day, channel=channel, visitor=visitor
    )
    for day, day_counters in sorted(per_day.items()):
        row = _metrics_row(org_id=org_id, bot_id=bot_id, day=day, channel=channel, counters=day_counters)
        if day != question_day:
            _execute([_metrics_upsert(row)])
            continue
        if connection.vendor == "postgresql":
            row["visitors"] = _Sql("(SELECT count(*) FROM new_visitor)")
            sql, params = _metrics_upsert(row)
            ctes = [f"new_visitor AS ({visitor_sql} RETURNING 1)"]
            cte_params = list(visitor_params)
            if group is not None:
                group_sql, group_params = _group_insert(group)
                ctes.append(f"new_group AS ({group_sql} RETURNING 1)")
                cte_params += group_params
            _execute([(f"WITH {', '.join(ctes)} {sql}", cte_params + params)])
        else:
            with connection.cursor() as cursor:
                cursor.execute(visitor_sql, visitor_params)
                row["visitors"] = max(cursor.rowcount, 0)
                if group is not None:
                    cursor.execute(*_group_insert(group))
                cursor.execute(*_metrics_upsert(row))


# --- Ratings ---------------------------------------------------------------------------------


def question_for(answer: Message) -> str:
    """The user message an answer replied to: the last one before it in its conversation."""
    previous = (
        Message.objects.for_org(answer.org_id)
        .filter(conversation_id=answer.conversation_id, role=Role.USER, created_at__lte=answer.created_at)
        .order_by("-created_at", "-id")
        .values_list("content", flat=True)
        .first()
    )
    return previous or ""


def remember_rating(instance: Message, *, update_fields: Any = None) -> None:
    """Before a saved answer is updated: keep the rating it had, to add only the change."""
    if instance._state.adding or instance.role != Role.ASSISTANT:
        return
    if update_fields is not None and "rating" not in update_fields:
        return
    instance._analytics_rating_before = (
        Message.objects.for_org(instance.org_id)
        .filter(pk=instance.pk)
        .values_list("rating", flat=True)
        .first()
        or ""
    )


def record_rating_change(instance: Message) -> None:
    before = getattr(instance, "_analytics_rating_before", None)
    if before is None:
        return
    del instance._analytics_rating_before
    after = instance.rating or ""
    if before == after:
        return
    counters = {
        "rated_up": int(after == "up") - int(before == "up"),
        "rated_down": int(after == "down") - int(before == "down"),
    }
    channel = (
        Conversation.objects.for_org(instance.org_id)
        .filter(pk=instance.conversation_id)
        .values_list("channel", flat=True)
        .get()
    )
    row = _metrics_row(
        org_id=instance.org_id,
        bot_id=instance.bot_id,
        day=utc_day(instance.created_at),
        channel=channel,
        counters={name: value for name, value in counters.items() if value},
    )
    statements = [_metrics_upsert(row)]
    if after == "down":
        group = group_values(org_id=instance.org_id, bot_id=instance.bot_id, question=question_for(instance))
        if group is not None:
            statements.append(_group_insert(group))
    _execute(statements)
