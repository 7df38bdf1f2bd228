"""Store every user's email in canonical form (tenants.emails); collisions are reported, not merged."""

import sys

from django.db import migrations


def forwards(apps, schema_editor):
    from tenants.emails import canonicalize_stored_emails

    plan = canonicalize_stored_emails(apps.get_model("accounts", "User").objects.all())
    report = plan.report("users")
    if report:
        print("\n" + report, file=sys.stderr)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True)]
