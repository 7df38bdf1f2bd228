"""Per-bot evaluation endpoints under /api/orgs/<org>/bots/<bot>/: golden questions, runs.

Viewers read; editors and above write and evaluate (an evaluation costs a search and an answer per
question).
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response

from api.pagination import paginate
from api.schema import error_responses, paginated
from api.serializers import PageQuerySerializer
from api.views import BotScopedAPIView
from chat import ratelimit
from tenants.errors import InvalidInput

from . import selectors, services
from .serializers import (
    EvaluateInputSerializer,
    EvaluationRunDetailSerializer,
    EvaluationRunSerializer,
    GoldenImportOutputSerializer,
    GoldenImportSerializer,
    GoldenQuestionInputSerializer,
    GoldenQuestionOutputSerializer,
    validated,
)


class GoldenQuestionListApi(BotScopedAPIView):
    query_serializer = PageQuerySerializer
    parser_classes = [JSONParser]

    @extend_schema(
        responses={200: paginated(GoldenQuestionOutputSerializer)},
        description="The bot's golden questions, oldest first (paginated).",
    )
    def get(self, request, org_id, bot_id):
        qs = selectors.golden_question_list(bot=self.bot)
        return paginate(self, qs, GoldenQuestionOutputSerializer)

    @extend_schema(
        request=GoldenQuestionInputSerializer,
        responses={201: GoldenQuestionOutputSerializer},
    )
    def post(self, request, org_id, bot_id):
        data = validated(GoldenQuestionInputSerializer(data=request.data))
        golden = services.golden_question_create(bot=self.bot, user=request.user, **data)
        return Response(GoldenQuestionOutputSerializer(golden).data, status=status.HTTP_201_CREATED)


class GoldenQuestionDetailApi(BotScopedAPIView):
    parser_classes = [JSONParser]

    @extend_schema(responses={200: GoldenQuestionOutputSerializer})
    def get(self, request, org_id, bot_id, golden_id):
        golden = selectors.golden_question_get(bot=self.bot, golden_id=golden_id)
        return Response(GoldenQuestionOutputSerializer(golden).data)

    @extend_schema(
        request=GoldenQuestionInputSerializer(partial=True),
        responses={200: GoldenQuestionOutputSerializer},
    )
    def patch(self, request, org_id, bot_id, golden_id):
        golden = selectors.golden_question_get(bot=self.bot, golden_id=golden_id)
        data = validated(GoldenQuestionInputSerializer(data=request.data, partial=True))
        golden = services.golden_question_update(golden=golden, user=request.user, data=data)
        return Response(GoldenQuestionOutputSerializer(golden).data)

    @extend_schema(responses={204: None})
    def delete(self, request, org_id, bot_id, golden_id):
        golden = selectors.golden_question_get(bot=self.bot, golden_id=golden_id)
        services.golden_question_delete(golden=golden, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GoldenQuestionImportApi(BotScopedAPIView):
    parser_classes = [MultiPartParser]

    @staticmethod
    def request_body_limit() -> int:
        """The file plus 64 KiB of multipart framing (config.middleware.RequestBodyLimitMiddleware)."""
        return settings.EVALUATION_IMPORT_MAX_BYTES + 64 * 1024

    @extend_schema(
        request={"multipart/form-data": GoldenImportSerializer},
        responses={201: GoldenImportOutputSerializer},
        description="Add every question of a CSV (header: question, answer, off_topic) or JSON Lines file "
        '({"question", "answer", "off_topic"} a line). All or nothing: one bad line and nothing is '
        "imported; `errors` lists every bad line (`line 3`).",
    )
    def post(self, request, org_id, bot_id):
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidInput("Attach the CSV or JSONL file as 'file'.", field="file")
        if upload.size > settings.EVALUATION_IMPORT_MAX_BYTES:
            raise InvalidInput(
                f"The file is {upload.size} bytes; the limit is {settings.EVALUATION_IMPORT_MAX_BYTES}. "
                "Split it and import the parts.",
                code="too_large",
                field="file",
            )
        created = services.golden_questions_import(
            bot=self.bot, user=request.user, data=upload.read(), filename=upload.name or ""
        )
        body = {"imported": len(created), "results": GoldenQuestionOutputSerializer(created, many=True).data}
        return Response(body, status=status.HTTP_201_CREATED)


class EvaluateApi(BotScopedAPIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=EvaluateInputSerializer,
        responses={201: EvaluationRunDetailSerializer, **error_responses(429, 503)},
        description="Evaluate the bot on its golden questions now (inline; at most EVALUATION_MAX_QUESTIONS) "
        "and store the run with the bot's index version. Nothing is recorded as a conversation.",
    )
    def post(self, request, org_id, bot_id):
        data = validated(EvaluateInputSerializer(data=request.data))
        ratelimit.check(f"evaluate:{self.bot.pk}", settings.EVALUATION_RATE, limit="evaluation")
        run = services.evaluation_run(bot=self.bot, user=request.user, k=data.get("k"))
        return Response(EvaluationRunDetailSerializer(run).data, status=status.HTTP_201_CREATED)


class EvaluationListApi(BotScopedAPIView):
    query_serializer = PageQuerySerializer

    @extend_schema(
        responses={200: paginated(EvaluationRunSerializer)},
        description="The bot's evaluation runs, newest first (paginated; outcomes are in the detail).",
    )
    def get(self, request, org_id, bot_id):
        qs = selectors.evaluation_run_list(bot=self.bot).select_related("created_by").defer("outcomes")
        return paginate(self, qs, EvaluationRunSerializer)


class EvaluationDetailApi(BotScopedAPIView):
    @extend_schema(responses={200: EvaluationRunDetailSerializer})
    def get(self, request, org_id, bot_id, run_id):
        run = selectors.evaluation_run_get(bot=self.bot, run_id=run_id)
        return Response(EvaluationRunDetailSerializer(run).data)
