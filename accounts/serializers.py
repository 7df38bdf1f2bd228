from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers import StrictSerializer


class MembershipBriefSerializer(serializers.Serializer):
    org_id = serializers.UUIDField()
    org_name = serializers.CharField(source="org.name")
    role = serializers.CharField()


class MeSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    name = serializers.CharField()
    is_staff = serializers.BooleanField()
    memberships = serializers.SerializerMethodField()

    @extend_schema_field(MembershipBriefSerializer(many=True))
    def get_memberships(self, user) -> list[dict]:
        return MembershipBriefSerializer(self.context["memberships"], many=True).data


class _NullIfEmpty(serializers.CharField):
    def to_representation(self, value):
        return super().to_representation(value) if value else None


class _CognitoRegion(_NullIfEmpty):
    def get_attribute(self, instance):
        return instance.COGNITO_REGION if instance.COGNITO_ENABLED else None


class AuthConfigSerializer(serializers.Serializer):
    """What the React builder needs to sign users in, read from ``django.conf.settings``."""

    api_version = serializers.CharField(source="API_VERSION")
    cognito_enabled = serializers.BooleanField(source="COGNITO_ENABLED")
    region = _CognitoRegion(allow_null=True, help_text="Null unless Cognito is enabled.")
    user_pool_id = _NullIfEmpty(source="COGNITO_USER_POOL_ID", allow_null=True)
    app_client_id = _NullIfEmpty(source="COGNITO_APP_CLIENT_ID", allow_null=True)
    hosted_ui_domain = _NullIfEmpty(source="COGNITO_DOMAIN", allow_null=True)
    basic_auth_enabled = serializers.BooleanField(source="BASIC_AUTH_ENABLED")


class MyInvitationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    org_id = serializers.UUIDField()
    org_name = serializers.CharField(source="org.name")
    role = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


class IdentityLinkSerializer(StrictSerializer):
    id_token = serializers.CharField(max_length=8192, trim_whitespace=True)
