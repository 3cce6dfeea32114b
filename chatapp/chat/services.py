"""Every state change of a conversation that viewers must also hear about.

Views and consumers call these; nothing else writes messages or starts a
generation, so the rules (one generation at a time, what the model may be
sent) live in one place.
"""

import math
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, partial

from channels.db import database_sync_to_async
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from chatapp.accounts.middleware import SocketLogin
from chatapp.gateways.registry import ModelChoice, Route, find_model, model_choices
from chatapp.providers import ChatRequest
from chatapp.ratelimit import allow_send

from . import generation, recovery, relay
from .images import ImageRejected, normalize_image
from .models import (
    Attachment,
    Conversation,
    Effort,
    ImageBlob,
    Message,
    Role,
    Status,
    delete_image_if_unused,
    storable,
    without_images,
)

MAX_MESSAGE_CHARS = 100_000
TITLE_CHARS = 80


class SendRefused(Exception):
    """A send the user must be told about; the message says why, in plain words."""


CONVERSATION_GONE = "This conversation was deleted, in another tab perhaps. Start a new one."
LOGIN_ENDED = (
    "Your login ended or changed since this page opened. Reload the page (and sign in) to send."
)


def _check_sender(login: SocketLogin | None) -> None:
    """Refuse a socket's send once its login has ended, or while its person sends too fast.

    Checked in the send's own trip to a worker thread. Each check in a trip
    of its own waited for the event loop or a thread under a burst of sends:
    together about 0.2 s before each answer could start (benchmarks/relay.py).
    """
    if login is None:
        return
    _check_login(login)
    allowed, retry_after = allow_send(login.user_id)
    if not allowed:
        raise SendRefused(f"You are sending too fast. Try again in {math.ceil(retry_after)} s.")


def _check_login(login: SocketLogin) -> None:
    if not login.still_valid():
        raise SendRefused(LOGIN_ENDED)


@dataclass(frozen=True)
class SendRequest:
    text: str
    choice: ModelChoice
    reasoning_effort: str
    attachments: tuple[Attachment, ...] = ()


def parse_send(payload: dict, conversation: Conversation) -> SendRequest:
    """Validate a send frame from the browser, whatever it contains."""
    text = payload.get("message")
    if isinstance(text, str):
        text = storable(text)
    if not isinstance(text, str) or not text.strip():
        raise SendRefused("Write a message first.")
    if len(text) > MAX_MESSAGE_CHARS:
        raise SendRefused(f"The message is too long (over {MAX_MESSAGE_CHARS:,} characters).")
    choice = _model_choice(payload, conversation)
    effort = payload.get("reasoning_effort") or conversation.reasoning_effort
    if effort not in Effort.values:
        raise SendRefused("Reasoning effort must be Low, Medium or High.")
    attachments = _pending_attachments(payload.get("attachments"), conversation, choice)
    return SendRequest(
        text=text.strip(), choice=choice, reasoning_effort=effort, attachments=attachments
    )


def _model_choice(payload: dict, conversation: Conversation) -> ModelChoice:
    """The model a frame names (or the conversation's), if it is offered here."""
    model_key = payload.get("model") or conversation.model
    choice = find_model(model_key) if isinstance(model_key, str) else None
    if choice is None:
        raise SendRefused("That model is not offered here. Pick one from the list.")
    return choice


@cache
def _lockable_conversations() -> QuerySet:
    """Conversations to lock for a send, with what the send must know of them.

    Built once and cloned by each use, as a view's ``queryset`` is: resolving
    the three subqueries took 0.5 ms of CPU per send, as much as the rest of
    the query.
    """
    messages = Message.objects.filter(conversation=OuterRef("pk"))
    images = Attachment.objects.filter(conversation=OuterRef("pk"))
    return Conversation.objects.select_for_update().annotate(
        busy=Exists(messages.filter(status=Status.STREAMING)),
        has_messages=Exists(messages),
        has_images=Exists(images),
    )


def _lock_idle_conversation(conversation: Conversation) -> Conversation:
    """Lock the conversation for a new answer; refuse while one is being written.

    Call inside a transaction: the lock is what keeps two sends from both starting.
    """
    try:
        locked = _lockable_conversations().get(pk=conversation.pk)
    except Conversation.DoesNotExist:
        raise SendRefused(CONVERSATION_GONE) from None
    if locked.busy:
        raise SendRefused(
            "A reply is still being written in this conversation. "
            "Wait for it to finish or stop it first."
        )
    return locked


