import csv

from django.contrib import admin
from django.db.models import Count, Sum
from django.http import HttpResponse

from .models import UsageRecord

CSV_FIELDS = (
    "created_at",
    "user__username",
    "provider",
    "model",
    "reasoning_effort",
    "outcome",
    "prompt_tokens",
    "cached_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "estimated",
    "cost",
    "time_to_first_token_ms",
    "duration_ms",
)


class BlankShownListFilter(admin.AllValuesFieldListFilter):
    """A field's values to filter by, a blank one shown as the list shows it.

    Answers from a model that takes no reasoning effort have a blank effort,
    which Django offers as a link with no text: nothing to see or click.
    """

    def choices(self, changelist):
        for choice in super().choices(changelist):
            display = str(choice["display"])
            # Blank, or blank then its count (" (3)") when counts are shown.
            if display == "" or display.startswith(" ("):
                choice["display"] = self.empty_value_display + display
            yield choice


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin):
    """Usage review: filter by member, model, outcome and date; totals follow the filters."""

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
        # Our count where the gateway reported none: it need not match the bill.
        "estimated",
        "cost",
        "duration_ms",
    )
    list_filter = (
        "outcome",
        "estimated",
        "provider",
        "model",
        ("reasoning_effort", BlankShownListFilter),
        "user",
        "created_at",
    )
    search_fields = ("user__username", "model", "provider")
    date_hierarchy = "created_at"
    list_select_related = ("user",)
    actions = ["export_csv"]
    change_list_template = "admin/usage/usagerecord/change_list.html"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            records = changelist.queryset
            response.context_data["totals"] = records.aggregate(
                completions=Count("pk"),
                prompt_tokens=Sum("prompt_tokens"),
                completion_tokens=Sum("completion_tokens"),
                reasoning_tokens=Sum("reasoning_tokens"),
                cost=Sum("cost"),
            )
            response.context_data["by_member"] = (
                records.values("user__username")
                .annotate(completions=Count("pk"), cost=Sum("cost"))
                .order_by("-cost")[:20]
            )
            response.context_data["by_model"] = (
                records.values("model")
                .annotate(completions=Count("pk"), cost=Sum("cost"))
                .order_by("-cost")[:20]
            )
        return response

    @admin.action(description="Export the selected records as CSV")
    def export_csv(self, request, queryset):
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="usage.csv"'
        writer = csv.writer(response)
        writer.writerow(CSV_FIELDS)
        for row in queryset.order_by("created_at").values_list(*CSV_FIELDS):
            writer.writerow(row)
        return response
