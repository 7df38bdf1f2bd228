"""The analytics page in the operator admin (Admin → Analytics).

Platform staff pick any organisation (the admin is cross-org by design), a bot and a date range,
and see the daily charts (server-side SVG), the unanswered questions with resolve/ignore, and
export buttons. It reads the same selectors as the API and writes through the same services.
"""

from __future__ import annotations

from datetime import UTC, date, timedelta
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from bots.models import Bot
from tenants.admin import ReadOnlyAdminMixin
from tenants.errors import ApplicationError
from tenants.models import Organization

from . import charts, selectors, services
from .exports import DATASETS, Window, export_response
from .models import DailyMetrics, UnansweredQuestion

DEFAULT_DAYS = 30


def _day(value: str | None, default: date) -> date:
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        return default


@admin.register(DailyMetrics)
class AnalyticsAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Not a list of rows: the changelist is the analytics page."""

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("export/<str:dataset>/", wrap(self.export_view), name="analytics_export"),
            path("unanswered/<uuid:group_id>/<str:action>/", wrap(self.review_view), name="analytics_review"),
            *super().get_urls(),
        ]

    def _filters(self, request: HttpRequest) -> dict[str, Any]:
        if not self.has_view_permission(request):
            raise PermissionDenied
        orgs = list(Organization.objects.order_by("name"))
        org = next((o for o in orgs if str(o.pk) == request.GET.get("org")), orgs[0] if orgs else None)
        bots = list(Bot.objects.for_org(org).order_by("name")) if org else []
        bot = next((b for b in bots if str(b.pk) == request.GET.get("bot")), None)
        today = timezone.now().astimezone(UTC).date()
        end = _day(request.GET.get("to"), today)
        start = _day(request.GET.get("from"), end - timedelta(days=DEFAULT_DAYS - 1))
        if start > end or (end - start).days > 366:
            start = end - timedelta(days=DEFAULT_DAYS - 1)
        return {"orgs": orgs, "org": org, "bots": bots, "bot": bot, "start": start, "end": end}

    def changelist_view(self, request, extra_context=None):
        filters = self._filters(request)
        context = {
            **self.admin_site.each_context(request),
            **filters,
            "title": "Analytics",
            "opts": self.model._meta,
        }
        org = filters["org"]
        if org is not None:
            summary = selectors.analytics_summary(
                org=org, bot=filters["bot"], start=filters["start"], end=filters["end"]
            )
            context["summary"] = summary
            context["charts"] = _charts(summary["daily"])
            context["unanswered"] = selectors.unanswered_list(
                org=org, bot=filters["bot"], start=filters["start"], end=filters["end"], status="open"
            )[:25]
            query = f"org={org.pk}&from={filters['start']}&to={filters['end']}"
            if filters["bot"]:
                query += f"&bot={filters['bot'].pk}"
            context["query"] = query
            context["datasets"] = sorted(DATASETS)
        return TemplateResponse(request, "admin/analytics/dashboard.html", context)

    def export_view(self, request, dataset):
        filters = self._filters(request)
        chosen = DATASETS.get(dataset)
        if chosen is None or filters["org"] is None:
            raise Http404("No such dataset.")
        fmt = "json" if request.GET.get("format") == "json" else "csv"
        window = Window(org=filters["org"], start=filters["start"], end=filters["end"], bot=filters["bot"])
        return export_response(chosen, window, fmt)

    def review_view(self, request, group_id, action):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return _review(request, group_id, action)


@require_POST
def _review(request: HttpRequest, group_id, action: str):
    group = get_object_or_404(UnansweredQuestion.all_orgs.select_related("org"), pk=group_id)
    try:
        if action == "resolve":
            services.unanswered_resolve(group=group, user=request.user, answer=request.POST.get("answer", ""))
            messages.success(request, f"Resolved: “{group.text[:80]}” is now in the knowledge base.")
        elif action == "ignore":
            services.unanswered_set_status(group=group, user=request.user, status="ignored")
            messages.success(request, f"Ignored: “{group.text[:80]}”.")
        else:
            raise Http404("Unknown action.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    back = request.POST.get("next") or ""
    url = reverse("admin:analytics_dailymetrics_changelist")
    return HttpResponseRedirect(f"{url}?{back}" if back and "//" not in back else url)


def _charts(daily: list[dict[str, Any]]) -> list[tuple[str, str]]:
    labels = [str(day["day"]) for day in daily]
    by_channel = {
        channel: [day["messages_by_channel"][channel]["user"] for day in daily]
        for channel in ("builder", "public", "api")
    }

    def pct(value):
        return None if value is None else round(value * 100, 1)

    items = [
        ("Messages per day by channel", charts.stacked_bars("Questions per day", labels, by_channel)),
        (
            "Unanswered rate",
            charts.line("Unanswered %", labels, [pct(d["unanswered_rate"]) for d in daily], "%", 100),
        ),
        (
            "Satisfaction",
            charts.line("Thumbs up %", labels, [pct(d["satisfaction_rate"]) for d in daily], "%", 100),
        ),
        ("Latency p95", charts.line("p95 ms", labels, [d["latency_ms_p95"] for d in daily], " ms")),
        (
            "Tokens per day",
            charts.stacked_bars(
                "Tokens",
                labels,
                {
                    "prompt": [d["prompt_tokens"] for d in daily],
                    "completion": [d["completion_tokens"] for d in daily],
                },
            ),
        ),
        (
            "Estimated cost per day (USD)",
            charts.line("USD", labels, [d["estimated_cost_usd"] for d in daily], ""),
        ),
    ]
    return [(title, mark_safe(svg)) for title, svg in items]  # noqa: S308 - built by charts.py, every text escaped
