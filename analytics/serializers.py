from __future__ import annotations

from rest_framework import serializers

from api.serializers import PageQuerySerializer, StrictQuerySerializer, StrictSerializer

from .exports import DATASETS
from .models import UnansweredStatus

MAX_RANGE_DAYS = 366


class RangeQuerySerializer(StrictQuerySerializer):
    """`?from=&to=` (UTC days, inclusive; default the last 30 days) and `?bot=` (one bot only)."""

    bot = serializers.UUIDField(required=False, help_text="Only this bot of the organisation.")
    vars()["from"] = serializers.DateField(required=False, help_text="First UTC day (YYYY-MM-DD).")
    to = serializers.DateField(required=False, help_text="Last UTC day, inclusive (YYYY-MM-DD).")

    max_days: int | None = MAX_RANGE_DAYS


class UsageQuerySerializer(RangeQuerySerializer):
    bot = None


class UnansweredQuerySerializer(RangeQuerySerializer, PageQuerySerializer):
    status = serializers.ChoiceField(choices=UnansweredStatus.choices, required=False)


class ExportQuerySerializer(RangeQuerySerializer):
    format = serializers.ChoiceField(choices=["csv", "json"], required=False, default="csv")
    max_days = None  # streamed: any range


class AnalyticsChannelMessagesSerializer(serializers.Serializer):
    user = serializers.IntegerField()
    assistant = serializers.IntegerField()


class AnalyticsMessagesByChannelSerializer(serializers.Serializer):
    builder = AnalyticsChannelMessagesSerializer()
    public = AnalyticsChannelMessagesSerializer()
    api = AnalyticsChannelMessagesSerializer()


class AnalyticsFiguresSerializer(serializers.Serializer):
    conversations = serializers.IntegerField()
    user_messages = serializers.IntegerField()
    assistant_messages = serializers.IntegerField()
    messages_by_channel = AnalyticsMessagesByChannelSerializer()
    visitors = serializers.IntegerField(help_text="Distinct visitors, members and API keys that wrote.")
    unanswered = serializers.IntegerField(help_text="Answers that fell back or where the model failed.")
    unanswered_rate = serializers.FloatField(
        allow_null=True, help_text="unanswered / answers; null without answers."
    )
    model_calls_avoided = serializers.IntegerField(help_text="Fallbacks given without calling the model.")
    model_errors = serializers.IntegerField()
    rated_up = serializers.IntegerField()
    rated_down = serializers.IntegerField()
    satisfaction_rate = serializers.FloatField(
        allow_null=True, help_text="up / (up + down); null without ratings."
    )
    latency_ms_avg = serializers.IntegerField(allow_null=True)
    latency_ms_p95 = serializers.IntegerField(
        allow_null=True, help_text="Estimated from a latency histogram."
    )
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    estimated_cost_usd = serializers.FloatField()
    documents_indexed = serializers.IntegerField()
    chunks_indexed = serializers.IntegerField()
    documents_total = serializers.IntegerField(help_text="Ready documents at the end of the day (range).")
    chunks_total = serializers.IntegerField()
    storage_bytes = serializers.IntegerField()


class AnalyticsDayFiguresSerializer(AnalyticsFiguresSerializer):
    day = serializers.DateField()


class AnalyticsSummarySerializer(serializers.Serializer):
    bot_id = serializers.UUIDField(allow_null=True)
    vars()["from"] = serializers.DateField()
    to = serializers.DateField()
    totals = AnalyticsFiguresSerializer()
    daily = AnalyticsDayFiguresSerializer(many=True, help_text="Every day of the range, quiet days as zeros.")


class AnalyticsRequestsByChannelSerializer(serializers.Serializer):
    builder = serializers.IntegerField()
    public = serializers.IntegerField()
    api = serializers.IntegerField()


class AnalyticsCostSerializer(serializers.Serializer):
    model_and_embeddings = serializers.FloatField()
    vector_reads = serializers.FloatField(help_text="DynamoDB on-demand reads; 0 with the database store.")
    total = serializers.FloatField()


class AnalyticsUsageFiguresSerializer(serializers.Serializer):
    requests_by_channel = AnalyticsRequestsByChannelSerializer()
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    model_calls = serializers.IntegerField()
    embeddings_computed = serializers.IntegerField()
    embedding_tokens = serializers.IntegerField()
    vector_bytes_read = serializers.IntegerField()
    storage_bytes = serializers.IntegerField(help_text="Documents stored now.")
    estimated_cost_usd = AnalyticsCostSerializer()


class AnalyticsBotUsageSerializer(AnalyticsUsageFiguresSerializer):
    bot_id = serializers.UUIDField()
    name = serializers.CharField()


class AnalyticsModelPriceSerializer(serializers.Serializer):
    input = serializers.CharField(help_text="USD per million input tokens.")
    output = serializers.CharField(help_text="USD per million output tokens.")


class AnalyticsPricesSerializer(serializers.Serializer):
    models = serializers.DictField(child=AnalyticsModelPriceSerializer())
    embeddings = serializers.DictField(child=serializers.CharField(), help_text="USD per million tokens.")
    dynamodb_read_request_units = serializers.CharField(help_text="USD per million read request units.")


class AnalyticsUsageSerializer(serializers.Serializer):
    vars()["from"] = serializers.DateField()
    to = serializers.DateField()
    currency = serializers.CharField()
    estimated = serializers.BooleanField(help_text="Always true: costs are estimates.")
    note = serializers.CharField()
    prices = AnalyticsPricesSerializer()
    org = AnalyticsUsageFiguresSerializer()
    bots = AnalyticsBotUsageSerializer(many=True)


class UnansweredGroupSerializer(serializers.Serializer):
    id = serializers.UUIDField(allow_null=True, help_text="The group (null until the next rollup stores it).")
    bot_id = serializers.UUIDField()
    question = serializers.CharField()
    count = serializers.IntegerField(help_text="Occurrences in the range, near-duplicates included.")
    last_seen_at = serializers.DateTimeField()
    example_conversation_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=UnansweredStatus.choices)
    variants = serializers.ListField(child=serializers.CharField(), help_text="Near-duplicates merged in.")
    answer = serializers.CharField(allow_blank=True)
    document_id = serializers.UUIDField(allow_null=True)


class UnansweredStateSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    bot_id = serializers.UUIDField()
    question = serializers.CharField(source="text")
    status = serializers.ChoiceField(choices=UnansweredStatus.choices)
    answer = serializers.CharField(allow_blank=True)
    document_id = serializers.UUIDField(allow_null=True)
    reviewed_at = serializers.DateTimeField(allow_null=True)


class ResolveInputSerializer(StrictSerializer):
    answer = serializers.CharField(max_length=10_000, help_text="What the bot should answer from now on.")


DATASET_NAMES = sorted(DATASETS)
