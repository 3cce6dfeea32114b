from django.apps import AppConfig
from django.core.signals import setting_changed
from django.db import transaction
from django.db.models.signals import post_delete, post_save

# Settings the model list is built from (tests change them).
ROUTE_SETTINGS = {"OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODELS", "SIMULATOR_CHUNK_DELAY"}


def gateways_changed(**_signal_arguments) -> None:
    from .registry import forget_model_choices

    # Now, for this thread's next read; and after the commit, because other
    # threads read the old rows until then (and a bulk insert in the same
    # transaction sends no signal).
    forget_model_choices()
    transaction.on_commit(forget_model_choices)


def route_setting_changed(setting: str, **_signal_arguments) -> None:
    from .registry import forget_model_choices

    if setting in ROUTE_SETTINGS:
        forget_model_choices()


class GatewaysConfig(AppConfig):
    name = "chatapp.gateways"
    label = "gateways"
    verbose_name = "Gateways and models"

    def ready(self) -> None:
        from .models import ModelOffering, Provider

        for model in (Provider, ModelOffering):
            post_save.connect(gateways_changed, sender=model)
            post_delete.connect(gateways_changed, sender=model)
        setting_changed.connect(route_setting_changed)
