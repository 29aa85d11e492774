from django.db import migrations


def recount(apps, schema_editor):
    apps.get_model("gamma", "Invoice").objects.update(total=0)


class Migration(migrations.Migration):
    dependencies = [("gamma", "0001_initial")]
    operations = [migrations.RunPython(recount, migrations.RunPython.noop)]
