from django.db import migrations


def fill(apps, schema_editor):
    Account = apps.get_model("alpha", "Account")
    Account.objects.filter(email__isnull=True).update(email="")


class Migration(migrations.Migration):
    dependencies = [("alpha", "0003_merge")]
    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
