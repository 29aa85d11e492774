import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = [("alpha", "0002_account_email"), ("beta", "0001_squashed_0003_plan_tier")]
    operations = [
        migrations.CreateModel("Subscription", [
            ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ("account", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="alpha.account")),
            ("plan", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="beta.plan")),
        ]),
    ]
