from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from api.base import APIView
from api.schema import error_responses
from tenants import services as tenant_services
from tenants.errors import InvalidInput
from tenants.selectors import invitations_for_user, memberships_of

from .cognito import CognitoVerifier, InvalidToken, claims_email_verified, get_verifier
from .serializers import (
    AuthConfigSerializer,
    IdentityLinkSerializer,
    MembershipBriefSerializer,
    MeSerializer,
    MyInvitationSerializer,
)
from .services import user_link_identity


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
        return Response(AuthConfigSerializer(settings).data)


class MyInvitationListApi(APIView):
    @extend_schema(
        responses=MyInvitationSerializer(many=True),
        description="The signed-in user's pending invitations (addressed to their email).",
    )
    def get(self, request):
        invitations = invitations_for_user(user=request.user)
        return Response(MyInvitationSerializer(invitations, many=True).data)


class MyInvitationAcceptApi(APIView):
    @extend_schema(
        request=None,
        responses=MembershipBriefSerializer,
        description="Join the organisation with the invitation's role. Another person's invitation is 404.",
    )
    def post(self, request, invitation_id):
        membership = tenant_services.invitation_accept(user=request.user, invitation_id=invitation_id)
        return Response(MembershipBriefSerializer(membership).data)


class MyInvitationDeclineApi(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request, invitation_id):
        tenant_services.invitation_decline(user=request.user, invitation_id=invitation_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class IdentityLinkApi(APIView):
    # Tests pass their own (`IdentityLinkApi.as_view(verifier=...)`); default: the settings-built one.
    verifier: CognitoVerifier | None = None

    @extend_schema(
        request=IdentityLinkSerializer,
        responses={200: MeSerializer, **error_responses(403, 409)},
        description="Bind the signed-in account to the Cognito identity of `id_token` (its verified email "
        "must be the account's). The explicit way to move an account to another sign-in identity.",
    )
    def post(self, request):
        data = IdentityLinkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        verifier = self.verifier or get_verifier()
        if verifier is None:
            raise InvalidInput("Cognito is not configured on this deployment; there is nothing to link.")
        try:
            claims = verifier.verify(data.validated_data["id_token"], token_use="id")
        except InvalidToken as exc:
            raise InvalidInput(f"The ID token was refused: {exc.reason}", field="id_token")
        user = user_link_identity(
            user=request.user,
            sub=claims["sub"],
            email=claims.get("email") or "",
            email_verified=claims_email_verified(claims),
        )
        return Response(MeSerializer(user, context={"memberships": memberships_of(user=user)}).data)
