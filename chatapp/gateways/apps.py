from django.apps import AppConfig


class GatewaysConfig(AppConfig):
    name = "chatapp.gateways"
    label = "gateways"
    verbose_name = "Gateways and models"
