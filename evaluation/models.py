"""A bot's golden questions and the stored results of evaluating the bot on them."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from tenants.scoping import TenantScopedModel

QUESTION_MAX_CHARS = 2000
ANSWER_MAX_CHARS = 4000


class GoldenQuestion(TenantScopedModel):
    """A question an editor expects the bot to answer from a passage holding ``expected_answer``, or
    (``off_topic``) to decline with its fallback."""

    bot = models.ForeignKey("bots.Bot", on_delete=models.CASCADE, related_name="golden_questions")
    question = models.CharField(max_length=QUESTION_MAX_CHARS)
    expected_answer = models.TextField(
        blank=True,
        max_length=ANSWER_MAX_CHARS,
        help_text="A span copied from the document that answers the question; a retrieved passage "
        "must hold it (case and whitespace ignored). Empty for an off-topic question.",
    )
    # Optional: the answer must come from this document. Deleting the document keeps the question
    # (then any document holding the span counts).
    document = models.ForeignKey(
        "documents.Document", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    off_topic = models.BooleanField(
        default=False, help_text="The bot should give its fallback message rather than an answer."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["bot", "question"], name="uniq_golden_question_per_bot"),
            models.CheckConstraint(
                condition=(models.Q(off_topic=True, expected_answer="", document__isnull=True))
                | (models.Q(off_topic=False) & ~models.Q(expected_answer="")),
                name="golden_answer_xor_off_topic",
            ),
        ]

    def __str__(self) -> str:
        return self.question[:80]

    def clean(self) -> None:
        super().clean()
        self.question = (self.question or "").strip()
        self.expected_answer = (self.expected_answer or "").strip()
        if not self.question:
            raise ValidationError({"question": "Type the question."})
        if self.off_topic and (self.expected_answer or self.document_id):
            raise ValidationError(
                {"off_topic": "An off-topic question has no expected answer or document; clear them."}
            )
        if not self.off_topic and not self.expected_answer:
            raise ValidationError(
                {"expected_answer": "Copy the passage that answers the question, or mark it off-topic."}
            )
        if self.document_id and self.document.bot_id != self.bot_id:
            raise ValidationError({"document": "That document belongs to another bot."})


class EvaluationStatus(models.TextChoices):
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class EvaluationRun(TenantScopedModel):
    """One evaluation of a bot on its golden questions, with the index it ran against.

    ``index_version`` fingerprints what the answers depend on (the live document generations, the
    retrieval and answer settings, the embedder): equal versions mean the same index and settings,
    so a change of metrics between two runs with different versions is the effect of that change.
    Rates are None when the run had no question of their kind.
    """

    bot = models.ForeignKey("bots.Bot", on_delete=models.CASCADE, related_name="evaluation_runs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    status = models.CharField(max_length=10, choices=EvaluationStatus.choices, default=EvaluationStatus.DONE)
    error = models.TextField(blank=True)
    k = models.PositiveSmallIntegerField()
    index_version = models.CharField(max_length=64)
    index = models.JSONField(default=dict, help_text="What the index version was computed from.")
    questions = models.PositiveIntegerField(default=0)
    on_topic = models.PositiveIntegerField(default=0)
    off_topic = models.PositiveIntegerField(default=0)
    recall = models.FloatField(null=True, blank=True)
    mrr = models.FloatField(null=True, blank=True)
    answered_rate = models.FloatField(null=True, blank=True)
    fallback_rate = models.FloatField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    outcomes = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["bot", "-created_at"], name="evaluation_run_bot_recent")]

    def __str__(self) -> str:
        return f"{self.bot_id} @ {self.created_at:%Y-%m-%d %H:%M} ({self.index_version[:8]})"
