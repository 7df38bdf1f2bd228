"""Request and response shapes of the evaluation endpoints."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from api.serializers import StrictSerializer
from tenants.errors import InvalidInput

from .models import ANSWER_MAX_CHARS, QUESTION_MAX_CHARS, EvaluationRun, GoldenQuestion
from .services import K_MAX


def validated(serializer: serializers.Serializer) -> dict[str, Any]:
    """The serializer's data, or InvalidInput in the API's one error shape ``{"detail", "errors"}``."""
    if not serializer.is_valid():
        errors = {
            name: [str(m) for m in (messages if isinstance(messages, list) else [messages])]
            for name, messages in serializer.errors.items()
        }
        name, messages = next(iter(errors.items()))
        raise InvalidInput(f"{name}: {messages[0]}", extra={"errors": errors})
    return serializer.validated_data


class GoldenQuestionInputSerializer(StrictSerializer):
    question = serializers.CharField(max_length=QUESTION_MAX_CHARS)
    expected_answer = serializers.CharField(
        max_length=ANSWER_MAX_CHARS,
        required=False,
        allow_blank=True,
        help_text="A span copied from the document that answers the question (empty when off_topic).",
    )
    document_id = serializers.UUIDField(
        required=False, allow_null=True, help_text="Optional: the answer must come from this document."
    )
    off_topic = serializers.BooleanField(
        required=False, help_text="The bot should decline this question with its fallback message."
    )


class GoldenQuestionOutputSerializer(serializers.ModelSerializer):
    document_id = serializers.UUIDField(allow_null=True, read_only=True)

    class Meta:
        model = GoldenQuestion
        fields = ["id", "question", "expected_answer", "document_id", "off_topic", "created_at", "updated_at"]
        read_only_fields = fields


class GoldenImportSerializer(StrictSerializer):
    file = serializers.FileField(
        help_text="CSV with a header row (question, answer, off_topic) or JSON Lines with those keys."
    )


class GoldenImportOutputSerializer(serializers.Serializer):
    imported = serializers.IntegerField()
    results = GoldenQuestionOutputSerializer(many=True)


class EvaluateInputSerializer(StrictSerializer):
    k = serializers.IntegerField(
        min_value=1,
        max_value=K_MAX,
        required=False,
        help_text="How many passages count (default: the bot's top_k).",
    )


class EvaluationRunSerializer(serializers.ModelSerializer):
    bot_id = serializers.UUIDField(read_only=True)
    created_by = serializers.EmailField(
        source="created_by.email", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = EvaluationRun
        fields = [
            "id",
            "bot_id",
            "created_at",
            "created_by",
            "status",
            "error",
            "k",
            "index_version",
            "index",
            "questions",
            "on_topic",
            "off_topic",
            "recall",
            "mrr",
            "answered_rate",
            "fallback_rate",
            "duration_ms",
        ]
        read_only_fields = fields


class EvaluationRunDetailSerializer(EvaluationRunSerializer):
    class Meta(EvaluationRunSerializer.Meta):
        fields = [*EvaluationRunSerializer.Meta.fields, "outcomes"]
        read_only_fields = fields