def _pending_attachments(
    ids: object, conversation: Conversation, choice: ModelChoice
) -> tuple[Attachment, ...]:
    """The member's own, not yet sent images named in a send frame."""
    if ids in (None, "", []):
        return ()
    ids = [ids] if isinstance(ids, str) else ids
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise SendRefused("The attached images could not be read. Attach them again.")
    # One spelling per id: the database matches "ABC…" to "abc…", the lookup
    # below would not.
    try:
        ids = [str(uuid.UUID(i)) for i in ids]
    except ValueError:
        raise SendRefused("An attached image was not found. Attach it again.") from None
    if len(ids) > settings.CHAT_MAX_IMAGES_PER_MESSAGE:
        raise SendRefused(
            f"Attach at most {settings.CHAT_MAX_IMAGES_PER_MESSAGE} images to one message."
        )
    if not choice.takes_images:
        raise SendRefused(
            f"{choice.label} cannot look at images. Pick a vision model such as o4-mini, "
            "or remove the images."
        )
    found = {
        str(a.public_id): a
        for a in Attachment.objects.filter(
            public_id__in=ids,
            conversation=conversation,
            owner=conversation.owner,
            message__isnull=True,
        )
    }
    if len(found) != len(set(ids)):
        raise SendRefused("An attached image was not found. Attach it again.")
    return tuple(found[i] for i in dict.fromkeys(ids))


def create_conversation(user) -> Conversation:
    """A new conversation, or the user's existing empty one, so "New" never piles up blanks."""
    empty = user.conversations.filter(messages__isnull=True).first()
    if empty:
        return empty
    return Conversation.objects.create(owner=user, model=model_choices()[0].key)


@dataclass(frozen=True)
class Turn:
    conversation: Conversation
    question: Message
    reply: Message
    choice: ModelChoice
    request: ChatRequest
    context_tokens: int


def _start_turn(
    conversation: Conversation, payload: dict, channel: str, login: SocketLogin | None
) -> Turn:
    """Everything a send needs from the database, in one trip to a worker thread.

    When many people send at once, every extra trip waits behind theirs. The
    turn's ``conversation`` is the row as locked: fresher than the caller's
    copy (a title, a system prompt saved in another tab).
    """
    _check_sender(login)
    with transaction.atomic():
        locked = _lock_idle_conversation(conversation)
        # The row as locked: the model and effort a frame leaves out are the
        # ones saved last, whichever tab saved them.
        send = parse_send(payload, locked)
        locked.model = send.choice.key
        locked.reasoning_effort = send.reasoning_effort
        if not locked.title:
            locked.title = _title_from(send.text)
        locked.save(update_fields=["model", "reasoning_effort", "title", "updated_at"])
        user_message = Message.objects.create(
            conversation=locked, role=Role.USER, content=send.text
        )
        if send.attachments:
            Attachment.objects.filter(pk__in=[a.pk for a in send.attachments]).update(
                message=user_message
            )
        reply = Message.objects.create(
            conversation=locked,
            role=Role.ASSISTANT,
            in_reply_to=user_message,
            status=Status.STREAMING,
            model=send.choice.key,
            reasoning_effort=send.reasoning_effort if send.choice.takes_effort else "",
            generation_channel=channel,
            heartbeat_at=timezone.now(),
        )
    with _given_up_on_failure(reply):
        # Rendered in async code next: the question ends the history, its thumbnails loaded.
        if locked.has_messages or send.attachments:
            history = locked.messages_before(reply, with_images=locked.has_images)
        else:
            # A new chat's first question is the whole history: nothing to read back.
            history = without_images([user_message])
        return Turn(
            conversation=locked,
            question=history[-1],
            reply=reply,
            choice=send.choice,
            # Reads the history's images from storage, which can fail.
            request=generation.build_request(locked, reply, history),
            context_tokens=locked.context_estimate(send.choice.family, history),
        )


@contextmanager
def _given_up_on_failure(reply: Message):
    """For a send's steps after its answer is saved as streaming, before it is launched.

    Nothing would ever write such an answer: it stayed "being written", and
    the conversation refused every send, until recovery came round.
    """
    try:
        yield
    except Exception:
        _give_up(reply)
        raise


