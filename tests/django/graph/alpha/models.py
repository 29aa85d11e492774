from django.db import models


class Account(models.Model):
    name = models.CharField(max_length=100)
    email = models.CharField(max_length=200, null=True)
    phone = models.CharField(max_length=40, null=True)
