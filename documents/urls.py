from django.urls import path

from . import apis

urlpatterns = [
    path("documents/", apis.DocumentListApi.as_view(), name="document-list"),
    path("documents/uploads/", apis.DirectUploadApi.as_view(), name="document-direct-upload"),
    path("documents/<uuid:document_id>/", apis.DocumentDetailApi.as_view(), name="document-detail"),
    path("documents/<uuid:document_id>/chunks/", apis.DocumentChunksApi.as_view(), name="document-chunks"),
    path(
        "documents/<uuid:document_id>/complete/",
        apis.DirectUploadCompleteApi.as_view(),
        name="document-complete",
    ),
    path("documents/<uuid:document_id>/reindex/", apis.DocumentReindexApi.as_view(), name="document-reindex"),
    path("reindex/", apis.BotReindexApi.as_view(), name="bot-reindex"),
]
