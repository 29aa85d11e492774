from django.db import migrations, models


class Migration(migrations.Migration):
    replaces = [("beta", "0001_initial"), ("beta", "0002_plan_price"), ("beta", "0003_plan_tier")]
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel("Plan", [
            ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ("title", models.CharField(max_length=100)),
            ("price", models.IntegerField(null=True)),
            ("tier", models.CharField(max_length=20, null=True)),
        ]),
    ]
