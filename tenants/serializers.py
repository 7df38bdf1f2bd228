from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from api.serializers import StrictSerializer

from .models import Role


class UserBriefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    name = serializers.CharField()


class OrgOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    role = serializers.SerializerMethodField()

    def get_role(self, org) -> str | None:
        roles = self.context.get("roles") or {}
        return roles.get(org.pk)


class OrgInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200, trim_whitespace=True)


class MembershipOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    user = UserBriefSerializer()
    role = serializers.CharField()
    created_at = serializers.DateTimeField()


class MemberAddSerializer(StrictSerializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices, default=Role.VIEWER)


class MemberRoleSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    role = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


class QuotaUsageSerializer(serializers.Serializer):
    used = serializers.IntegerField()
    limit = serializers.IntegerField(allow_null=True, help_text="null: unlimited.")
    resets_at = serializers.DateTimeField(
        allow_null=True, help_text="Monthly quotas: when the count starts again (UTC); otherwise null."
    )


class OrgUsageSerializer(serializers.Serializer):
    """An organisation's quotas with their current use; takes ``{name: tenants.quotas.QuotaUsage}``."""

    bots = QuotaUsageSerializer()
    documents = QuotaUsageSerializer()
    storage_bytes = QuotaUsageSerializer()
    chunks = QuotaUsageSerializer(help_text="Live passages of the org's documents.")
    messages_per_month = QuotaUsageSerializer(help_text="Questions asked this calendar month (UTC).")
    tokens_per_month = QuotaUsageSerializer(help_text="Model prompt and completion tokens this month.")


class QuotaErrorSerializer(serializers.Serializer):
    """The body of a refusal by a quota (tenants.errors.QuotaExceeded)."""

    detail = serializers.CharField()
    code = serializers.CharField(help_text="quota_exceeded")
    quota = serializers.CharField()
    used = serializers.IntegerField()
    limit = serializers.IntegerField()
    resets_at = serializers.DateTimeField(allow_null=True)


# For the OpenAPI responses of the endpoints a size or count quota can refuse.
QUOTA_EXCEEDED_402 = OpenApiResponse(
    response=QuotaErrorSerializer,
    description="The organisation's quota is full (`quota` names it): delete something or ask an "
    "administrator to raise the limit.",
)
