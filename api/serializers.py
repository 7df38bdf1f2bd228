"""Serializer base classes shared by every app's API, and the one error shape."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


class StrictSerializer(serializers.Serializer):
    """Rejects unknown fields with 400 instead of silently ignoring them (typos must not pass)."""

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "keys"):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data.keys()) - writable)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class StrictQuerySerializer(StrictSerializer):
    """A query string's parameters: unknown parameters are a 400, exactly like unknown body fields.

    Views name theirs in ``query_serializer`` (api.views.APIView checks it before the handler runs,
    and the schema documents it); a view without one takes no query parameters at all.
    """

    unknown_message = "Unknown query parameter."

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "keys"):
            unknown = sorted(set(data.keys()) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [self.unknown_message] for name in unknown})
        return serializers.Serializer.to_internal_value(self, data)


PAGE_PARAMETERS = frozenset({"page", "page_size"})


class PageQuerySerializer(StrictQuerySerializer):
    """The page parameters every paginated list takes (api.pagination)."""

    page = serializers.IntegerField(required=False, min_value=1, help_text="1-based page number.")
    page_size = serializers.IntegerField(
        required=False, min_value=1, max_value=200, help_text="Results per page (default 50, at most 200)."
    )


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "integer"}]})
class _LimitField(serializers.Field):
    """429: which rate limit refused (a name); 402: the quota's limit (a number)."""

    def to_representation(self, value: Any) -> Any:
        return value


class ErrorSerializer(serializers.Serializer):
    """The API's one error shape (api.exception_handlers): every 4xx/5xx under /api/ has it."""

    detail = serializers.CharField(help_text="What went wrong and what to do, for people. Always a string.")
    code = serializers.CharField(required=False, help_text="Stable machine-readable reason.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="400: validation errors by field (`non_field_errors` for the body as a whole).",
    )
    # Quota refusals (402; 429 for the monthly ones).
    quota = serializers.CharField(
        required=False, help_text="402, 429 quota_exceeded: which quota is used up."
    )
    used = serializers.IntegerField(
        required=False, help_text="402, 429 quota_exceeded: how much of it is used."
    )
    limit = _LimitField(
        required=False,
        help_text="402: the quota's limit; 429: which rate limit refused "
        "(visitor, ip, bot, member, api_key).",
    )
    resets_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="402, 429 quota_exceeded: when the quota resets (null: never).",
    )
    # Chat and upload specifics.
    message_id = serializers.UUIDField(
        required=False, help_text="503 model_unavailable: the recorded (unanswered) assistant message."
    )
    limit_bytes = serializers.IntegerField(required=False, help_text="413: the most bytes accepted.")
    evaluation_id = serializers.UUIDField(
        required=False, help_text="503 on a bot's evaluate: the run, stored as failed."
    )
    allowed_models = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="400 on `model_name`: the models allowed."
    )
