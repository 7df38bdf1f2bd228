"""Store every invitation's email in canonical form (tenants.emails); collisions are reported."""

import sys

from django.db import migrations


def forwards(apps, schema_editor):
    from tenants.emails import canonicalize_stored_emails, invitation_scope

    invitations = apps.get_model("tenants", "Invitation").objects.all()
    plan = canonicalize_stored_emails(invitations, fields=("org_id", "accepted_at"), scope=invitation_scope)
    report = plan.report("invitations")
    if report:
        print("\n" + report, file=sys.stderr)


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True)]
