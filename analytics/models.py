"""Analytics tables: the daily rollup, the visitor-days behind its unique-visitor counts, the
knowledge-base snapshot per day, and the unanswered-question groups with their review status.

Dashboards, the summary/usage APIs and the QuickSight feed read these tables, never raw messages.
`chat_answer` keeps `DailyMetrics` and `DailyVisitor` current with one upsert per turn
(`analytics.recording`); `manage.py rollup_analytics` rebuilds any day from raw rows with the same
result (`analytics.services.analytics_rebuild`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tenants.models import TenantScopedModel

from .rollup import LATENCY_BUCKET_COUNT

# The per-turn counters of DailyMetrics, all summed by the upsert and by the rebuild.
COUNTERS = (
    "conversations",
    "user_messages",
    "assistant_messages",
    "visitors",
    "unanswered",
    "fallback_answers",
    "model_errors",
    "rated_up",
    "rated_down",
    "latency_ms_sum",
    *(f"latency_b{i:02d}" for i in range(LATENCY_BUCKET_COUNT)),
    "prompt_tokens",
    "completion_tokens",
    "embeddings_computed",
    "embedding_tokens",
    "vector_bytes_read",
    "cost_nanousd",
)


class DailyMetrics(TenantScopedModel):
    """One bot's chat activity on one UTC day through one channel (builder, public, api).

    A turn counts on the day its answer was written; a conversation on the day it started; a
    visitor once per bot, day and channel. `latency_bNN` is a histogram (bounds in
    `analytics.rollup.LATENCY_BOUNDS_MS`) from which p95 is estimated, so rows can be summed.
    """

    bot = models.ForeignKey("bots.Bot", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    channel = models.CharField(max_length=16)
    conversations = models.PositiveIntegerField(db_default=0)
    user_messages = models.PositiveIntegerField(db_default=0)
    assistant_messages = models.PositiveIntegerField(db_default=0)
    visitors = models.PositiveIntegerField(db_default=0)
    unanswered = models.PositiveIntegerField(db_default=0, help_text="Fallback answers plus model errors.")
    fallback_answers = models.PositiveIntegerField(
        db_default=0, help_text="Answered with the fallback message without calling the model."
    )
    model_errors = models.PositiveIntegerField(db_default=0)
    # Signed: a rating changed on an answer from before analytics existed subtracts until a rebuild.
    rated_up = models.IntegerField(db_default=0)
    rated_down = models.IntegerField(db_default=0)
    latency_ms_sum = models.BigIntegerField(db_default=0)
    prompt_tokens = models.BigIntegerField(db_default=0)
    completion_tokens = models.BigIntegerField(db_default=0)
    embeddings_computed = models.BigIntegerField(db_default=0)
    embedding_tokens = models.BigIntegerField(db_default=0)
    vector_bytes_read = models.BigIntegerField(db_default=0)
    cost_nanousd = models.BigIntegerField(db_default=0, help_text="Estimated cost in billionths of a USD.")

    class Meta:
        verbose_name = "analytics"
        verbose_name_plural = "analytics"
        constraints = [
            models.UniqueConstraint(
                fields=["bot", "day", "channel"], name="uniq_daily_metrics_bot_day_channel"
            )
        ]
        indexes = [models.Index(fields=["org", "day"])]

    def __str__(self) -> str:
        return f"{self.bot_id} {self.day} {self.channel}"


for _i in range(LATENCY_BUCKET_COUNT):
    DailyMetrics.add_to_class(f"latency_b{_i:02d}", models.PositiveIntegerField(db_default=0))


class DailyVisitor(TenantScopedModel):
    """That a visitor wrote to a bot on a day: the unique-visitor counts come from these rows.

    `visitor` is a SHA-256 of the visitor's key (public visitor token, member id or API key id),
    never the token itself.
    """

    bot = models.ForeignKey("bots.Bot", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    channel = models.CharField(max_length=16)
    visitor = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["bot", "day", "channel", "visitor"], name="uniq_daily_visitor_bot_day_channel"
            )
        ]
        indexes = [models.Index(fields=["org", "day"])]


class DailyKnowledgeBase(TenantScopedModel):
    """A bot's knowledge base at the end of a UTC day, written by `rollup_analytics`."""

    bot = models.ForeignKey("bots.Bot", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    documents_total = models.PositiveIntegerField(default=0)
    documents_indexed = models.PositiveIntegerField(default=0, help_text="Became ready on this day.")
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_indexed = models.PositiveIntegerField(default=0)
    storage_bytes = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bot", "day"], name="uniq_daily_kb_bot_day")]


class UnansweredStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"
    IGNORED = "ignored", "Ignored"


class UnansweredQuestion(TenantScopedModel):
    """A question a bot could not answer, grouped by its normalised text (`analytics.rollup.normalise`).

    Created when a turn falls back or an answer is rated down; occurrences are the raw messages.
    Resolving it adds a Q&A document to the bot's knowledge base.
    """

    bot = models.ForeignKey("bots.Bot", on_delete=models.CASCADE, related_name="+")
    key_hash = models.CharField(max_length=64, help_text="SHA-256 of the normalised text.")
    key = models.CharField(max_length=500, help_text="The normalised text (cut at 500 characters).")
    text = models.TextField(help_text="The question as first asked.")
    status = models.CharField(
        max_length=16, choices=UnansweredStatus.choices, default=UnansweredStatus.OPEN, db_index=True
    )
    answer = models.TextField(blank=True)
    document = models.ForeignKey(
        "documents.Document", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bot", "key_hash"], name="uniq_unanswered_bot_key")]

    def __str__(self) -> str:
        return self.text[:80]
