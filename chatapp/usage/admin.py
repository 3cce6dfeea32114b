import csv

from django.contrib import admin, messages
from django.contrib.admin.views.main import ERROR_FLAG
from django.db.models import Count, Sum
from django.http import HttpResponse, HttpResponseRedirect

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
# Rows one export may hold: it is built in memory (about 150 bytes a row).
EXPORT_LIMIT = 100_000


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

    def has_delete_permission(self, request, obj=None) -> bool:
        # What was billed stays counted: a deleted row left every total short.
        return False

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        if isinstance(response, HttpResponseRedirect) and response.url == (
            f"{request.path}?{ERROR_FLAG}=1"
        ):
            # Django drops filters it cannot read and shows every record, whose
            # totals then passed for those of the dates asked for.
            self.message_user(
                request,
                "The filters in the address could not be read (a date that does not "
                "exist?), so none is applied: these are all the records.",
                messages.ERROR,
            )
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            records = changelist.queryset
            response.context_data["totals"] = records.aggregate(
                completions=Count("pk"),
                prompt_tokens=Sum("prompt_tokens"),
                cached_tokens=Sum("cached_tokens"),
                completion_tokens=Sum("completion_tokens"),
                reasoning_tokens=Sum("reasoning_tokens"),
                cost=Sum("cost"),
            )
            response.context_data["by_member"] = _costliest(
                records, "user__username", "other members"
            )
            response.context_data["by_model"] = _costliest(records, "model", "other models")
        return response

    @admin.action(description="Export the selected records as CSV")
    def export_csv(self, request, queryset):
        selected = queryset.count()
        if selected > EXPORT_LIMIT:
            self.message_user(
                request,
                f"{selected} records selected: an export holds at most {EXPORT_LIMIT}. "
                "Narrow the dates or the other filters, and export each part.",
                messages.ERROR,
            )
            return None
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="usage.csv"'
        writer = csv.writer(response)
        writer.writerow(CSV_FIELDS)
        rows = queryset.order_by("created_at", "pk").values_list(*CSV_FIELDS)
        for row in rows.iterator(chunk_size=2000):
            writer.writerow([_as_text(value) for value in row])
        return response


# What a spreadsheet takes for the start of a formula (OWASP, "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _as_text(value):
    """A text cell a spreadsheet shows as written: model ids can come from a gateway."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


# Rows of a cost breakdown; the rest are summed into one last row.
BREAKDOWN_ROWS = 20


def _costliest(records, field: str, others: str) -> list[dict]:
    """Completions and cost per value of ``field``, costliest first.

    Past BREAKDOWN_ROWS the rest share one row ("3 other members"), so the
    column still adds up to the totals above it.
    """
    rows = list(
        records.values(field).annotate(completions=Count("pk"), cost=Sum("cost")).order_by("-cost")
    )
    shown, rest = rows[:BREAKDOWN_ROWS], rows[BREAKDOWN_ROWS:]
    if rest:
        shown.append(
            {
                field: f"{len(rest)} {others}",
                "completions": sum(row["completions"] for row in rest),
                "cost": sum(row["cost"] or 0 for row in rest),
            }
        )
    return shown
