"""Analytics writes: rebuilding days of the rollup from raw rows, and reviewing unanswered questions.

`analytics_rebuild` recomputes a day from `chat.Message`, `chat.Conversation` and
`documents.Document` with the same per-answer rule as the incremental path
(`rollup.answer_counters`), so a rebuilt day equals the day `chat_answer` built turn by turn.
Re-running it is idempotent: the day's rows are replaced.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.utils import timezone

from bots.models import Bot
from chat.models import Conversation, Message, Role
from documents.models import Document, DocumentStatus
from documents.services import document_upload
from tenants.audit import audit_record
from tenants.errors import Conflict, InvalidInput
from tenants.models import Organization

from .models import (
    COUNTERS,
    DailyKnowledgeBase,
    DailyMetrics,
    DailyVisitor,
    UnansweredQuestion,
    UnansweredStatus,
)
from .recording import ANSWER_FIELDS, answer_rollup, group_values, prices
from .rollup import visitor_key

ITERATOR_CHUNK = 2000
ANSWER_MAX_CHARS = 10_000


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def _lock_rollup_tables() -> None:
    """Hold off turns and ratings of every org while a day is rebuilt (PostgreSQL).

    Same order as a turn's statement (visitors, then metrics), so the two never deadlock. A turn
    that wrote its messages before the lock but commits after is not yet visible to the rebuild and
    adds itself once the rebuild commits: counted exactly once. On SQLite the first write of the
    rebuild (the delete) already takes the database's single write lock.
    """
    if connection.vendor == "postgresql":
        tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in (DailyVisitor, DailyMetrics))
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")


def question_subquery(org: Organization) -> Subquery:
    """The question an answer replied to: the conversation's last user message before it."""
    return Subquery(
        Message.objects.for_org(org)
        .filter(
            conversation_id=OuterRef("conversation_id"),
            role=Role.USER,
            created_at__lte=OuterRef("created_at"),
        )
        .order_by("-created_at", "-id")
        .values("content")[:1]
    )


@transaction.atomic
def analytics_rebuild(*, org: Organization, day: date) -> dict[str, int]:
    """Recompute `org`'s rollup rows (metrics, visitor-days, knowledge base) for one UTC day, and
    add any unanswered-question group its messages imply. Returns what was written."""
    start, end = day_bounds(day)
    _lock_rollup_tables()
    DailyMetrics.objects.for_org(org).filter(day=day).delete()
    DailyVisitor.objects.for_org(org).filter(day=day).delete()
    rows: dict[tuple[Any, str], Counter] = defaultdict(Counter)
    table = prices()

    answers = (
        Message.objects.for_org(org)
        .filter(role=Role.ASSISTANT, created_at__gte=start, created_at__lt=end)
        .values_list("bot_id", "conversation__channel", *ANSWER_FIELDS)
    )
    for bot_id, channel, *values in answers.iterator(chunk_size=ITERATOR_CHUNK):
        rows[(bot_id, channel)].update(answer_rollup(dict(zip(ANSWER_FIELDS, values, strict=True)), table))

    visitors: set[tuple[Any, str, str]] = set()
    questions = (
        Message.objects.for_org(org)
        .filter(role=Role.USER, created_at__gte=start, created_at__lt=end)
        .values_list(
            "bot_id",
            "conversation__channel",
            "conversation__visitor_id",
            "conversation__user_id",
            "conversation__api_key_id",
            "conversation_id",
        )
    )
    for bot_id, channel, visitor_id, user_id, api_key_id, conversation_id in questions.iterator(
        chunk_size=ITERATOR_CHUNK
    ):
        rows[(bot_id, channel)]["user_messages"] += 1
        key = visitor_key(
            channel=channel,
            visitor_id=visitor_id,
            user_id=user_id,
            api_key_id=api_key_id,
            conversation_id=conversation_id,
        )
        visitors.add((bot_id, channel, key))
    for bot_id, channel, _ in visitors:
        rows[(bot_id, channel)]["visitors"] += 1

    started = (
        Conversation.objects.for_org(org)
        .filter(started_at__gte=start, started_at__lt=end)
        .values("bot_id", "channel")
        .annotate(n=Count("id"))
    )
    for item in started:
        rows[(item["bot_id"], item["channel"])]["conversations"] += item["n"]

    DailyMetrics.objects.bulk_create(
        [
            DailyMetrics(
                org=org,
                bot_id=bot_id,
                day=day,
                channel=channel,
                **{name: value for name, value in counters.items() if name in COUNTERS},
            )
            for (bot_id, channel), counters in rows.items()
        ],
        batch_size=500,
    )
    DailyVisitor.objects.bulk_create(
        [
            DailyVisitor(org=org, bot_id=bot_id, day=day, channel=channel, visitor=key)
            for bot_id, channel, key in visitors
        ],
        batch_size=1000,
    )
    groups = _backfill_groups(org=org, start=start, end=end)
    knowledge = _snapshot_knowledge_base(org=org, day=day)
    return {"metrics": len(rows), "visitors": len(visitors), "groups": groups, "knowledge_base": knowledge}


