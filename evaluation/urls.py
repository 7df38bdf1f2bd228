from django.urls import path

from . import apis

urlpatterns = [
    path("golden-questions/", apis.GoldenQuestionListApi.as_view(), name="golden-question-list"),
    path("golden-questions/import/", apis.GoldenQuestionImportApi.as_view(), name="golden-question-import"),
    path(
        "golden-questions/<uuid:golden_id>/",
        apis.GoldenQuestionDetailApi.as_view(),
        name="golden-question-detail",
    ),
    path("evaluate/", apis.EvaluateApi.as_view(), name="bot-evaluate"),
    path("evaluations/", apis.EvaluationListApi.as_view(), name="evaluation-list"),
    path("evaluations/<uuid:run_id>/", apis.EvaluationDetailApi.as_view(), name="evaluation-detail"),
]
