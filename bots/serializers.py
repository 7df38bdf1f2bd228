from rest_framework import serializers

from api.serializers import StrictSerializer
from tenants.serializers import UserBriefSerializer

from .origins import normalize_origins


class BotInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=120, trim_whitespace=True)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    system_prompt = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    greeting = serializers.CharField(required=False, allow_blank=True, max_length=500)
    fallback_message = serializers.CharField(required=False, max_length=1000)
    model_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    temperature = serializers.FloatField(required=False, min_value=0.0, max_value=2.0)
    top_k = serializers.IntegerField(required=False, min_value=1, max_value=20)
    relevance_threshold = serializers.FloatField(required=False, min_value=-1.0, max_value=1.0)
    is_active = serializers.BooleanField(required=False)
    allowed_origins = serializers.ListField(
        child=serializers.CharField(max_length=300), required=False, max_length=50
    )

    def validate_allowed_origins(self, value: list[str]) -> list[str]:
        try:
            return normalize_origins(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc))


class BotOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    org_id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    system_prompt = serializers.CharField()
    greeting = serializers.CharField()
    fallback_message = serializers.CharField()
    model_name = serializers.CharField()
    temperature = serializers.FloatField()
    top_k = serializers.IntegerField()
    relevance_threshold = serializers.FloatField()
    is_active = serializers.BooleanField()
    public_id = serializers.CharField()
    allowed_origins = serializers.ListField(child=serializers.CharField())
    created_by = UserBriefSerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
