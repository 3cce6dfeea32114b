from decimal import ROUND_HALF_EVEN, Decimal

from django.conf import settings
from django.db import models

# The cost column's places: a row holds, shows, exports and sums what it stores.
COST_PLACES = Decimal("0.000001")


class Outcome(models.TextChoices):
    COMPLETE = "complete", "Complete"
    STOPPED = "stopped", "Stopped"
    ERROR = "error", "Error"
    INTERRUPTED = "interrupted", "Interrupted"


class UsageRecord(models.Model):
    """One completion's tokens, cost and timings, kept even after its conversation is deleted."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="usage"
    )
    conversation = models.ForeignKey(
        "chat.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.ForeignKey(
        "chat.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    provider = models.CharField(max_length=100)
    model = models.CharField(max_length=200)
    reasoning_effort = models.CharField(max_length=10, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    cached_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    reasoning_tokens = models.PositiveIntegerField(default=0)
    estimated = models.BooleanField(default=False, help_text="The gateway sent no usage.")
    cost = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal(0))
    time_to_first_token_ms = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.model} {self.outcome} ({self.prompt_tokens}+{self.completion_tokens})"

    def save(self, *args, **kwargs):
        # Rounded here, not by the database: SQLite kept every digit of a price
        # times a token count and summed those, while each row showed six places.
        self.cost = Decimal(self.cost).quantize(COST_PLACES, rounding=ROUND_HALF_EVEN)
        super().save(*args, **kwargs)
