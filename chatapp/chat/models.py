import uuid

from django.conf import settings
from django.db import models
from django.shortcuts import get_object_or_404
from django.urls import reverse


class Effort(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class Conversation(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations"
    )
    title = models.CharField(max_length=200, blank=True)
    model = models.CharField(max_length=200)
    reasoning_effort = models.CharField(
        max_length=10, choices=Effort.choices, default=Effort.MEDIUM
    )
    system_prompt = models.TextField(
        blank=True, help_text="Instructions the model sees before the conversation."
    )
    max_output_tokens = models.PositiveIntegerField(
        "Maximum output tokens",
        null=True,
        blank=True,
        help_text="Includes reasoning tokens: too low a limit can end in an empty answer.",
    )
    json_output = models.BooleanField(
        "JSON output",
        default=False,
        help_text="Ask for a JSON object, where the model supports it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["owner", "-updated_at"])]

    def __str__(self) -> str:
        return self.display_title

    def get_absolute_url(self) -> str:
        return reverse("conversation", kwargs={"public_id": self.public_id})

    @property
    def display_title(self) -> str:
        return self.title or "New conversation"

    @property
    def group_name(self) -> str:
        """The channel-layer group every viewer of this conversation joins."""
        return f"conv.{self.public_id.hex}"


def get_conversation_for_user(user, public_id) -> Conversation:
    """The conversation if ``user`` may see it; 404 otherwise, so ids leak nothing."""
    return get_object_or_404(Conversation, public_id=public_id, owner=user)


class Role(models.TextChoices):
    USER = "user", "You"
    ASSISTANT = "assistant", "Assistant"


class Status(models.TextChoices):
    STREAMING = "streaming", "Streaming"
    COMPLETE = "complete", "Complete"
    STOPPED = "stopped", "Stopped"
    ERROR = "error", "Error"
    INTERRUPTED = "interrupted", "Interrupted"


class Message(models.Model):
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    content = models.TextField(blank=True)
    reasoning = models.TextField(blank=True)
    # The sanitized markdown render, made once when the answer is final.
    rendered_html = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.COMPLETE)
    error = models.TextField(blank=True)
    model = models.CharField(max_length=200, blank=True)
    reasoning_effort = models.CharField(max_length=10, blank=True)
    provider = models.CharField(max_length=100, blank=True)
    reasoning_tokens = models.PositiveIntegerField(null=True, blank=True)
    reasoning_seconds = models.FloatField(null=True, blank=True)
    # Tool calls the model made, assembled from streamed fragments: [{id, name, arguments}].
    tool_calls = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["conversation", "created_at"]),
            models.Index(
                fields=["status"],
                condition=models.Q(status="streaming"),
                name="chat_message_streaming",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role} message {self.pk}"

    @property
    def dom_id(self) -> str:
        return f"message-{self.pk}"

    @property
    def is_streaming(self) -> bool:
        return self.status == Status.STREAMING
