from django.apps import AppConfig
from django.core.signals import setting_changed
from django.db.models.signals import post_delete, post_save


class GatewaysConfig(AppConfig):
    name = "chatapp.gateways"
    label = "gateways"
    verbose_name = "Gateways and models"

    def ready(self) -> None:
        from .models import ModelOffering, Provider
        from .registry import gateways_changed, route_setting_changed

        for model in (Provider, ModelOffering):
            post_save.connect(gateways_changed, sender=model)
            post_delete.connect(gateways_changed, sender=model)
        setting_changed.connect(route_setting_changed)
