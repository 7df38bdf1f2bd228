from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants.selectors import memberships_of

from .serializers import AuthConfigSerializer, MeSerializer


class MeApi(APIView):
    @extend_schema(responses=MeSerializer)
    def get(self, request):
        memberships = memberships_of(user=request.user)
        return Response(MeSerializer(request.user, context={"memberships": memberships}).data)


class AuthConfigApi(APIView):
    """What the React builder needs to sign users in (public)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(responses=AuthConfigSerializer)
    def get(self, request):
        return Response(
            {
                "api_version": settings.API_VERSION,
                "cognito_enabled": settings.COGNITO_ENABLED,
                "region": settings.COGNITO_REGION if settings.COGNITO_ENABLED else None,
                "user_pool_id": settings.COGNITO_USER_POOL_ID or None,
                "app_client_id": settings.COGNITO_APP_CLIENT_ID or None,
                "hosted_ui_domain": settings.COGNITO_DOMAIN or None,
                "basic_auth_enabled": settings.BASIC_AUTH_ENABLED,
            }
        )
