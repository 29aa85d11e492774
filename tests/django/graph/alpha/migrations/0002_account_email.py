from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("alpha", "0001_initial")]
    operations = [migrations.AddField("account", "email", models.CharField(max_length=200, null=True))]
