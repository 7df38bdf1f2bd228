"""Operators' view of evaluations: golden questions per bot (with a file import and an evaluate
action) and each bot's evaluation history with the change against the run before."""

from __future__ import annotations

import json
import uuid

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from bots.models import Bot
from tenants.admin import ReadOnlyAdminMixin, TenantAdmin
from tenants.errors import ApplicationError

from .models import EvaluationRun, EvaluationStatus, GoldenQuestion
from .selectors import index_changes
from .services import evaluation_run, golden_questions_import

METRICS = (("recall", "recall"), ("mrr", "MRR"), ("answered_rate", "answered"), ("fallback_rate", "fallback"))


class BotFilter(admin.SimpleListFilter):
    """Bots by name (the related-field filter would list them through the fail-closed manager)."""

    title = "bot"
    parameter_name = "bot"

    def lookups(self, request, model_admin):
        bots = Bot.all_orgs.select_related("org").order_by("org__name", "name")
        org = request.GET.get("org__id__exact")
        if org:
            try:
                bots = bots.filter(org_id=uuid.UUID(org))
            except ValueError:
                return []
        return [(str(b.pk), f"{b.name} ({b.org.name})") for b in bots[:300]]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            return queryset.filter(bot_id=uuid.UUID(self.value()))
        except ValueError:
            return queryset.none()


class GoldenImportForm(forms.Form):
    bot = forms.ModelChoiceField(queryset=Bot.all_orgs.select_related("org").order_by("org__name", "name"))
    file = forms.FileField(help_text="CSV with a header row (question, answer, off_topic) or JSON Lines.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["bot"].label_from_instance = lambda b: f"{b.name} ({b.org.name})"


@admin.register(GoldenQuestion)
class GoldenQuestionAdmin(TenantAdmin):
    list_display = ["question", "bot", "org", "off_topic", "expected_answer_short", "document", "updated_at"]
    list_filter = ["org", BotFilter, "off_topic"]
    list_select_related = ["org", "bot", "document"]
    search_fields = ["question", "expected_answer", "bot__name"]
    fields = [
        "org",
        "bot",
        "question",
        "expected_answer",
        "document",
        "off_topic",
        "created_by",
        "created_at",
    ]
    readonly_fields = ["created_by", "created_at"]
    actions = ["evaluate_bots"]

    @admin.display(description="expected answer")
    def expected_answer_short(self, obj: GoldenQuestion) -> str:
        return obj.expected_answer[:80] + ("…" if len(obj.expected_answer) > 80 else "")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(self.import_view), name="evaluation_goldenquestion_import"),
            *super().get_urls(),
        ]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def import_view(self, request: HttpRequest):
        if not self.has_add_permission(request):
            return HttpResponseRedirect(reverse("admin:evaluation_goldenquestion_changelist"))
        form = GoldenImportForm(request.POST or None, request.FILES or None)
        problems: dict[str, list[str]] = {}
        if request.method == "POST" and form.is_valid():
            bot, upload = form.cleaned_data["bot"], form.cleaned_data["file"]
            try:
                created = golden_questions_import(
                    bot=bot, user=request.user, data=upload.read(), filename=upload.name
                )
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                problems = exc.extra.get("errors") or {}
            else:
                self.message_user(request, f"Imported {len(created)} golden questions into {bot.name}.")
                url = reverse("admin:evaluation_goldenquestion_changelist")
                return HttpResponseRedirect(f"{url}?bot={bot.pk}")
        context = {
            **self.admin_site.each_context(request),
            "title": "Import golden questions",
            "opts": self.model._meta,
            "form": form,
            "problems": sorted(problems.items(), key=lambda item: _line_number(item[0])),
        }
        return TemplateResponse(request, "admin/evaluation/goldenquestion/import.html", context)

    @admin.action(description="Evaluate the bots of the selected questions now")
    def evaluate_bots(self, request: HttpRequest, queryset: QuerySet[GoldenQuestion]) -> None:
        bots = Bot.all_orgs.filter(pk__in=queryset.values("bot_id")).select_related("org")
        for bot in bots:
            try:
                run = evaluation_run(bot=bot, user=request.user)
            except ApplicationError as exc:
                self.message_user(request, f"{bot.name}: {exc.message}", messages.ERROR)
                continue
            figures = ", ".join(f"{label} {_rate(getattr(run, name))}" for name, label in METRICS)
            self.message_user(request, f"{bot.name}: {figures} (index {run.index_version[:12]}).")


