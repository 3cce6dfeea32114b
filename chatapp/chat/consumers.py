"""The websocket: thin. Authenticate, parse a frame, call a service, relay group events."""

import asyncio
import json
import logging
from html import escape
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.http import Http404
from django.template.loader import render_to_string

from chatapp.accounts.middleware import SocketLogin

from . import generation, relay, services
from .models import Conversation, Message, Role, Status, get_conversation_for_user

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 256 * 1024

BROWSER_EVENTS = {
    "websocket.connect": "websocket_connect",
    "websocket.receive": "websocket_receive",
    "websocket.disconnect": "websocket_disconnect",
}


class ConversationConsumer(AsyncWebsocketConsumer):
    conversation: Conversation | None = None

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Here, not in disconnect(): a consumer that crashed never hears its
            # disconnect, and kept its place among the viewers and its subscription.
            if self.conversation is not None:
                await self._stop_watching()

    async def _stop_watching(self) -> None:
        group = self.conversation.group_name
        relay.unwatch(group, self)
        try:
            await self.channel_layer.group_discard(group, self.channel_name)
        except Exception:
            logger.warning("could not leave a conversation's group", exc_info=True)

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
        self.held_deltas: dict[int, list[dict]] = {}
        # The newest message the page shows: its own, or a catch-up list's (see _catch_up).
        self.caught_up_to = 0
        # Conversation events arrive from two sides (called directly by this
        # process's publishers, and through the layer from others); the lock
        # keeps them in order, and after the state sent on connect.
        self.relay_lock = asyncio.Lock()
        group = self.conversation.group_name
        await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        async with self.relay_lock:
            # Watching before reading what to send: nothing falls in between.
            relay.watch(group, self)
            await self._catch_up()
            await self._send_newest_answer()

    async def deliver(self, event: dict) -> None:
        """A conversation event published in this process."""
        async with self.relay_lock:
            await self._handle_event(event)

    async def dispatch(self, message: dict) -> None:
        kind = message["type"]
        if kind.startswith("chat."):
            if message.get("origin") == relay.PROCESS_ID:
                return  # published here: this socket was given it directly
            async with self.relay_lock:
                await self._handle_event(message)
            return
        if kind in BROWSER_EVENTS:
            # Channels first takes every event to the shared database thread to
            # close stale connections: a thread hop per connect, frame and
            # close, 5 % of a process's CPU with 200 answers streaming. Each
            # handler's first database call here is a database_sync_to_async
            # one, which does that housekeeping in its own trip.
            await getattr(self, BROWSER_EVENTS[kind])(message)
            return
        await super().dispatch(message)

    async def _handle_event(self, event: dict) -> None:
        # No per-event database housekeeping (Channels' thread hop): only a
        # snapshot reads the database, through the async ORM.
        await getattr(self, event["type"].replace(".", "_"))(event)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None):
        if text_data is None or len(text_data) > MAX_FRAME_BYTES:
            await self._notify("That message could not be read. Reload the page and try again.")
            return
        try:
            payload = _readable(json.loads(text_data))
        except (ValueError, RecursionError):
            # Nested too deep to decode: uncaught, it closed the socket.
            payload = None
        if not isinstance(payload, dict):
            await self._notify("That message could not be read. Reload the page and try again.")
            return
        action = payload.get("action", "send")
        try:
            if action == "send":
                login = SocketLogin.of(self.scope)
                await services.send_message(self.conversation, payload, login=login)
                await self.send(
                    text_data=render_to_string("chat/conversation.html#composer_reset", {})
                )
            elif action == "regenerate":
                login = SocketLogin.of(self.scope)
                await services.regenerate(self.conversation, payload, login=login)
            elif action == "stop":
                login = SocketLogin.of(self.scope)
                if not await services.stop_generation(self.conversation, login=login):
                    await self._notify("Nothing is being written right now.")
            else:
                await self._notify("Unknown action.")
        except services.SendRefused as refusal:
            await self._notify(str(refusal))
        except Exception:
            # The socket stays open, and what was typed stays in the composer.
            logger.exception("could not handle a frame from the browser")
            await self._notify("Something went wrong on our side. Reload the page and try again.")

    async def _notify(self, text: str) -> None:
        await self.send(
            text_data=render_to_string(
                "chat/conversation.html#composer_status", {"status_text": text}
            )
        )

    async def _catch_up(self) -> None:
        """A page missing turns gets the latest page of messages whole.

        The page says the newest message it showed (``?seen=``). A socket that
        reconnects after a turn was sent while it was away (another tab, a
        server restart), or a page rendered just before a send, lacked the new
        question and answer, and every delta and the final answer for them
        aimed at elements that were not there. The URL is the page's first:
        after live turns, a reconnect reloads the list too.
        """
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        if "seen" not in query:
            return  # not a page of ours: it says nothing of what it shows
        try:
            seen = int(query["seen"][0])
        except ValueError:
            seen = 0
        # A turn published after the page read it (a send saved just before
        # the page loaded) is on the page already.
        self.caught_up_to = seen
        running = generation.running(self.conversation.pk)
        if running is not None and running.message.pk <= seen:
            return  # its answer is the newest message, and the page shows it
        newest = (
            await Message.objects.filter(conversation=self.conversation)
            .order_by("-pk")
            .values_list("pk", flat=True)
            .afirst()
        )
        if newest is None or newest <= seen:
            return
        chat_messages, has_older = await sync_to_async(self.conversation.page_of_messages)()
        self.caught_up_to = max(message.pk for message in chat_messages)
        await self.send(
            text_data=render_to_string(
                "chat/conversation.html#caught_up",
                {
                    "conversation": self.conversation,
                    "chat_messages": chat_messages,
                    "has_older": has_older,
                },
            )
        )

    async def _send_newest_answer(self) -> None:
        """A socket that (re)connects gets the newest answer as it is now.

        Mid-answer, that is everything so far; the generating task may run in
        another process, and is then asked for its state while deltas that
        arrive before it are held back, so nothing is shown twice or skipped.
        """
        running = generation.running(self.conversation.pk)
        if running is not None:
            if running.announced:
                await self.chat_snapshot(running.snapshot())
            # Otherwise the answer is about to be shown to this socket, and
            # all its text after it.
            return
        newest = await Message.objects.filter(
            conversation=self.conversation, role=Role.ASSISTANT
        ).alast()
        if newest is None:
            return
        if newest.status != Status.STREAMING or not newest.generation_channel:
            # It may have finished (or been recovered) while this page was away.
            await self._send_stored_answer(newest)
            return
        self.held_deltas[newest.pk] = []
        await self.channel_layer.send(
            newest.generation_channel,
            {
                "type": "generation.snapshot",
                "message_id": newest.pk,
                "reply_to": self.channel_name,
            },
        )

    async def _send_stored_answer(self, message: Message) -> None:
        message.version_number, message.version_count = await sync_to_async(
            message.version_position
        )()
        await self.send(
            text_data=render_to_string(
                "chat/conversation.html#message", {"message": message, "oob": True}
            )
        )

    # Group events, sent by services and generation.

    async def chat_html(self, event: dict) -> None:
        if event.get("message_id", 0) <= self.caught_up_to:
            return  # saved before the catch-up read the list: shown there already
        await self.send(text_data=event["html"])

    async def chat_snapshot(self, event: dict) -> None:
        message_id = event["message_id"]
        message = await Message.objects.filter(pk=message_id).afirst()
        if message is None:
            self.held_deltas.pop(message_id, None)
            return
        if message.status != Status.STREAMING or "text" not in event:
            # It ended before the snapshot: the stored answer is the whole of it.
            self.held_deltas.pop(message_id, None)
            await self._send_stored_answer(message)
            return
        message.reasoning, message.content = event["reasoning"], event["text"]
        message.reasoning_seconds = event["thought_for"]
        self.seen[message_id] = (len(message.reasoning), len(message.content))
        await self.send(
            text_data=render_to_string(
                "chat/conversation.html#message", {"message": message, "oob": True}
            )
        )
        for held in self.held_deltas.pop(message_id, []):
            await self.chat_delta(held)

    async def chat_delta(self, event: dict) -> None:
        message_id = event["message_id"]
        if message_id in self.held_deltas:
            self.held_deltas[message_id].append(event)
            return
        seen_reasoning, seen_text = self.seen.get(message_id, (0, 0))
        reasoning = _unseen(event["reasoning"], event["reasoning_at"], seen_reasoning)
        text = _unseen(event["text"], event["text_at"], seen_text)
        parts = []
        if "thought_for" in event:
            parts.append(
                render_to_string(
                    "chat/conversation.html#reasoning_summary",
                    {"message_id": message_id, "oob": True, "seconds": event["thought_for"]},
                )
            )
        # The standard library's escape, as Django's is (less its lazy-string
        # check, which cost twice the escaping itself on every delta).
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
        self.held_deltas.pop(event["message_id"], None)
        await self.send(text_data=event["html"])


def _readable(value):
    """``value`` with any lone surrogate (a ``\\ud83d`` escape, half an emoji) as U+FFFD.

    JSON allows them, a browser sends one for a broken emoji pasted in, and
    no database can store one: the send failed as "something went wrong",
    every time it was tried again.
    """
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list):
        return [_readable(item) for item in value]
    if isinstance(value, dict):
        return {_readable(key): _readable(item) for key, item in value.items()}
    return value


def _unseen(fragment: str, starts_at: int, seen: int) -> str:
    """The part of ``fragment`` (at offset ``starts_at``) past the first ``seen`` characters."""
    return fragment[max(seen - starts_at, 0) :]
