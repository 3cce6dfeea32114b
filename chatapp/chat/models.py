import base64
import uuid
from functools import partial
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import connection, models, transaction
from django.db.models.functions import Length
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property

from .images import image_tokens

PAGE_SIZE = 50


def storable(text: str) -> str:
    """``text`` without NUL characters, which PostgreSQL's text and jsonb refuse.

    One in a member's message or a gateway's stream failed every save of it,
    and the batched save with it, which holds every streaming answer of the
    process. Nothing readable is lost.
    """
    return text.replace("\x00", "")


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

    def page_of_messages(self, before: int | None = None) -> tuple[list["Message"], bool]:
        """The newest PAGE_SIZE messages (older than ``before``) the reader sees, oldest first.

        Regenerated answers show only their newest version, each knowing how many
        versions there are. A fixed number of queries, however long the conversation.
        The earlier versions are left out by the query itself: left out after it,
        a page of them came out empty, with more said to be before it and no
        message to ask for those before.
        """
        newer_version = Message.objects.filter(
            in_reply_to=models.OuterRef("in_reply_to"),
            role=Role.ASSISTANT,
            pk__gt=models.OuterRef("pk"),
        )
        messages = self.messages.exclude(models.Exists(newer_version), role=Role.ASSISTANT)
        if before is not None:
            messages = messages.filter(pk__lt=before)
        newest_first = list(
            messages.prefetch_related("attachments__blob").order_by("-pk")[: PAGE_SIZE + 1]
        )
        has_older = len(newest_first) > PAGE_SIZE
        page = newest_first[:PAGE_SIZE][::-1]
        # By the answers' questions: a page may begin with answers to a question
        # that sits on the page before.
        questions = {m.in_reply_to_id for m in page if m.in_reply_to_id is not None}
        versions = {
            row["in_reply_to"]: row["count"]
            for row in Message.objects.filter(in_reply_to__in=questions, role=Role.ASSISTANT)
            .values("in_reply_to")
            .annotate(count=models.Count("pk"))
        }
        for message in page:
            message.version_number = message.version_count = versions.get(message.in_reply_to_id, 1)
        return page, has_older

    def messages_before(self, message: "Message", *, with_images: bool = True) -> list["Message"]:
        """Every earlier message, oldest first, with its images: what a request is built from.

        A caller that knows the conversation has no images says so, which
        spares a query on every send of a text-only chat.
        """
        earlier = self.messages.filter(pk__lt=message.pk).order_by("pk")
        if with_images:
            return list(earlier.prefetch_related("attachments__blob"))
        return without_images(list(earlier))

    def context_estimate(self, family, history: list["Message"] | None = None) -> int:
        """Roughly how many tokens the next request's history takes, images included.

        Four characters a token for text; OpenAI's image formula for pictures.
        Shown beside the context window so people see when a chat grows too long.
        A send passes the ``history`` it has just loaded (``messages_before``
        its empty reply), which spares two queries.
        """
        if history is None:
            characters = self.messages.aggregate(total=models.Sum(Length("content")))["total"]
            sizes = Attachment.objects.filter(conversation=self, message__isnull=False).values_list(
                "blob__width", "blob__height"
            )
        else:
            characters = sum(len(message.content) for message in history)
            sizes = [
                (attachment.blob.width, attachment.blob.height)
                for message in history
                for attachment in message.attachments.all()
            ]
        characters = (characters or 0) + len(self.system_prompt)
        pictures = sum(
            image_tokens(width, height, method=family.image_tokens) for width, height in sizes
        )
        return (characters + 3) // 4 + pictures

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
    # An answer's user message; regenerating adds another answer to the same one,
    # and the newest is the version the conversation continues from.
    in_reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
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
    # While streaming: where the generating task listens (stop, snapshot requests,
    # from any process) and when it last proved alive.
    generation_channel = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

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

    @classmethod
    def save_streaming_text(cls, texts: list[tuple[int, str, str, str]]) -> None:
        """Save ``(pk, content, reasoning, provider)`` of answers being written, and their
        heartbeat.

        One statement run for every row: Django's bulk_update builds a CASE
        with a branch per row for each field, which for 200 streaming answers
        cost 160 ms of CPU every second; this costs about ten. An answer
        finished meanwhile is left alone: its final save wins.
        """
        quote = connection.ops.quote_name
        table = quote(cls._meta.db_table)
        content, reasoning, provider, heartbeat_at, pk, status = (
            quote(cls._meta.get_field(name).column)
            for name in ("content", "reasoning", "provider", "heartbeat_at", "id", "status")
        )
        # Only quoted names from the model's own metadata go into the text; values are parameters.
        statement = (
            f"UPDATE {table} SET {content} = %s, {reasoning} = %s, {provider} = %s, "  # noqa: S608
            f"{heartbeat_at} = %s WHERE {pk} = %s AND {status} = %s"
        )
        beat = connection.ops.adapt_datetimefield_value(timezone.now())
        streaming = Status.STREAMING.value
        rows = [
            (text, thought, gateway, beat, key, streaming) for key, text, thought, gateway in texts
        ]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(statement, rows)

    # Set by whoever loads the message for display (see page_of_messages).
    version_number = 1
    version_count = 1

    def versions(self) -> list[int]:
        """Primary keys of every answer to the same question, oldest first."""
        if self.role != Role.ASSISTANT or self.in_reply_to_id is None:
            return [self.pk]
        return list(
            Message.objects.filter(in_reply_to_id=self.in_reply_to_id, role=Role.ASSISTANT)
            .order_by("pk")
            .values_list("pk", flat=True)
        )

    def version_position(self) -> tuple[int, int]:
        versions = self.versions()
        return versions.index(self.pk) + 1, len(versions)

    @property
    def is_streaming(self) -> bool:
        return self.status == Status.STREAMING


