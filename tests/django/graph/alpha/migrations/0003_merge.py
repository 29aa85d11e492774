from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("alpha", "0002_account_email"), ("alpha", "0002_account_phone")]
    operations = []
