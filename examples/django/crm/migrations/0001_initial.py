import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = [("shop", "0002_item_note")]
    operations = [
        migrations.CreateModel(
            name="Customer",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False,
                                        verbose_name="ID")),
                ("name", models.CharField(max_length=100)),
                ("favourite", models.ForeignKey(
                    null=True, on_delete=django.db.models.deletion.SET_NULL, to="shop.item")),
            ],
        ),
    ]
