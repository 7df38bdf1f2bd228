from rest_framework import serializers


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