def _line_number(key: str) -> int:
    digits = "".join(ch for ch in key if ch.isdigit())
    return int(digits) if digits else 0


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def previous_run(run: EvaluationRun) -> EvaluationRun | None:
    """The bot's completed run just before ``run``."""
    return (
        EvaluationRun.all_orgs.filter(
            bot_id=run.bot_id, status=EvaluationStatus.DONE, created_at__lt=run.created_at
        )
        .order_by("-created_at", "-id")
        .first()
    )


@admin.register(EvaluationRun)
class EvaluationRunAdmin(ReadOnlyAdminMixin, TenantAdmin):
    """Read-only history, newest first; each row shows its change against the bot's previous run."""

    list_display = [
        "created_at",
        "bot",
        "status",
        "version",
        "k",
        "questions",
        "recall_display",
        "mrr_display",
        "answered_display",
        "fallback_display",
        "change",
    ]
    list_filter = ["org", BotFilter, "status"]
    list_select_related = ["org", "bot"]
    ordering = ["-created_at", "-id"]
    search_fields = ["bot__name", "index_version"]
    fields = [
        "org",
        "bot",
        "created_at",
        "created_by",
        "status",
        "error",
        "k",
        "index_version",
        "index_pretty",
        "questions",
        "on_topic",
        "off_topic",
        "recall",
        "mrr",
        "answered_rate",
        "fallback_rate",
        "change",
        "duration_ms",
        "outcomes_table",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("bot", "created_by")

    @admin.display(description="index version")
    def version(self, obj: EvaluationRun) -> str:
        return obj.index_version[:12]

    @admin.display(description="recall@k")
    def recall_display(self, obj: EvaluationRun) -> str:
        return _rate(obj.recall)

    @admin.display(description="MRR@k")
    def mrr_display(self, obj: EvaluationRun) -> str:
        return _rate(obj.mrr)

    @admin.display(description="answered")
    def answered_display(self, obj: EvaluationRun) -> str:
        return _rate(obj.answered_rate)

    @admin.display(description="fallback")
    def fallback_display(self, obj: EvaluationRun) -> str:
        return _rate(obj.fallback_rate)

    @admin.display(description="change vs previous run")
    def change(self, obj: EvaluationRun) -> str:
        before = previous_run(obj)
        if before is None:
            return "first run"
        deltas = []
        for name, label in METRICS:
            new, old = getattr(obj, name), getattr(before, name)
            if new is not None and old is not None:
                deltas.append(f"{label} {new - old:+.3f}")
        changed = index_changes(before.index, obj.index)
        return "; ".join(
            [", ".join(deltas) or "no comparable metric", "changed: " + (", ".join(changed) or "nothing")]
        )

    @admin.display(description="index")
    def index_pretty(self, obj: EvaluationRun) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.index, indent=2, sort_keys=True))

    @admin.display(description="outcomes")
    def outcomes_table(self, obj: EvaluationRun) -> str:
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    o.get("question", ""),
                    "off-topic" if o.get("off_topic") else "on-topic",
                    "–" if o.get("rank") is None else o["rank"],
                    "answered" if o.get("answered") else "fallback",
                    (o.get("answer") or "")[:200],
                )
                for o in obj.outcomes or []
            ),
        )
        return format_html(
            "<table><thead><tr><th>question</th><th>kind</th><th>rank</th><th>result</th><th>answer</th>"
            "</tr></thead><tbody>{}</tbody></table>",
            rows,
        )