def _give_up(reply: Message) -> None:
    Message.objects.filter(pk=reply.pk, status=Status.STREAMING).update(
        status=Status.ERROR,
        error=generation.INTERNAL_ERROR,
        finished_at=timezone.now(),
        generation_channel="",
    )


async def _rendered(reply: Message, template: str, context: dict) -> str:
    """The new answer's HTML for its viewers; the answer is given up if that fails."""
    try:
        return render_to_string(template, context)
    except Exception:
        await _off_the_shared_thread(_give_up)(reply)
        raise


def _off_the_shared_thread(function):
    """Run a send's database work in a thread of its own, with its own connection.

    The ORM's async calls all share one thread; behind it, a send waited for
    every save and every other send in the process. A send is one
    self-contained transaction, so it can run beside them.
    """
    return database_sync_to_async(function, thread_sensitive=False)


def _title_from(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1] + "…"


async def _start_generating(
    conversation: Conversation,
    html: str,
    reply: Message,
    request: ChatRequest,
    routes: tuple[Route, ...],
) -> None:
    """Start writing the new answer, and show it to every viewer meanwhile.

    The gateway's first words are a connection and a request away. Started
    first, they arrive while viewers are told: a Redis count and a publish,
    which under a burst of sends took 40 to 90 ms (benchmarks/relay.py).

    Counted once the answer is saved: a socket elsewhere that connects later
    finds it streaming and asks for a snapshot, which the generation hears.
    """
    group = conversation.group_name
    writing = generation.launch(conversation, reply, request, routes)
    elsewhere = True  # should the count fail, relay to every process
    try:
        elsewhere = await relay.watched_elsewhere(group)
        event = {"type": "chat.html", "html": html, "message_id": reply.pk}
        await relay.publish(group, event, elsewhere=elsewhere or writing.watched_elsewhere)
    finally:
        writing.mark_announced(watched_elsewhere=elsewhere)


async def send_message(
    conversation: Conversation, payload: dict, *, login: SocketLogin | None = None
) -> Message:
    """Save the user's message and an empty reply, tell every viewer, start generating.

    A socket passes its ``login``: checked again first, and the send counted
    against its person's rate limit.
    """
    channel = await generation.requests_channel()
    turn = await _off_the_shared_thread(_start_turn)(conversation, payload, channel, login)
    html = await _rendered(
        turn.reply,
        "chat/conversation.html#new_turn",
        {
            "chat_messages": [turn.question, turn.reply],
            "conversation": turn.conversation,
            "context_tokens": turn.context_tokens,
            "selected_model": turn.choice,
        },
    )
    await _start_generating(turn.conversation, html, turn.reply, turn.request, turn.choice.routes)
    return turn.reply


def _streaming_message(conversation: Conversation, login: SocketLogin | None) -> Message | None:
    if login is not None:
        _check_login(login)
    return (
        conversation.messages.filter(status=Status.STREAMING).select_related("conversation").last()
    )


async def stop_generation(conversation: Conversation, *, login: SocketLogin | None = None) -> bool:
    """Stop the reply being written in this conversation, keeping what it wrote so far.

    A socket passes its ``login``: a tab left open after its person logged out
    elsewhere must not act for them.
    """
    streaming = await database_sync_to_async(_streaming_message)(conversation, login)
    if streaming is None:
        return False
    if not await generation.request_stop(streaming):
        # Its process died: recovery's verdict now, not once its heartbeat
        # has been missed for a while.
        await recovery.recover(streaming)
    return True


@dataclass(frozen=True)
class Regeneration:
    reply: Message
    request: ChatRequest
    routes: tuple[Route, ...]


def _start_regeneration(
    conversation: Conversation, payload: dict, channel: str, login: SocketLogin | None
) -> Regeneration:
    _check_sender(login)
    with transaction.atomic():
        locked = _lock_idle_conversation(conversation)
        choice = _model_choice(payload, locked)
        last = locked.messages.filter(role=Role.ASSISTANT).last()
        if last is None or str(last.pk) != str(payload.get("message_id")):
            raise SendRefused("Only the last answer can be regenerated.")
        reply = Message.objects.create(
            conversation=locked,
            role=Role.ASSISTANT,
            in_reply_to_id=last.in_reply_to_id,
            status=Status.STREAMING,
            model=choice.key,
            reasoning_effort=locked.reasoning_effort if choice.takes_effort else "",
            generation_channel=channel,
            heartbeat_at=timezone.now(),
        )
        locked.save(update_fields=["updated_at"])
    with _given_up_on_failure(reply):
        reply.version_number, reply.version_count = reply.version_position()
        return Regeneration(
            reply=reply,
            request=generation.build_request(
                locked, reply, locked.messages_before(reply, with_images=locked.has_images)
            ),
            routes=choice.routes,
        )


