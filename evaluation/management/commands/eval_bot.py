"""Evaluate a bot on its golden questions: `manage.py eval_bot ORG BOT [--k 5] [--import FILE] [--json]`."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from bots.models import Bot
from evaluation.models import EvaluationRun
from evaluation.selectors import evaluation_run_list, index_changes
from evaluation.serializers import EvaluationRunDetailSerializer
from evaluation.services import K_MAX, evaluation_run, golden_questions_import
from tenants.errors import ApplicationError
from tenants.models import Organization


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


class Command(BaseCommand):
    help = (
        "Evaluate a bot on its golden questions (recall@k, MRR@k, answered rate, off-topic fallback "
        "rate), store the run with the bot's index version and print it beside the previous run."
    )

    def add_arguments(self, parser):
        parser.add_argument("org", help="Organisation id or exact name.")
        parser.add_argument("bot", help="Bot id or exact name inside the organisation.")
        parser.add_argument(
            "--k", type=int, default=None, help="Passages that count (default: the bot's top_k)."
        )
        parser.add_argument(
            "--import",
            dest="import_file",
            type=Path,
            help="Add the golden questions of this CSV or JSONL file first (all or nothing).",
        )
        parser.add_argument("--json", action="store_true", help="Print the stored run as JSON.")

    def handle(self, *args, **options):
        bot = self._bot(options["org"], options["bot"])
        k = options["k"]
        if k is not None and not 1 <= k <= K_MAX:
            raise CommandError(f"--k must be between 1 and {K_MAX}.")
        previous = evaluation_run_list(bot=bot).filter(status="done").first()
        try:
            if options["import_file"]:
                path: Path = options["import_file"]
                if not path.is_file():
                    raise CommandError(f"No file {path}.")
                created = golden_questions_import(
                    bot=bot, user=None, data=path.read_bytes(), filename=path.name
                )
                if not options["json"]:
                    self.stdout.write(f"Imported {len(created)} golden questions from {path.name}.")
            run = evaluation_run(bot=bot, user=None, k=k)
        except ApplicationError as exc:
            errors = exc.extra.get("errors") or {}
            lines = [exc.message, *(f"  {where}: {'; '.join(msgs)}" for where, msgs in errors.items())]
            raise CommandError("\n".join(lines)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(EvaluationRunDetailSerializer(run).data, indent=2, default=str))
            return
        self._table(bot, run, previous)

    def _bot(self, org_ref: str, bot_ref: str) -> Bot:
        # Operator command: finds the org across all, then works inside it.
        orgs = Organization.objects.filter(name=org_ref)
        with contextlib.suppress(ValidationError):
            orgs = orgs | Organization.objects.filter(pk=org_ref)
        found = list(orgs[:2])
        if len(found) != 1:
            raise CommandError(
                f"{'No' if not found else 'More than one'} organisation with id or name {org_ref!r}."
            )
        bots = Bot.objects.for_org(found[0]).filter(name=bot_ref)
        with contextlib.suppress(ValidationError):
            bots = bots | Bot.objects.for_org(found[0]).filter(pk=bot_ref)
        match = list(bots.select_related("org")[:1])
        if not match:
            raise CommandError(f"No bot with id or name {bot_ref!r} in {found[0].name}.")
        return match[0]

    def _table(self, bot: Bot, run: EvaluationRun, previous: EvaluationRun | None) -> None:
        self.stdout.write(f"{bot.name} — index {run.index_version[:12]} ({run.index['documents']} documents)")
        rows = [
            (f"recall@{run.k}", run.recall, previous.recall if previous else None),
            (f"MRR@{run.k}", run.mrr, previous.mrr if previous else None),
            ("answered", run.answered_rate, previous.answered_rate if previous else None),
            ("fallback", run.fallback_rate, previous.fallback_rate if previous else None),
        ]
        self.stdout.write(f"{'metric':<12}{'value':>8}{'previous':>10}{'change':>9}")
        for name, value, before in rows:
            change = "-" if value is None or before is None else f"{value - before:+.3f}"
            self.stdout.write(f"{name:<12}{_rate(value):>8}{_rate(before):>10}{change:>9}")
        self.stdout.write(
            f"{'n':<12}{run.questions:>8}   "
            f"({run.on_topic} on-topic, {run.off_topic} off-topic, {run.duration_ms} ms)"
        )
        if previous is not None:
            changed = index_changes(previous.index, run.index)
            self.stdout.write(
                "Changed since the previous run: " + (", ".join(changed) if changed else "nothing")
            )
        misses = [o["question"] for o in run.outcomes if not o["off_topic"] and o["rank"] is None]
        for question in misses[:10]:
            self.stdout.write(self.style.WARNING(f"  not in the top {run.k}: {question}"))
        self.stdout.write(f"Stored as evaluation {run.pk}.")
