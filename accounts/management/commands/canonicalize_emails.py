"""Re-run the canonical-email migration after fixing the collisions it reported."""

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from tenants.emails import canonicalize_stored_emails, invitation_scope
from tenants.models import Invitation


class Command(BaseCommand):
    help = "Store user and invitation emails in canonical form; lists what is left to fix by hand."

    @transaction.atomic
    def handle(self, *args, **options):
        users = canonicalize_stored_emails(User.objects.all())
        invitations = canonicalize_stored_emails(
            Invitation.objects.all(), fields=("org_id", "accepted_at"), scope=invitation_scope
        )
        counts = f"{len(users.updates)} user(s), {len(invitations.updates)} invitation(s)"
        self.stdout.write(f"Canonical emails: updated {counts}.")
        problems = [p for p in (users.report("users"), invitations.report("invitations")) if p]
        for report in problems:
            self.stderr.write(report)
        if not problems:
            self.stdout.write("Nothing left to fix.")