async def regenerate(
    conversation: Conversation, payload: dict, *, login: SocketLogin | None = None
) -> Message:
    """Answer the last question again; the old answer stays as an earlier version."""
    channel = await generation.requests_channel()
    turn = await _off_the_shared_thread(_start_regeneration)(conversation, payload, channel, login)
    html = await _rendered(
        turn.reply,
        "chat/conversation.html#message",
        {"message": turn.reply, "oob": True, "new_version": True},
    )
    await _start_generating(conversation, html, turn.reply, turn.request, turn.routes)
    return turn.reply


def attach_images(conversation: Conversation, uploads: list) -> list[Attachment]:
    """Validate, clean and store uploaded images for the conversation's next message.

    All or none: a request whose third image is refused stored the first two,
    unseen by a page that was told the upload failed, and they counted
    against the limit. Raises ImageRejected with a sentence for the member.
    Identical bytes are stored once and shared.
    """
    if not uploads:
        raise ImageRejected("Choose an image to attach.")
    limit = settings.CHAT_MAX_IMAGES_PER_MESSAGE
    too_many = ImageRejected(f"Attach at most {limit} images to one message.")
    # Before the costly decoding: a tray already full refuses at once.
    if conversation.attachments.filter(message__isnull=True).count() + len(uploads) > limit:
        raise too_many
    # Stored before the lock, which sends to the conversation wait on too.
    images = [(upload.name or "", _clean_image(upload)) for upload in uploads]
    blobs = [(name, *_stored_blob(image)) for name, image in images]
    try:
        with transaction.atomic():
            # Locked: uploads sent side by side (one request per file) must not
            # pass the limit together.
            Conversation.objects.select_for_update().filter(pk=conversation.pk).exists()
            if conversation.attachments.filter(message__isnull=True).count() + len(blobs) > limit:
                raise too_many
            return [
                Attachment.objects.create(
                    owner=conversation.owner,
                    conversation=conversation,
                    blob=blob,
                    original_name=name[:255],
                )
                for name, blob, _ in blobs
            ]
    except ImageRejected:
        # What this request stored, nothing would ever use or delete. Not what
        # it found stored: another upload's, which may be about to attach it.
        for _, blob, created in blobs:
            if created:
                transaction.on_commit(partial(delete_image_if_unused, blob.pk))
        raise


def _clean_image(upload):
    # Read one byte past the limit, so an oversized upload is refused unread.
    data = upload.read(settings.CHAT_MAX_IMAGE_BYTES + 1)
    return normalize_image(
        data,
        filename=upload.name or "image",
        max_bytes=settings.CHAT_MAX_IMAGE_BYTES,
        max_pixels=settings.CHAT_MAX_IMAGE_PIXELS,
    )


def _stored_blob(image) -> tuple[ImageBlob, bool]:
    """The image's stored bytes, and whether this call stored them."""
    blob = ImageBlob.objects.filter(sha256=image.sha256).first()
    if blob is not None:
        return blob, False
    blob = ImageBlob(
        sha256=image.sha256,
        content_type=image.content_type,
        width=image.width,
        height=image.height,
        size=len(image.data),
    )
    blob.file.save(f"{image.sha256}.{image.format}", ContentFile(image.data), save=False)
    try:
        with transaction.atomic():
            blob.save()
    except IntegrityError:  # the same image, stored a moment ago by someone else
        blob.file.delete(save=False)
        return ImageBlob.objects.get(sha256=image.sha256), False
    return blob, True


def delete_conversation(conversation: Conversation) -> None:
    """Delete a conversation with its messages and images (files go when no one else uses them)."""
    if conversation.messages.filter(status=Status.STREAMING).exists():
        raise SendRefused("An answer is still being written. Stop it before deleting.")
    conversation.delete()
