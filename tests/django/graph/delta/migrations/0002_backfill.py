from django.db import migrations


def backfill(apps, schema_editor):
    apps.get_model("delta", "Subscription").objects.filter(plan__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("delta", "0001_initial")]
    operations = [migrations.RunPython(backfill)]