class PrivateStorage(FileSystemStorage):
    """MEDIA_ROOT/private, with no URL at all: only our permission-checking view serves it.

    Both properties are read from settings when first used (and again when a
    test changes MEDIA_ROOT), as Django's own storage does.
    """

    @cached_property
    def base_location(self) -> str:
        return str(Path(settings.MEDIA_ROOT) / "private")

    @cached_property
    def base_url(self) -> None:
        return None


_PRIVATE_STORAGE = PrivateStorage()


def private_storage() -> PrivateStorage:
    return _PRIVATE_STORAGE


def _blob_name(_instance, _filename: str) -> str:
    # Unguessable and unrelated to the content, the owner or the original name.
    return f"images/{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}"


class ImageBlob(models.Model):
    """Image bytes, stored once however many messages attach them (keyed by SHA-256)."""

    sha256 = models.CharField(max_length=64, unique=True)
    file = models.FileField(storage=private_storage, upload_to=_blob_name)
    content_type = models.CharField(max_length=50)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.content_type} {self.width}x{self.height}"

    def data_url(self) -> str:
        """The bytes as a base64 data URL, the form gateways accept in image_url parts."""
        with self.file.open("rb") as stored:
            encoded = base64.b64encode(stored.read()).decode("ascii")
        return f"data:{self.content_type};base64,{encoded}"


class Attachment(models.Model):
    """An image a member attached; pending (no message) until the message is sent."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attachments"
    )
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="attachments"
    )
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    blob = models.ForeignKey(ImageBlob, on_delete=models.PROTECT, related_name="attachments")
    original_name = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"attachment {self.public_id}"

    def get_absolute_url(self) -> str:
        return reverse("attachment", kwargs={"public_id": self.public_id})


def without_images(messages: list[Message]) -> list[Message]:
    """Give messages of a chat known to have no images their attachments, none, without a query.

    Set as Django's prefetch leaves them: an evaluated queryset in the
    prefetch cache. Prefetching an empty queryset does the same through its
    general machinery, at 0.3 ms of CPU per call, on every send of a
    text-only chat while other answers wait to be relayed; and an unevaluated
    ``none()`` costs 0.15 ms in the SQL compiler each time it is read.
    """
    for message in messages:
        attachments = Attachment.objects.none()
        attachments._result_cache, attachments._prefetch_done = [], True
        message.__dict__.setdefault("_prefetched_objects_cache", {})["attachments"] = attachments
    return messages


def get_attachment_for_user(user, public_id) -> Attachment:
    """The attachment if ``user`` may see its conversation; 404 otherwise."""
    return get_object_or_404(
        Attachment.objects.select_related("blob"),
        public_id=public_id,
        conversation__owner=user,
    )


@receiver(post_delete, sender=Attachment)
def _delete_unused_image(sender, instance: Attachment, **kwargs) -> None:
    """Remove the stored bytes once the last attachment using them is gone."""
    transaction.on_commit(partial(delete_image_if_unused, instance.blob_id))


def delete_image_if_unused(blob_id: int) -> None:
    """Delete a stored image, row and file, unless an attachment uses it by now.

    Checked as it is deleted, not before: another upload of the same bytes
    may have attached it meanwhile.
    """
    blob = ImageBlob.objects.filter(pk=blob_id, attachments__isnull=True).first()
    if blob is not None:
        stored = blob.file
        blob.delete()
        stored.delete(save=False)
