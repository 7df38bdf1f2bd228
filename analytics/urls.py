from django.urls import path

from . import apis

# Under /api/orgs/<org_id>/analytics/
urlpatterns = [
    path("summary/", apis.SummaryApi.as_view(), name="analytics-summary"),
    path("usage/", apis.UsageApi.as_view(), name="analytics-usage"),
    path("unanswered/", apis.UnansweredListApi.as_view(), name="analytics-unanswered"),
    path(
        "unanswered/<uuid:group_id>/resolve/",
        apis.UnansweredResolveApi.as_view(),
        name="analytics-unanswered-resolve",
    ),
    path(
        "unanswered/<uuid:group_id>/ignore/",
        apis.UnansweredIgnoreApi.as_view(),
        name="analytics-unanswered-ignore",
    ),
    path(
        "unanswered/<uuid:group_id>/reopen/",
        apis.UnansweredReopenApi.as_view(),
        name="analytics-unanswered-reopen",
    ),
    path("export/<str:dataset>/", apis.ExportApi.as_view(), name="analytics-export"),
]
