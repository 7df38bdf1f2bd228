from django.urls import path

from . import apis

urlpatterns = [
    path("", apis.OrgListApi.as_view(), name="org-list"),
    path("<uuid:org_id>/", apis.OrgDetailApi.as_view(), name="org-detail"),
    path("<uuid:org_id>/usage/", apis.OrgUsageApi.as_view(), name="org-usage"),
    path("<uuid:org_id>/members/", apis.MemberListApi.as_view(), name="member-list"),
    path("<uuid:org_id>/members/<uuid:membership_id>/", apis.MemberDetailApi.as_view(), name="member-detail"),
    path("<uuid:org_id>/invitations/", apis.InvitationListApi.as_view(), name="invitation-list"),
    path(
        "<uuid:org_id>/invitations/<uuid:invitation_id>/",
        apis.InvitationDetailApi.as_view(),
        name="invitation-detail",
    ),
]
