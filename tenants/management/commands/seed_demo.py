"""Seed a demo organisation, superuser and bot (idempotent). `make run` calls this."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from accounts.services import user_create
from bots.models import Bot
from bots.services import bot_create
from tenants.emails import canonical_email
from tenants.models import Membership, Role
from tenants.services import org_create

DEMO_ORG = "Demo"
DEMO_BOT = "Demo Co. Assistant"


class Command(BaseCommand):
    help = "Create the demo organisation, admin user, bot and knowledge base if they are missing."

    def add_arguments(self, parser):
        parser.add_argument("--no-documents", action="store_true", help="Skip seeding demo documents.")

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
            self.stdout.write("  This password is shown once; set DEMO_ADMIN_PASSWORD to choose your own.")
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
                allowed_origins=["http://localhost:8000", "http://127.0.0.1:8000"],
            )
        self.stdout.write(f"Bot: {bot.name} ({bot.pk}, public id {bot.public_id})")
        self.stdout.write(f"  Chat as a website visitor: http://127.0.0.1:8000/demo/{bot.public_id}/")
        if not options["no_documents"]:
            self._seed_documents(org=org, bot=bot, user=user)

    def _seed_documents(self, *, org, bot, user) -> None:
        try:
            from documents.seed import seed_demo_documents
        except ImportError:
            return
        for line in seed_demo_documents(org=org, bot=bot, user=user):
            self.stdout.write(line)
