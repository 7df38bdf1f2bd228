"""Organisation, member and invitation endpoints. Thin: validate, call a service/selector, serialize."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from api.base import APIView
from api.pagination import paginate
from api.schema import paginated
from api.serializers import PageQuerySerializer
from api.views import OrgScopedAPIView

from . import quotas, selectors, services
from .models import Role
from .serializers import (
    InvitationOutputSerializer,
    MemberAddSerializer,
    MemberRoleSerializer,
    MembershipOutputSerializer,
    OrgInputSerializer,
    OrgOutputSerializer,
    OrgUsageSerializer,
)


class OrgListApi(APIView):
    query_serializer = PageQuerySerializer

    @extend_schema(responses=paginated(OrgOutputSerializer))
    def get(self, request):
        roles = {m.org_id: m.role for m in selectors.memberships_of(user=request.user)}
        return paginate(
            self, selectors.org_list_for_user(user=request.user), OrgOutputSerializer, roles=roles
        )

    @extend_schema(request=OrgInputSerializer, responses={201: OrgOutputSerializer})
    def post(self, request):
        data = OrgInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        org = services.org_create(user=request.user, **data.validated_data)
        body = OrgOutputSerializer(org, context={"roles": {org.pk: Role.OWNER}}).data
        return Response(body, status=status.HTTP_201_CREATED)


class OrgDetailApi(OrgScopedAPIView):
    required_roles = {**OrgScopedAPIView.required_roles, "PATCH": Role.ADMIN, "DELETE": Role.OWNER}

    def _out(self):
        return OrgOutputSerializer(self.org, context={"roles": {self.org.pk: self.membership.role}}).data

    @extend_schema(responses=OrgOutputSerializer)
    def get(self, request, org_id):
        return Response(self._out())

    @extend_schema(request=OrgInputSerializer, responses=OrgOutputSerializer)
    def patch(self, request, org_id):
        data = OrgInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.org_update(org=self.org, user=request.user, data=data.validated_data)
        return Response(self._out())

    @extend_schema(responses={204: None})
    def delete(self, request, org_id):
        services.org_delete(org=self.org, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class OrgUsageApi(OrgScopedAPIView):
    @extend_schema(
        responses=OrgUsageSerializer,
        description="The organisation's quotas, each with its use now, its limit (null: unlimited) "
        "and, for monthly quotas, when the count resets. Any member may read it.",
    )
    def get(self, request, org_id):
        usage = {item.name: item for item in quotas.org_usage(org=self.org)}
        return Response(OrgUsageSerializer(usage).data)


class MemberListApi(OrgScopedAPIView):
    required_roles = {**OrgScopedAPIView.required_roles, "POST": Role.ADMIN}
    query_serializer = PageQuerySerializer

    @extend_schema(responses=paginated(MembershipOutputSerializer))
    def get(self, request, org_id):
        return paginate(self, selectors.member_list(org=self.org), MembershipOutputSerializer)

    @extend_schema(
        request=MemberAddSerializer,
        responses={202: InvitationOutputSerializer},
        description="Invites an email address (202, the invitation), whether or not it has an account: "
        "the answer is the same either way. The invitee joins by accepting "
        "(POST /api/invitations/{id}/accept/), or by signing up with that address.",
    )
    def post(self, request, org_id):
        data = MemberAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = services.member_add(org=self.org, actor=self.membership, **data.validated_data)
        return Response(InvitationOutputSerializer(invitation).data, status=status.HTTP_202_ACCEPTED)


class MemberDetailApi(OrgScopedAPIView):
    # Any member may leave (DELETE their own membership); the service checks the rest.
    required_roles = {**OrgScopedAPIView.required_roles, "PATCH": Role.ADMIN, "DELETE": Role.VIEWER}

    @extend_schema(responses=MembershipOutputSerializer)
    def get(self, request, org_id, membership_id):
        membership = selectors.member_get(org=self.org, membership_id=membership_id)
        return Response(MembershipOutputSerializer(membership).data)

    @extend_schema(request=MemberRoleSerializer, responses=MembershipOutputSerializer)
    def patch(self, request, org_id, membership_id):
        membership = selectors.member_get(org=self.org, membership_id=membership_id)
        data = MemberRoleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.member_update_role(
            org=self.org, actor=self.membership, membership=membership, role=data.validated_data["role"]
        )
        return Response(MembershipOutputSerializer(membership).data)

    @extend_schema(responses={204: None})
    def delete(self, request, org_id, membership_id):
        membership = selectors.member_get(org=self.org, membership_id=membership_id)
        services.member_remove(org=self.org, actor=self.membership, membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationListApi(OrgScopedAPIView):
    required_roles = {**OrgScopedAPIView.required_roles, "GET": Role.ADMIN}
    query_serializer = PageQuerySerializer

    @extend_schema(responses=paginated(InvitationOutputSerializer))
    def get(self, request, org_id):
        return paginate(self, selectors.invitation_list(org=self.org), InvitationOutputSerializer)


class InvitationDetailApi(OrgScopedAPIView):
    required_roles = {**OrgScopedAPIView.required_roles, "DELETE": Role.ADMIN}

    @extend_schema(responses={204: None})
    def delete(self, request, org_id, invitation_id):
        invitation = selectors.invitation_get(org=self.org, invitation_id=invitation_id)
        services.invitation_revoke(org=self.org, actor=self.membership, invitation=invitation)
        return Response(status=status.HTTP_204_NO_CONTENT)
