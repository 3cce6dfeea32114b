"""The websocket: thin. Authenticate, parse a frame, call a service, relay group events."""

import copy
import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.http import Http404
from django.template.loader import render_to_string
from django.utils.html import escape

from . import generation, services
from .models import Conversation, Message, Status, get_conversation_for_user

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 256 * 1024


class ConversationConsumer(AsyncWebsocketConsumer):
    conversation: Conversation | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        try:
            self.conversation = await database_sync_to_async(get_conversation_for_user)(
                user, self.scope["url_route"]["kwargs"]["public_id"]
            )
        except Http404:
            # Same answer whether it does not exist or is someone else's.
            await self.close(code=4404)
            return
        # Characters of a streaming message this socket already has, so a delta
        # that overlaps the snapshot sent on connect is not shown twice.
        self.seen: dict[int, tuple[int, int]] = {}
        await self.channel_layer.group_add(self.conversation.group_name, self.channel_name)
        await self.accept()
        await self._send_streaming_snapshot()

    async def disconnect(self, code: int) -> None:
        if self.conversation is not None:
            await self.channel_layer.group_discard(self.conversation.group_name, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None):
        if text_data is None or len(text_data) > MAX_FRAME_BYTES:
            await self._notify("That message could not be read. Reload the page and try again.")
            return
        try:
            payload = json.loads(text_data)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            await self._notify("That message could not be read. Reload the page and try again.")
            return
        action = payload.get("action", "send")
        if action == "send":
            await self._send(payload)
        elif action == "stop":
            if not await services.stop_generation(self.conversation):
                await self._notify("Nothing is being written right now.")
        else:
            await self._notify("Unknown action.")

    async def _send(self, payload: dict) -> None:
        try:
            await services.send_message(self.conversation, payload)
        except services.SendRefused as refusal:
            await self._notify(str(refusal))
            return
        await self.send(text_data=render_to_string("chat/conversation.html#composer_reset", {}))

    async def _notify(self, text: str) -> None:
        await self.send(
            text_data=render_to_string(
                "chat/conversation.html#composer_status", {"status_text": text}
            )
        )

    async def _send_streaming_snapshot(self) -> None:
        """A socket that (re)connects mid-answer first gets everything so far."""
        running = generation.running(self.conversation.pk)
        if running is not None:
            message = copy.copy(running.message)
            message.content, message.reasoning = running.text, running.reasoning
        else:
            message = await Message.objects.filter(
                conversation=self.conversation, status=Status.STREAMING
            ).alast()
            if message is None:
                return
        self.seen[message.pk] = (len(message.reasoning), len(message.content))
        await self.send(
            text_data=render_to_string(
                "chat/conversation.html#message", {"message": message, "oob": True}
            )
        )

    # Group events, sent by services and generation.

    async def chat_html(self, event: dict) -> None:
        await self.send(text_data=event["html"])

    async def chat_delta(self, event: dict) -> None:
        message_id = event["message_id"]
        reasoning = _unseen(
            event["reasoning"], event["reasoning_at"], self.seen.get(message_id, (0, 0))[0]
        )
        text = _unseen(event["text"], event["text_at"], self.seen.get(message_id, (0, 0))[1])
        parts = []
        if "thought_for" in event:
            parts.append(
                render_to_string(
                    "chat/conversation.html#reasoning_summary",
                    {
                        "message_id": message_id,
                        "oob": True,
                        "seconds": event["thought_for"],
                        "streaming": True,
                    },
                )
            )
        if reasoning:
            parts.append(
                f'<div hx-swap-oob="beforeend:#message-{message_id}-reasoning">'
                f"{escape(reasoning)}</div>"
            )
        if text:
            parts.append(
                f'<div hx-swap-oob="beforeend:#message-{message_id}-answer">{escape(text)}</div>'
            )
        if parts:
            await self.send(text_data="".join(parts))

    async def chat_finished(self, event: dict) -> None:
        self.seen.pop(event["message_id"], None)
        await self.send(text_data=event["html"])


def _unseen(fragment: str, starts_at: int, seen: int) -> str:
    """The part of ``fragment`` (at offset ``starts_at``) past the first ``seen`` characters."""
    return fragment[max(seen - starts_at, 0) :]
