from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("beta", "0002_plan_price")]
    operations = [migrations.AddField("plan", "tier", models.CharField(max_length=20, null=True))]
