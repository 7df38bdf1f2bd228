"""Seed a demo organisation, superuser and bot (idempotent). `make run` calls this."""

from __future__ import annotations

import secrets
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.template.loader import render_to_string

from accounts.models import User
from accounts.services import user_create
from bots.embed import embed_snippet
from bots.models import Bot
from bots.origins import normalize_origins
from bots.services import bot_create, bot_update
from documents.seed import seed_demo_documents
from tenants.emails import canonical_email
from tenants.models import Membership, Role
from tenants.services import org_create

DEMO_ORG = "Demo"
DEMO_BOT = "Demo Co. Assistant"
DEMO_QUESTIONS = [
    "How long is the robot vacuum warranty?",
    "When does the office open?",
    "How do I return an item?",
]


def local_origins(port: int) -> list[str]:
    """The origins a browser uses for a server on this machine's `port`."""
    return [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]


class Command(BaseCommand):
    help = "Create the demo organisation, admin user, bot and knowledge base if they are missing."

    def add_arguments(self, parser):
        parser.add_argument("--no-documents", action="store_true", help="Skip seeding demo documents.")
        parser.add_argument(
            "--port",
            type=int,
            default=8000,
            help="The port the server will listen on (make run passes PORT): the demo bot allows "
            "http://127.0.0.1:PORT and http://localhost:PORT, so its demo page and widget work there.",
        )
        parser.add_argument(
            "--origin",
            action="append",
            default=[],
            metavar="URL",
            help="One more origin the demo bot allows, e.g. a local page that embeds the widget "
            "(repeatable). Origins already allowed are kept.",
        )
        parser.add_argument(
            "--site-dir",
            metavar="DIR",
            help="Also write DIR/index.html: a stand-in customer page that embeds the demo bot's widget "
            "from http://127.0.0.1:PORT (make demo-site serves it from another origin).",
        )

    @transaction.atomic
    def handle(self, *args, **options):
        email = settings.DEMO_ADMIN_EMAIL
        user = User.objects.filter(email=canonical_email(email)).first()
        if user is None:
            password = settings.DEMO_ADMIN_PASSWORD or secrets.token_urlsafe(12)
            user = user_create(email=email, password=password, name="Demo Admin", is_staff=True)
            user.is_superuser = True
            user.save(update_fields=["is_superuser"])
            shown = password if not settings.DEMO_ADMIN_PASSWORD else "(from DEMO_ADMIN_PASSWORD)"
            self.stdout.write(self.style.SUCCESS(f"Demo admin created: {email} / {shown}"))
            if not settings.DEMO_ADMIN_PASSWORD:
                self.stdout.write("  Shown once; set DEMO_ADMIN_PASSWORD to choose your own.")
        else:
            self.stdout.write(f"Demo admin exists: {email}")

        membership = Membership.objects.filter(user=user, org__name=DEMO_ORG, role=Role.OWNER).first()
        org = membership.org if membership else org_create(user=user, name=DEMO_ORG)
        self.stdout.write(f"Organisation: {org.name} ({org.pk})")

        bot = Bot.objects.for_org(org).filter(name=DEMO_BOT).first()
        if bot is None:
            bot = bot_create(
                org=org,
                user=user,
                name=DEMO_BOT,
                description="Answers questions about Botwright Demo Co.'s policies, handbook and FAQ.",
                system_prompt=(
                    "You are the friendly assistant of Botwright Demo Co. "
                    "Answer from the company's documents only."
                ),
                greeting="Hi! Ask me about returns, warranty, opening hours or our handbook.",
                launcher_text="Ask us",
                suggested_questions=DEMO_QUESTIONS,
            )
        port = options["port"]
        # Added to what the bot allows, never replacing it: origins an operator added stay.
        try:
            origins = normalize_origins([*bot.allowed_origins, *local_origins(port), *options["origin"]])
        except ValueError as exc:
            raise CommandError(f"--origin: {exc}") from None
        if origins != bot.allowed_origins:
            bot = bot_update(bot=bot, user=user, data={"allowed_origins": origins})
        self.stdout.write(f"Bot: {bot.name} ({bot.pk}, public id {bot.public_id})")
        self.stdout.write(f"  Allowed origins: {', '.join(bot.allowed_origins)}")
        self.stdout.write(f"  Chat as a website visitor: http://127.0.0.1:{port}/demo/{bot.public_id}/")
        if not options["no_documents"]:
            for line in seed_demo_documents(org=org, bot=bot, user=user):
                self.stdout.write(line)
        if options["site_dir"]:
            page = Path(options["site_dir"]) / "index.html"
            page.parent.mkdir(parents=True, exist_ok=True)
            snippet = embed_snippet(bot=bot, base_url=f"http://127.0.0.1:{port}")
            page.write_text(render_to_string("chat/demo_site.html", {"bot": bot, "snippet": snippet}))
            self.stdout.write(f"  A customer page with the widget: {page}")
