from django.contrib import admin

from .models import UsageRecord


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "user",
        "provider",
        "model",
        "reasoning_effort",
        "outcome",
        "prompt_tokens",
        "completion_tokens",
        "reasoning_tokens",
        "cost",
        "duration_ms",
    )
    list_filter = ("outcome", "provider", "model", "reasoning_effort", "created_at")
    search_fields = ("user__username", "model", "provider")
    date_hierarchy = "created_at"
    list_select_related = ("user",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
