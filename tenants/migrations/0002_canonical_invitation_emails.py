"""Store every invitation's email in canonical form (tenants.emails); collisions are reported."""

from django.db import migrations


def forwards(apps, schema_editor):
    from tenants.emails import canonicalize_and_report, invitation_scope

    invitations = apps.get_model("tenants", "Invitation").objects.all()
    canonicalize_and_report(invitations, "invitations", fields=("org_id", "accepted_at"), scope=invitation_scope)


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True)]
