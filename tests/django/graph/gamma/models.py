from django.db import models


class Invoice(models.Model):
    account = models.ForeignKey("alpha.Account", on_delete=models.CASCADE)
    total = models.IntegerField(default=0)
