"""The daily rollup: chat turns update it incrementally; rebuilding from raw rows gives the same rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics.models import COUNTERS, DailyMetrics, DailyVisitor, UnansweredQuestion
from analytics.services import analytics_rebuild
from chat.models import Channel, Conversation, Message
from chat.services import api_key_create, chat_answer, feedback_record, new_visitor_id
from integrations.llm import ModelUnavailable
from integrations.llm.fake import FakeChatModel

pytestmark = pytest.mark.django_db


def _rollup(org):
    metrics = {
        (row.bot_id, row.day, row.channel): {name: getattr(row, name) for name in COUNTERS}
        for row in DailyMetrics.objects.for_org(org)
    }
    visitors = set(DailyVisitor.objects.for_org(org).values_list("bot_id", "day", "channel", "visitor"))
    return metrics, visitors


def _activity(kb_bot, viewer, owner):
    """Turns on every channel: answered, fallback, model failure, continued, rated, re-rated."""
    first = chat_answer(bot=kb_bot, message="When does the office open?", user=viewer)
    chat_answer(
        bot=kb_bot, message="When does the office close?", conversation=first.conversation, user=viewer
    )
    fallback = chat_answer(bot=kb_bot, message="Do you sell zebras?", user=owner)
    failing = FakeChatModel([ModelUnavailable("quota exhausted")])
    with pytest.raises(Exception):  # noqa: B017 - ChatUnavailable, recorded as an unanswered turn
        chat_answer(bot=kb_bot, message="When are refunds issued?", user=viewer, model=failing)
    visitor = new_visitor_id()
    public = chat_answer(
        bot=kb_bot, message="Where is my REFUND??", channel=Channel.PUBLIC, visitor_id=visitor
    )
    chat_answer(
        bot=kb_bot,
        message="Do you sell zebras",
        channel=Channel.PUBLIC,
        visitor_id=visitor,
        conversation=public.conversation,
    )
    chat_answer(bot=kb_bot, message="zebra prices?", channel=Channel.PUBLIC, visitor_id=new_visitor_id())
    key, _ = api_key_create(bot=kb_bot, user=owner, name="backend")
    chat_answer(bot=kb_bot, message="When does the office open?", channel=Channel.API, api_key=key)
    feedback_record(message=first.message, rating="up")
    feedback_record(message=fallback.message, rating="down")
    feedback_record(message=public.message, rating="down")
    feedback_record(message=public.message, rating="up")  # changed their mind
    return first, fallback, public


def test_incremental_rollup_equals_the_rebuild_from_raw_rows(kb_bot, viewer, owner):
    _activity(kb_bot, viewer, owner)
    incremental = _rollup(kb_bot.org)
    metrics, visitors = incremental
    today = timezone.now().astimezone(UTC).date()
    builder = metrics[(kb_bot.pk, today, "builder")]
    assert builder["user_messages"] == builder["assistant_messages"] == 4
    assert builder["conversations"] == 3 and builder["visitors"] == 2  # viewer and owner
    assert builder["fallback_answers"] == 1 and builder["model_errors"] == 1 and builder["unanswered"] == 2
    assert builder["rated_up"] == 1 and builder["rated_down"] == 1
    assert builder["embeddings_computed"] == 4 and builder["vector_bytes_read"] > 0
    public = metrics[(kb_bot.pk, today, "public")]
    assert public["visitors"] == 2 and public["conversations"] == 2 and public["user_messages"] == 3
    assert public["rated_up"] == 1 and public["rated_down"] == 0
    assert metrics[(kb_bot.pk, today, "api")]["user_messages"] == 1
    assert sum(m[f"latency_b{i:02d}"] for m in metrics.values() for i in range(16)) == 8

    analytics_rebuild(org=kb_bot.org, day=today)
    assert _rollup(kb_bot.org) == incremental
    analytics_rebuild(org=kb_bot.org, day=today)  # idempotent
    assert _rollup(kb_bot.org) == incremental
    assert len(visitors) == 5


def test_groups_are_created_for_fallbacks_and_thumbs_down_and_rebuilt_the_same(kb_bot, viewer, owner):
    _activity(kb_bot, viewer, owner)
    groups = set(UnansweredQuestion.objects.for_org(kb_bot.org).values_list("key", flat=True))
    # "Do you sell zebras?" twice (one rated down too), "zebra prices?", and the rated-down refund
    # question; the model failure is an outage, not a gap in the knowledge base.
    assert groups == {"do you sell zebras", "zebra prices", "where is my refund"}
    UnansweredQuestion.objects.for_org(kb_bot.org).delete()
    analytics_rebuild(org=kb_bot.org, day=timezone.now().astimezone(UTC).date())
    assert set(UnansweredQuestion.objects.for_org(kb_bot.org).values_list("key", flat=True)) == groups


def test_a_rating_days_later_lands_on_the_answers_day(kb_bot, viewer):
    result = chat_answer(bot=kb_bot, message="When does the office open?", user=viewer)
    day = result.message.created_at.astimezone(UTC).date()
    later = timezone.now() + timedelta(days=3)
    with mock.patch("django.utils.timezone.now", return_value=later):
        feedback_record(message=result.message, rating="down")
    row = DailyMetrics.objects.for_org(kb_bot.org).get(day=day, channel="builder")
    assert row.rated_down == 1
    before = _rollup(kb_bot.org)
    analytics_rebuild(org=kb_bot.org, day=day)
    assert _rollup(kb_bot.org) == before


def test_a_turn_across_midnight_counts_each_part_on_its_own_day(kb_bot, viewer):
    midnight = datetime(2026, 3, 1, tzinfo=UTC)
    # The conversation (started_at, last_activity_at) and the question are written just before
    # midnight, the answer just after.
    clock = iter([midnight - timedelta(microseconds=30 - i) for i in range(3)])

    def now():
        return next(clock, midnight + timedelta(microseconds=10))

    with mock.patch("django.utils.timezone.now", side_effect=now):
        chat_answer(bot=kb_bot, message="When does the office open?", user=viewer)
    metrics, _ = _rollup(kb_bot.org)
    before, after = (
        metrics[(kb_bot.pk, midnight.date() - timedelta(days=1), "builder")],
        metrics[(kb_bot.pk, midnight.date(), "builder")],
    )
    assert (before["conversations"], before["user_messages"], before["visitors"]) == (1, 1, 1)
    assert (after["assistant_messages"], after["user_messages"]) == (1, 0)
    incremental = _rollup(kb_bot.org)
    for day in (midnight.date() - timedelta(days=1), midnight.date()):
        analytics_rebuild(org=kb_bot.org, day=day)
    assert _rollup(kb_bot.org) == incremental


@pytest.mark.parametrize(("paid", "reads"), [(True, 2), (False, 1)])
def test_a_turn_costs_one_rollup_statement(kb_bot, viewer, paid, reads):
    # A paid model (the fake stands in for Gemini) or the offline extractive answerer (the default).
    model = FakeChatModel() if paid else None
    chat_answer(bot=kb_bot, message="When does the office open?", user=viewer, model=model)  # warm caches
    conversation = Conversation.objects.for_org(kb_bot.org).first()
    with CaptureQueriesContext(connection) as captured:
        question = "When does the office close?"
        chat_answer(bot=kb_bot, message=question, conversation=conversation, user=viewer, model=model)
    analytics = [q["sql"] for q in captured.captured_queries if "analytics_" in q["sql"]]
    # Besides the rollup's writes, the monthly quotas read it: messages always, model tokens only
    # before a paid model is asked.
    quota_reads = [sql for sql in analytics if sql.startswith("SELECT SUM(")]
    writes = [sql for sql in analytics if sql not in quota_reads]
    expected = 1 if connection.vendor == "postgresql" else 2  # SQLite: visitor insert, then upsert
    assert len(writes) == expected, writes
    assert len(quota_reads) == reads, quota_reads
    assert Message.objects.for_org(kb_bot.org).count() == 4
