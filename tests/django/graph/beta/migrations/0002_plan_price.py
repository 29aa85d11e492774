from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("beta", "0001_initial")]
    operations = [migrations.AddField("plan", "price", models.IntegerField(null=True))]
