import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = [("alpha", "0003_merge")]
    operations = [
        migrations.CreateModel("Invoice", [
            ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ("total", models.IntegerField(default=0)),
            ("account", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="alpha.account")),
        ]),
    ]
