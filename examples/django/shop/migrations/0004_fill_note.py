from django.db import migrations


def fill(apps, schema_editor):
    Item = apps.get_model("shop", "Item")
    for item in Item.objects.filter(note__isnull=True):
        item.note = "was " + item.legacy if item.legacy else ""
        item.save(update_fields=["note"])


class Migration(migrations.Migration):
    dependencies = [("shop", "0003_item_name_idx")]
    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
