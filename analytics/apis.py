"""Analytics endpoints under /api/orgs/<org_id>/analytics/.

Admins and owners read the summary, usage and exports of their organisation. The unanswered-
question workflow (list, resolve, ignore, reopen) is open to editors too: resolving writes to a
bot's knowledge base, which is an editor's job.
"""

from __future__ import annotations

from datetime import UTC, timedelta

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response

from api.pagination import paginate
from api.schema import error_responses, paginated
from api.views import OrgScopedAPIView
from bots.selectors import bot_get
from tenants.errors import InvalidInput, NotFound
from tenants.models import Role

from . import selectors, services
from .exports import DATASETS, Window, export_response
from .serializers import (
    DATASET_NAMES,
    AnalyticsSummarySerializer,
    AnalyticsUsageSerializer,
    ExportQuerySerializer,
    RangeQuerySerializer,
    ResolveInputSerializer,
    UnansweredGroupSerializer,
    UnansweredQuerySerializer,
    UnansweredStateSerializer,
    UsageQuerySerializer,
)

ADMIN_READS = {method: Role.ADMIN for method in ("GET", "HEAD", "OPTIONS")}
DEFAULT_DAYS = 30
EDITOR_REVIEW = {"GET": Role.EDITOR, "HEAD": Role.EDITOR, "OPTIONS": Role.EDITOR, "POST": Role.EDITOR}


class _RangeMixin:
    query_serializer = RangeQuerySerializer

    def range(self, request):
        """(first day, last day, bot or None, the validated query) with the defaults applied."""
        data = self.query  # validated with query_serializer by api.base.APIView
        end = data.get("to") or timezone.now().astimezone(UTC).date()
        start = data.get("from") or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise InvalidInput(f"`from` ({start}) is after `to` ({end}).", field="from")
        limit = self.query_serializer.max_days
        if limit and (end - start).days >= limit:
            raise InvalidInput(
                f"The range is {(end - start).days + 1} days; the limit is {limit}.", field="from"
            )
        bot = bot_get(org=self.org, bot_id=data["bot"]) if data.get("bot") else None
        return start, end, bot, data


class SummaryApi(_RangeMixin, OrgScopedAPIView):
    required_roles = ADMIN_READS

    @extend_schema(responses=AnalyticsSummarySerializer)
    def get(self, request, org_id):
        start, end, bot, _ = self.range(request)
        return Response(
            AnalyticsSummarySerializer(
                selectors.analytics_summary(org=self.org, bot=bot, start=start, end=end)
            ).data
        )


class UsageApi(_RangeMixin, OrgScopedAPIView):
    required_roles = ADMIN_READS
    query_serializer = UsageQuerySerializer

    @extend_schema(responses=AnalyticsUsageSerializer)
    def get(self, request, org_id):
        start, end, _, _ = self.range(request)
        return Response(
            AnalyticsUsageSerializer(selectors.analytics_usage(org=self.org, start=start, end=end)).data
        )


class UnansweredListApi(_RangeMixin, OrgScopedAPIView):
    required_roles = EDITOR_REVIEW
    query_serializer = UnansweredQuerySerializer

    @extend_schema(responses=paginated(UnansweredGroupSerializer))
    def get(self, request, org_id):
        start, end, bot, data = self.range(request)
        groups = selectors.unanswered_list(
            org=self.org, bot=bot, start=start, end=end, status=data.get("status")
        )
        return paginate(self, groups, UnansweredGroupSerializer)


class UnansweredResolveApi(OrgScopedAPIView):
    required_roles = EDITOR_REVIEW

    @extend_schema(
        request=ResolveInputSerializer, responses={200: UnansweredStateSerializer, **error_responses(409)}
    )
    def post(self, request, org_id, group_id):
        group = selectors.unanswered_get(org=self.org, group_id=group_id)
        data = ResolveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        group = services.unanswered_resolve(
            group=group, user=request.user, answer=data.validated_data["answer"]
        )
        return Response(UnansweredStateSerializer(group).data)


class _UnansweredStatusApi(OrgScopedAPIView):
    required_roles = EDITOR_REVIEW
    status_value = ""

    @extend_schema(request=None, responses=UnansweredStateSerializer)
    def post(self, request, org_id, group_id):
        group = selectors.unanswered_get(org=self.org, group_id=group_id)
        group = services.unanswered_set_status(group=group, user=request.user, status=self.status_value)
        return Response(UnansweredStateSerializer(group).data)


class UnansweredIgnoreApi(_UnansweredStatusApi):
    status_value = "ignored"


class UnansweredReopenApi(_UnansweredStatusApi):
    status_value = "open"


class _AnyFormatParameter(DefaultContentNegotiation):
    """`?format=` names the export's file format here, not a DRF renderer: errors stay JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ExportApi(_RangeMixin, OrgScopedAPIView):
    required_roles = ADMIN_READS
    query_serializer = ExportQuerySerializer
    content_negotiation_class = _AnyFormatParameter

    @extend_schema(
        parameters=[OpenApiParameter("dataset", str, OpenApiParameter.PATH, enum=DATASET_NAMES)],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV with a header row."),
            (200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.STR, description="JSON Lines."),
        },
    )
    def get(self, request, org_id, dataset):
        chosen = DATASETS.get(dataset)
        if chosen is None:
            raise NotFound(f"No dataset {dataset!r}. Datasets: {', '.join(DATASET_NAMES)}.")
        start, end, bot, data = self.range(request)
        return export_response(chosen, Window(org=self.org, start=start, end=end, bot=bot), data["format"])
