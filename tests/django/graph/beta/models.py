from django.db import models


class Plan(models.Model):
    title = models.CharField(max_length=100)
    price = models.IntegerField(null=True)
    tier = models.CharField(max_length=20, null=True)
