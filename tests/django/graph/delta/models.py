from django.db import models


class Subscription(models.Model):
    account = models.ForeignKey("alpha.Account", on_delete=models.CASCADE)
    plan = models.ForeignKey("beta.Plan", on_delete=models.CASCADE)
