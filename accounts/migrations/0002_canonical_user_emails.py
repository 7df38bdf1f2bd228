"""Store every user's email in canonical form (tenants.emails); collisions are reported, not merged."""

from django.db import migrations


def forwards(apps, schema_editor):
    from tenants.emails import canonicalize_and_report

    canonicalize_and_report(apps.get_model("accounts", "User").objects.all(), "users")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True)]
