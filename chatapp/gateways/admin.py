from asgiref.sync import async_to_sync
from django.contrib import admin, messages

from chatapp.providers import ProviderError, list_models

from .models import ModelOffering, Provider
from .presets import PRESETS


class ModelOfferingInline(admin.TabularInline):
    model = ModelOffering
    extra = 0
    fields = (
        "model_id",
        "display_name",
        "family",
        "enabled",
        "input_price",
        "cached_input_price",
        "output_price",
    )


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ("name", "base_url", "key_status", "enabled", "priority")
    list_editable = ("enabled", "priority")
    fields = (
        "name",
        "preset",
        "base_url",
        "api_key_env",
        "key_status",
        "enabled",
        "priority",
        "read_timeout",
        "deadline",
    )
    readonly_fields = ("key_status",)
    inlines = [ModelOfferingInline]
    actions = ["list_gateway_models"]

    @admin.display(description="API key")
    def key_status(self, provider: Provider) -> str:
        return provider.key_status

    def save_related(self, request, form, formsets, change) -> None:
        """A new gateway from a preset, added with no models, gets the preset's.

        Only when it is added: a gateway whose models were all deleted since
        must stay without them.
        """
        super().save_related(request, form, formsets, change)
        provider = form.instance
        preset = PRESETS.get(provider.preset)
        if preset and not change and not provider.offerings.exists():
            ModelOffering.objects.bulk_create(
                ModelOffering(provider=provider, model_id=model_id) for model_id in preset.model_ids
            )

    @admin.action(description="List the models each selected gateway offers")
    def list_gateway_models(self, request, queryset) -> None:
        for provider in queryset:
            try:
                model_ids = async_to_sync(list_models)(provider.endpoint())
            except ProviderError as error:
                self.message_user(request, f"{provider}: {error.message}", messages.ERROR)
                continue
            shown = ", ".join(model_ids[:50]) or "none"
            more = f" (and {len(model_ids) - 50} more)" if len(model_ids) > 50 else ""
            self.message_user(request, f"{provider} offers: {shown}{more}", messages.INFO)
