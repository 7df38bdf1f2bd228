from django.urls import path

from . import apis

# Mounted under /api/: the signed-in user's own invitations and identity, not an org's.
urlpatterns = [
    path("auth/identity/link/", apis.IdentityLinkApi.as_view(), name="auth-identity-link"),
    path("invitations/", apis.MyInvitationListApi.as_view(), name="my-invitations"),
    path(
        "invitations/<uuid:invitation_id>/accept/",
        apis.MyInvitationAcceptApi.as_view(),
        name="invitation-accept",
    ),
    path(
        "invitations/<uuid:invitation_id>/decline/",
        apis.MyInvitationDeclineApi.as_view(),
        name="invitation-decline",
    ),
]
