from django.db import models


class Customer(models.Model):
    name = models.CharField(max_length=100)
    favourite = models.ForeignKey("shop.Item", null=True, on_delete=models.SET_NULL)
