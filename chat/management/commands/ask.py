"""Ask a bot a question from the terminal: `manage.py ask <bot id | public id | name> "question"`."""

import contextlib

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from rest_framework.exceptions import APIException

from bots.models import Bot
from chat.models import Channel
from chat.services import chat_answer


class Command(BaseCommand):
    help = "Ask a bot a question and print the answer with its sources."

    def add_arguments(self, parser):
        parser.add_argument("bot", help="Bot id, public id or exact name.")
        parser.add_argument("question")

    def handle(self, *args, **options):
        bot = self._find(options["bot"])
        try:
            result = chat_answer(bot=bot, message=options["question"], channel=Channel.API)
        except APIException as exc:
            raise CommandError(str(exc.detail))
        self.stdout.write(result.message.content)
        if result.message.unanswered:
            self.stdout.write(self.style.WARNING("(no relevant passage: fallback answer)"))
        for i, source in enumerate(result.sources, 1):
            pages = f", p. {source['pages']}" if source["pages"] else ""
            self.stdout.write(f"[{i}] {source['title']}{pages} (score {source['score']:.2f})")

    def _find(self, ref: str) -> Bot:
        # Operator command: looks across orgs, then works inside the bot's org.
        candidates = Bot.all_orgs.filter(public_id=ref) | Bot.all_orgs.filter(name=ref)
        with contextlib.suppress(ValidationError):  # not a UUID: match by public id or name only
            candidates = candidates | Bot.all_orgs.filter(pk=ref)
        bots = list(candidates.select_related("org")[:5])
        if not bots:
            raise CommandError(f"No bot with id, public id or name {ref!r}.")
        if len(bots) > 1:
            listing = ", ".join(f"{b.name} ({b.pk}, org {b.org.name})" for b in bots)
            raise CommandError(f"{ref!r} matches several bots; use an id: {listing}")
        return bots[0]
