# Added to examples/django/shop/migrations by t_django.sh: a constraint that
# rows already there violate, so Django's migrate fails on it.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0005_remove_item_legacy")]
    operations = [
        migrations.AlterField(model_name="item", name="name",
                              field=models.CharField(max_length=100, unique=True)),
    ]
