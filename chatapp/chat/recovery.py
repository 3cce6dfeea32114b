"""Answers left at "streaming" by a process that died become "interrupted".

A generating task saves a heartbeat at least every CHAT_HEARTBEAT_SECONDS;
an answer whose heartbeat is three beats old has lost its process. With a
single process (no REDIS_URL) every answer still streaming when the process
starts is an orphan, so those are recovered at once.
"""

import asyncio
import logging
from dataclasses import replace
from datetime import timedelta

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from chatapp.gateways.registry import find_model
from chatapp.providers import Usage
from chatapp.providers.parsing import IMAGE_ESTIMATE_TOKENS, estimate_tokens
from chatapp.usage.models import Outcome, UsageRecord

from . import generation, relay
from .markdown import render_markdown
from .models import Attachment, Message, Status

logger = logging.getLogger(__name__)

STALE_BEATS = 3
PROCESS_STARTED = timezone.now()
ABANDONED_AFTER = timedelta(days=1)


async def interrupt_orphans(*, started_before_this_process: bool = False) -> int:
    """Mark orphaned streaming answers interrupted, keep their text, tell their viewers."""
    # Heartbeats ride on the batched saves, so are never closer than their pace.
    beat = max(settings.CHAT_HEARTBEAT_SECONDS, settings.CHAT_PERSIST_SECONDS)
    cutoff = timezone.now() - timedelta(seconds=STALE_BEATS * beat)
    orphans = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
    if started_before_this_process:
        orphans |= Q(created_at__lt=PROCESS_STARTED)
    ours = {running.message.pk for running in generation.all_running()}
    recovered = 0
    async for message in Message.objects.filter(orphans, status=Status.STREAMING).select_related(
        "conversation"
    ):
        if message.pk in ours:
            continue
        try:
            if await recover(message):
                recovered += 1
        except DatabaseError:
            raise  # the database is away: the next round tries them all again
        except Exception:
            # One answer that cannot be recovered must not keep the others streaming.
            logger.exception("could not mark an orphaned answer interrupted")
    if recovered:
        logger.warning("marked %d orphaned answers interrupted", recovered)
    return recovered


async def recover(message: Message) -> bool:
    """Mark one orphaned answer (its conversation loaded) interrupted and tell its viewers.

    False if its own process finished it meanwhile.
    """
    # A thread of its own: markdown and the request's rebuilding stay off the
    # shared database thread every socket reads through.
    if not await database_sync_to_async(_interrupt, thread_sensitive=False)(message):
        return False
    html = render_to_string("chat/conversation.html#message", {"message": message, "oob": True})
    await relay.publish(
        message.conversation.group_name,
        {"type": "chat.finished", "message_id": message.pk, "html": html},
    )
    return True


def _interrupt(message: Message) -> bool:
    """Mark ``message`` interrupted with its usage, unless its own process finished it.

    The usage is estimated as a stopped answer's is: the whole request was
    sent and billed, and the answer as far as it got. One transaction, so an
    interrupted answer never lacks its usage row.
    """
    message.status = Status.INTERRUPTED
    message.rendered_html = render_markdown(message.content) if message.content else ""
    message.finished_at = timezone.now()
    message.generation_channel = ""
    with transaction.atomic():
        # Only if still streaming: its own process may have finished it meanwhile.
        updated = Message.objects.filter(pk=message.pk, status=Status.STREAMING).update(
            status=message.status,
            rendered_html=message.rendered_html,
            finished_at=message.finished_at,
            generation_channel="",
        )
        if updated:
            _usage_of_interrupted(message).save()
    if updated:
        # Shown with its pager: a regenerated answer is one of several versions.
        message.version_number, message.version_count = message.version_position()
    return bool(updated)


def _usage_of_interrupted(message: Message) -> UsageRecord:
    conversation = message.conversation
    ran_for = (message.heartbeat_at or message.created_at) - message.created_at
    choice = find_model(message.model)
    if choice is None:  # no longer offered: no request shape to count, no prices
        route = None
        usage = Usage(
            completion_tokens=estimate_tokens(message.reasoning + message.content),
            reasoning_tokens=estimate_tokens(message.reasoning),
            estimated=True,
        )
    else:
        # The gateway the streaming saves last named; the first, if none was saved.
        route = next(
            (route for route in choice.routes if route.endpoint.name == message.provider),
            choice.routes[0],
        )
        # Text only: an image counts as a typical one, so its file need not be read.
        earlier = conversation.messages_before(message, with_images=False)
        request = generation.build_request(conversation, message, earlier)
        usage = generation.estimated_usage(route, request, message.reasoning, message.content)
        # A model without vision is sent none of them (the family's shaping drops them).
        if route.family.capabilities.vision:
            images = Attachment.objects.filter(message__in=earlier).count()
            usage = replace(
                usage, prompt_tokens=usage.prompt_tokens + images * IMAGE_ESTIMATE_TOKENS
            )
    return generation.usage_record(
        conversation,
        message,
        route,
        usage,
        Outcome.INTERRUPTED,
        time_to_first_token_ms=None,
        duration_ms=max(round(ran_for.total_seconds() * 1000), 0),
    )


async def delete_abandoned_attachments() -> int:
    """Images attached to a message that was never sent, after a day."""
    cutoff = timezone.now() - ABANDONED_AFTER
    deleted, _ = await Attachment.objects.filter(
        message__isnull=True, created_at__lt=cutoff
    ).adelete()
    return deleted


async def recover_forever() -> None:
    single_process = not settings.REDIS_URL
    while True:
        try:
            await interrupt_orphans(started_before_this_process=single_process)
            await delete_abandoned_attachments()
        except Exception:
            # Never the end of recovery for this process: the next round tries again.
            logger.exception("could not recover orphaned answers")
        single_process = False
        await asyncio.sleep(settings.CHAT_HEARTBEAT_SECONDS * 2)


class RecoveryOnStart:
    """ASGI wrapper: start recovery with the server's event loop (daphne has no lifespan)."""

    def __init__(self, app):
        self.app = app
        self.task: asyncio.Task | None = None

    async def __call__(self, scope, receive, send):
        if self.task is None and settings.CHAT_RECOVERY:
            self.task = asyncio.get_running_loop().create_task(recover_forever())
        return await self.app(scope, receive, send)