def _backfill_groups(*, org: Organization, start: datetime, end: datetime) -> int:
    """Unanswered-question groups for the day's fallback or rated-down answers (missing ones only)."""
    failed = (
        Message.objects.for_org(org)
        .filter(role=Role.ASSISTANT, created_at__gte=start, created_at__lt=end)
        .filter(Q(unanswered=True, error="") | Q(rating="down"))
        .annotate(question=question_subquery(org))
        .values_list("bot_id", "question")
    )
    seen: dict[tuple[Any, str], UnansweredQuestion] = {}
    for bot_id, question in failed.iterator(chunk_size=ITERATOR_CHUNK):
        values = group_values(org_id=org.pk, bot_id=bot_id, question=question or "")
        if values is not None:
            values.pop("org"), values.pop("bot")
            seen.setdefault(
                (bot_id, values["key_hash"]), UnansweredQuestion(org=org, bot_id=bot_id, **values)
            )
    UnansweredQuestion.objects.bulk_create(list(seen.values()), ignore_conflicts=True, batch_size=500)
    return len(seen)


def knowledge_base_facts(*, org: Organization, days: list[date], bot: Bot | None = None) -> dict:
    """`{(bot_id, day): {documents_total, documents_indexed, chunks_total, chunks_indexed,
    storage_bytes}}` from the documents as they are now (deleted documents are gone)."""
    documents = Document.objects.for_org(org)
    if bot is not None:
        documents = documents.filter(bot=bot)
    rows = list(
        documents.values_list("bot_id", "status", "size_bytes", "chunk_count", "created_at", "processed_at")
    )
    out: dict[tuple[Any, date], dict[str, int]] = {}
    for day in days:
        start, end = day_bounds(day)
        for bot_id, status, size, chunks, created_at, processed_at in rows:
            if created_at >= end:
                continue
            facts = out.setdefault(
                (bot_id, day),
                dict.fromkeys(
                    (
                        "documents_total",
                        "documents_indexed",
                        "chunks_total",
                        "chunks_indexed",
                        "storage_bytes",
                    ),
                    0,
                ),
            )
            facts["storage_bytes"] += size
            ready = status == DocumentStatus.READY and processed_at is not None and processed_at < end
            if ready:
                facts["documents_total"] += 1
                facts["chunks_total"] += chunks
                if processed_at >= start:
                    facts["documents_indexed"] += 1
                    facts["chunks_indexed"] += chunks
    return out


def _snapshot_knowledge_base(*, org: Organization, day: date) -> int:
    DailyKnowledgeBase.objects.for_org(org).filter(day=day).delete()
    facts = knowledge_base_facts(org=org, days=[day])
    DailyKnowledgeBase.objects.bulk_create(
        [
            DailyKnowledgeBase(org=org, bot_id=bot_id, day=day, **values)
            for (bot_id, _), values in facts.items()
        ]
    )
    return len(facts)


# --- Unanswered questions --------------------------------------------------------------------


def _answer_document(question: str, answer: str) -> bytes:
    # The question as the heading: the passage then carries the visitor's own words, which is what
    # the next visitor's question is compared with.
    heading = " ".join(question.split())
    return f"# {heading}\n\n{answer.strip()}\n".encode()


@transaction.atomic
def unanswered_resolve(*, group: UnansweredQuestion, user: Any, answer: str) -> UnansweredQuestion:
    """Add the question and `answer` to the bot's knowledge base as a small document, and mark the
    group resolved. The document is processed like any upload (after the commit)."""
    group = UnansweredQuestion.objects.for_org(group.org_id).select_for_update().get(pk=group.pk)
    text = (answer or "").strip()
    if not text:
        raise InvalidInput("Write the answer the bot should give.", field="answer")
    if len(text) > ANSWER_MAX_CHARS:
        raise InvalidInput(
            f"The answer is {len(text)} characters; the limit is {ANSWER_MAX_CHARS}.", field="answer"
        )
    if group.status == UnansweredStatus.RESOLVED:
        raise Conflict("This question is already resolved; reopen it first to answer it again.")
    bot = Bot.objects.for_org(group.org_id).get(pk=group.bot_id)
    document, _ = document_upload(
        bot=bot,
        user=user,
        data=_answer_document(group.text, text),
        filename=f"answer-{group.pk}.md",
        title=f"Q&A: {' '.join(group.text.split())}"[:300],
    )
    group.status = UnansweredStatus.RESOLVED
    group.answer = text
    group.document = document
    group.reviewed_by = user
    group.reviewed_at = timezone.now()
    group.save(update_fields=["status", "answer", "document", "reviewed_by", "reviewed_at"])
    audit_record(
        actor=user,
        action="unanswered.resolved",
        target=group,
        org=bot.org,
        changes={"document": str(document.pk)},
    )
    return group


@transaction.atomic
def unanswered_set_status(*, group: UnansweredQuestion, user: Any, status: str) -> UnansweredQuestion:
    """Ignore a question (not worth answering) or reopen it; resolving goes through `unanswered_resolve`."""
    if status not in (UnansweredStatus.OPEN, UnansweredStatus.IGNORED):
        raise InvalidInput(f"Status {status!r} cannot be set directly; use open or ignored.", field="status")
    group = UnansweredQuestion.objects.for_org(group.org_id).select_for_update().get(pk=group.pk)
    if group.status != status:
        before = group.status
        group.status = status
        group.reviewed_by = user
        group.reviewed_at = timezone.now()
        group.save(update_fields=["status", "reviewed_by", "reviewed_at"])
        audit_record(
            actor=user,
            action=f"unanswered.{'ignored' if status == UnansweredStatus.IGNORED else 'reopened'}",
            target=group,
            org=group.org,
            changes={"status": [before, status]},
        )
    return group
