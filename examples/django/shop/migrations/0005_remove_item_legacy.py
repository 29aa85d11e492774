from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0004_fill_note")]
    operations = [migrations.RemoveField(model_name="item", name="legacy")]
