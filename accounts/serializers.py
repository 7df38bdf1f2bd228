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

    def get_memberships(self, user) -> list[dict]:
        return MembershipBriefSerializer(self.context["memberships"], many=True).data


class AuthConfigSerializer(serializers.Serializer):
    api_version = serializers.CharField()
    cognito_enabled = serializers.BooleanField()
    region = serializers.CharField(allow_null=True)
    user_pool_id = serializers.CharField(allow_null=True)
    app_client_id = serializers.CharField(allow_null=True)
    hosted_ui_domain = serializers.CharField(allow_null=True)
    basic_auth_enabled = serializers.BooleanField()


class MyInvitationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    org_id = serializers.UUIDField()
    org_name = serializers.CharField(source="org.name")
    role = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


class IdentityLinkSerializer(StrictSerializer):
    id_token = serializers.CharField(max_length=8192, trim_whitespace=True)
