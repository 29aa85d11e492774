from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0002_item_note")]
    operations = [
        migrations.AddIndex(model_name="item",
                            index=models.Index(fields=["name"], name="shop_item_name_idx")),
    ]
