"""One completion's life, decoupled from any socket.

A task reads the provider stream once, sends coalesced deltas to the
conversation's group (every tab, every viewer, any process), saves text in
batches, and records the outcome and usage once. Closing a tab does not
touch it; Stop cancels it.
"""

import asyncio
import logging
import time
from dataclasses import dataclass, field, replace

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from chatapp.gateways.registry import Route
from chatapp.providers import (
    DEFAULT_RETRY,
    NO_RETRY,
    ChatMessage,
    ChatRequest,
    Finished,
    ImagePart,
    ProviderError,
    ReasoningDelta,
    RetryPolicy,
    TextDelta,
    ToolCallAssembler,
    ToolCallDelta,
    Usage,
    stream_chat,
)
from chatapp.providers.parsing import estimate_prompt_tokens, estimate_tokens
from chatapp.usage.models import Outcome, UsageRecord

from . import relay
from .markdown import render_markdown
from .models import Conversation, Message, Role, Status, storable

logger = logging.getLogger(__name__)

# Generations running in this process, by conversation pk and by message pk.
_running: dict[int, "Generation"] = {}
_by_message: dict[int, "Generation"] = {}

INTERNAL_ERROR = "Something went wrong on our side while writing this answer. Try again."
CUT_OFF_NOTE = (
    "The answer was cut off: the model reached its output limit (reasoning counts towards it)."
)


@dataclass
class Generation:
    conversation: Conversation
    message: Message
    request: ChatRequest
    routes: tuple[Route, ...]
    reasoning: str = ""
    text: str = ""
    tool_calls: ToolCallAssembler = field(default_factory=ToolCallAssembler)
    stop_requested: bool = False
    stopped_before_start: bool = False
    task: asyncio.Task | None = None
    # Whether events must also cross to other processes (see relay.watched_elsewhere).
    watched_elsewhere: bool = True
    reasoning_seconds: float | None = None
    # Offsets of what viewers have been sent; the rest is pending.
    sent_reasoning: int = 0
    sent_text: int = 0

    def __post_init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.started = self.loop.time()
        self.first_token_at: float | None = None
        self._last_flush = 0.0
        self._saved_lengths = (0, 0)
        self._saved_at = self.started
        self.finishing = False
        self._flush_handle: asyncio.Handle | None = None
        self._flush_planned = False
        self._flush_lock = asyncio.Lock()
        self._background: set[asyncio.Task] = set()
        self._announce_thought = False
        # Set once viewers have been shown the answer (see ``mark_announced``).
        self._announced = asyncio.Event()
        self.route: Route = self.routes[0]
        self.usage: Usage | None = None
        self.finish_reason: str | None = None
        # Read once: every delta uses them.
        self.group = self.conversation.group_name
        self._coalesce_seconds = settings.CHAT_COALESCE_SECONDS

    async def run(self) -> None:
        if self.stopped_before_start:  # see ``launch``: no gateway is asked
            await self._finish_through_cancellation(Status.STOPPED, "")
            return
        status, error = Status.COMPLETE, ""
        try:
            await self._stream_with_failover()
        except asyncio.CancelledError:
            if not self.stop_requested:
                # The server is shutting down: record what arrived, then let it stop.
                await self._finish_through_cancellation(Status.INTERRUPTED, "")
                raise
            status = Status.STOPPED
        except ProviderError as problem:
            status, error = Status.ERROR, problem.message
            logger.warning(
                "completion failed",
                extra={
                    "provider": self.route.endpoint.name,
                    "model": self.route.model_id,
                    "code": problem.code,
                    "status": problem.status,
                },
            )
        except Exception:
            logger.exception("completion crashed", extra={"model": self.route.model_id})
            status, error = Status.ERROR, INTERNAL_ERROR
        if status == Status.COMPLETE and self.finish_reason == "length":
            error = CUT_OFF_NOTE
        await self._finish_through_cancellation(status, error)

    async def _finish_through_cancellation(self, status: str, error: str) -> None:
        """``_finish``, carried on if the server stops (``interrupt_all``) meanwhile.

        Cancelled mid-save, the answer's viewers never got it finished and the
        server did not wait for the save it had started. Started eagerly, so
        ``finishing`` is set before a Stop could cancel anything.
        """
        finishing = asyncio.Task(self._finish(status, error), loop=self.loop, eager_start=True)
        self._background.add(finishing)
        finishing.add_done_callback(self._background.discard)
        try:
            await asyncio.shield(finishing)
        except asyncio.CancelledError:
            if not finishing.done():
                await asyncio.shield(finishing)  # a second cancellation stops waiting
            raise

    async def _stream_with_failover(self) -> None:
        for attempt, route in enumerate(self.routes, start=1):
            self.route = route
            # With another gateway to hand over to, fail over at once instead of retrying.
            retry = NO_RETRY if attempt < len(self.routes) else DEFAULT_RETRY
            try:
                await self._stream_from(route, retry)
                return
            except ProviderError as problem:
                # Hand over to the next gateway only while nothing has been shown:
                # a half-written answer is never silently replayed elsewhere.
                nothing_shown = self.first_token_at is None
                if not (problem.retryable and nothing_shown and attempt < len(self.routes)):
                    raise
                logger.warning(
                    "gateway failed, trying the next one",
                    extra={"provider": route.endpoint.name, "code": problem.code},
                )

    async def _stream_from(self, route: Route, retry: RetryPolicy) -> None:
        request = replace(self.request, model=route.model_id)
        async for event in stream_chat(route.endpoint, request, route.family, retry=retry):
            match event:
                case ReasoningDelta(text=text):
                    self._mark_first_token()
                    self.reasoning += storable(text)
                case TextDelta(text=text):
                    self._mark_first_token()
                    if self.reasoning_seconds is None:
                        self.reasoning_seconds = self.loop.time() - self.started
                        self._announce_thought = True
                    self.text += storable(text)
                case ToolCallDelta():
                    self.tool_calls.add(event)
                case Usage():
                    self.usage = event
                case Finished(reason=reason):
                    self.finish_reason = reason
            self._schedule_flush()

    def _mark_first_token(self) -> None:
        if self.first_token_at is None:
            self.first_token_at = self.loop.time()

    def mark_announced(self, *, watched_elsewhere: bool) -> None:
        """Viewers have been shown this answer: its text may follow.

        The answer starts before they are told (see ``services``), and its
        deltas and its finished form wait until then: a page given text for an
        answer it was not shown yet loses that text.
        """
        self.watched_elsewhere = self.watched_elsewhere or watched_elsewhere
        self._announced.set()
        if self._unsent() and not self.finishing:
            self._schedule_flush()

    @property
    def announced(self) -> bool:
        return self._announced.is_set()

    def _schedule_flush(self) -> None:
        """Send what arrived once the event loop comes round, at most one delta per window.

        Not at once: pieces that came in one network read (several, when the
        process is busy) go out as one frame, which costs each viewer one
        frame instead of several exactly when the process has least time.
        """
        if self._flush_planned or not self._announced.is_set():
            return  # the planned flush (or the announcement's) takes this piece too
        self._flush_planned = True
        wait = self._last_flush + self._coalesce_seconds - self.loop.time()
        if wait <= 0:
            self._flush_handle = self.loop.call_soon(self._flush_soon)
        else:
            self._flush_handle = self.loop.call_later(wait, self._flush_soon)

    def _flush_soon(self) -> None:
        self._flush_handle = None
        # Started at once: a delta for this process's viewers usually goes out
        # without waiting on anything, so it needs no turn of the loop of its own.
        task = asyncio.Task(self._planned_flush(), loop=self.loop, eager_start=True)
        if not task.done():
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _planned_flush(self) -> None:
        """One flush at a time: pieces arriving while viewers are slow to take a delta
        (a Redis stall) wait for the next one, instead of each starting a task."""
        try:
            await self._flush()
        finally:
            self._flush_planned = False
        if self._unsent() and not self.finishing:
            self._schedule_flush()

    def _unsent(self) -> bool:
        return (
            len(self.reasoning) > self.sent_reasoning
            or len(self.text) > self.sent_text
            or self._announce_thought
        )

    async def _flush(self) -> None:
        # The lock keeps deltas in order when a timed flush and a direct one meet.
        async with self._flush_lock:
            reasoning = self.reasoning[self.sent_reasoning :]
            text = self.text[self.sent_text :]
            if not (reasoning or text or self._announce_thought):
                return
            event = {
                "type": "chat.delta",
                "message_id": self.message.pk,
                "reasoning": reasoning,
                "reasoning_at": self.sent_reasoning,
                "text": text,
                "text_at": self.sent_text,
            }
            if self._announce_thought:
                event["thought_for"] = self.reasoning_seconds
                self._announce_thought = False
            self.sent_reasoning += len(reasoning)
            self.sent_text += len(text)
            self._last_flush = self.loop.time()
            await relay.publish(self.group, event, elsewhere=self.watched_elsewhere)

    def take_unsaved_text(self, now: float) -> tuple[int, str, str, str] | None:
        """This answer's ``(pk, content, reasoning, gateway)`` for the next batched
        save, if it has news or its heartbeat is due.

        The gateway is the one answering after any failover: should this process
        die, recovery prices what streamed at that gateway's rates.
        """
        lengths = (len(self.reasoning), len(self.text))
        heartbeat_due = now - self._saved_at >= settings.CHAT_HEARTBEAT_SECONDS
        if lengths == self._saved_lengths and not heartbeat_due:
            return None
        self._saved_lengths, self._saved_at = lengths, now
        return self.message.pk, self.text, self.reasoning, self.route.endpoint.name

    def snapshot(self) -> dict:
        return {
            "type": "chat.snapshot",
            "message_id": self.message.pk,
            "reasoning": self.reasoning,
            "text": self.text,
            "thought_for": self.reasoning_seconds,
        }

    def stop(self) -> None:
        # Once stopping or finishing, the answer is being saved as it ended: a
        # second Stop (another tab, a double click) must not cancel that save.
        if self.stop_requested or self.finishing or self.task is None or self.task.done():
            return
        self.stop_requested = True
        self.task.cancel()

    async def _finish(self, status: str, error: str) -> None:
        try:
            await self._save_and_announce(status, error)
        except Exception:
            # This process no longer writes the answer either way: its heartbeat
            # stops, and recovery marks it interrupted with the text saved so far.
            logger.exception("could not save a finished answer", extra={"status": status})
            await self._keep_streamed_text()
        finally:
            self._forget()

    async def _keep_streamed_text(self) -> None:
        """After a failed final save, store what streamed since the last batched save
        (which leaves a finishing answer alone), for recovery to end it with."""
        text = (self.message.pk, self.text, self.reasoning, self.route.endpoint.name)
        try:
            save = database_sync_to_async(Message.save_streaming_text, thread_sensitive=False)
            await save([text])
        except Exception:
            logger.exception("could not save a finished answer's text either")

    def _forget(self) -> None:
        """Stop counting as running here (a next answer may already have taken the slot)."""
        if _running.get(self.conversation.pk) is self:
            del _running[self.conversation.pk]
        _by_message.pop(self.message.pk, None)

    async def _save_and_announce(self, status: str, error: str) -> None:
        if self._flush_handle:
            self._flush_handle.cancel()
            self._flush_handle = None
        self.finishing = True  # no batched save may write this answer any more
        await self._announced.wait()
        await self._flush()
        ended = self.loop.time()
        usage = self.usage
        if self.reasoning_seconds is None and (self.reasoning or usage):
            self.reasoning_seconds = ended - self.started
        message = self.message
        message.content = self.text
        message.reasoning = self.reasoning
        message.status = status
        message.error = storable(error)
        message.model = self.route.model_id
        message.provider = self.route.endpoint.name
        message.reasoning_tokens = usage.reasoning_tokens if usage else None
        message.reasoning_seconds = self.reasoning_seconds
        message.tool_calls = [
            {
                "id": call.id and storable(call.id),
                "name": storable(call.name),
                "arguments": storable(call.arguments),
            }
            for call in self.tool_calls.calls
        ]
        message.finished_at = timezone.now()
        message.generation_channel = ""
        # In a thread of its own, as a send is: its markdown and HTML take a
        # while, and the shared database thread serves every socket's reads and
        # the batched saves (which leave a finished answer alone). Outside any
        # request, so it checks its connection itself: one PostgreSQL dropped
        # (a restart) is replaced, not failed on.
        save = database_sync_to_async(self._save_outcome, thread_sensitive=False)
        html = await save(self._usage_record(status, ended))
        # Before viewers hear of it: a socket connecting from now on reads the saved answer.
        self._forget()
        await relay.publish(
            self.group,
            {"type": "chat.finished", "message_id": message.pk, "html": html},
            elsewhere=self.watched_elsewhere,
        )
        logger.info(
            "completion finished",
            extra={
                "provider": self.route.endpoint.name,
                "model": self.route.model_id,
                "status": status,
                "seconds": round(ended - self.started, 3),
                "completion_tokens": usage.completion_tokens if usage else None,
            },
        )

    def _estimated_usage(self, status: str) -> Usage:
        """Our count when the gateway sent none.

        A gateway that refused the request, or was never asked, billed nothing;
        a stopped or broken answer was generated (and is billed) as far as it got.
        """
        if self.stopped_before_start or (status == Status.ERROR and self.first_token_at is None):
            return Usage(estimated=True)
        return estimated_usage(self.route, self.request, self.reasoning, self.text)

    def _usage_record(self, status: str, ended: float) -> UsageRecord:
        ttft = self.first_token_at
        return usage_record(
            self.conversation,
            self.message,
            self.route,
            self.usage or self._estimated_usage(status),
            status,
            time_to_first_token_ms=round((ttft - self.started) * 1000) if ttft else None,
            duration_ms=round((ended - self.started) * 1000),
        )

    def _save_outcome(self, usage: UsageRecord) -> str:
        """The finished answer and its usage: one transaction, so neither lands alone.

        Returns the answer's final HTML. Its markdown is rendered here too, in
        the worker thread: on the event loop, rendering every finishing answer
        held up the deltas of all the others.

        If recovery took the answer for dead meanwhile (its heartbeat stalled
        for three beats) and recorded an estimate, the answer as it really
        ended replaces both: one answer, one usage row.
        """
        message = self.message
        message.rendered_html = render_markdown(message.content) if message.content else ""
        ended = {name: getattr(message, name) for name in FINAL_FIELDS}
        with transaction.atomic():
            answer = Message.objects.filter(pk=message.pk)
            if not answer.filter(status=Status.STREAMING).update(**ended):
                if answer.update(**ended):
                    UsageRecord.objects.filter(
                        message_id=message.pk, outcome=Outcome.INTERRUPTED
                    ).delete()
                else:
                    # Deleted meanwhile (its conversation, or its member): the gateway
                    # billed it all the same, so its row is kept without the links.
                    usage.conversation_id = usage.message_id = None
                    if not get_user_model().objects.filter(pk=usage.user_id).exists():
                        usage.user_id = None
            usage.save()
        return render_to_string("chat/conversation.html#message", {"message": message, "oob": True})


# What the final save writes of an answer.
FINAL_FIELDS = (
    "content",
    "reasoning",
    "rendered_html",
    "status",
    "error",
    "model",
    "provider",
    "reasoning_tokens",
    "reasoning_seconds",
    "tool_calls",
    "finished_at",
    "generation_channel",
)


def estimated_usage(route: Route, request: ChatRequest, reasoning: str, text: str) -> Usage:
    """Our count of a completion the gateway reported no usage for.

    The whole request was sent (and billed), and the answer as far as it got.
    """
    body = route.family.shape(replace(request, model=route.model_id))
    return Usage(
        prompt_tokens=estimate_prompt_tokens(body["messages"]),
        completion_tokens=estimate_tokens(reasoning + text),
        reasoning_tokens=estimate_tokens(reasoning),
        estimated=True,
    )


def usage_record(
    conversation: Conversation,
    message: Message,
    route: Route | None,
    usage: Usage,
    outcome: str,
    *,
    time_to_first_token_ms: int | None,
    duration_ms: int,
) -> UsageRecord:
    """The usage row of one answer, priced at its route's rates. Not saved.

    Without a route (a model no longer offered) it keeps the answer's own
    names and costs nothing: there are no prices to charge it at.
    """
    prices = route.prices if route else None
    cost = (
        prices.cost(usage.prompt_tokens, usage.cached_tokens, usage.completion_tokens)
        if prices
        else 0
    )
    return UsageRecord(
        user_id=conversation.owner_id,
        conversation_id=conversation.pk,
        message_id=message.pk,
        provider=route.endpoint.name if route else message.provider,
        model=route.model_id if route else message.model,
        reasoning_effort=message.reasoning_effort,
        prompt_tokens=usage.prompt_tokens,
        cached_tokens=usage.cached_tokens,
        completion_tokens=usage.completion_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        estimated=usage.estimated,
        cost=cost,
        time_to_first_token_ms=time_to_first_token_ms,
        duration_ms=duration_ms,
        outcome=outcome,
    )


def build_request(
    conversation: Conversation, reply: Message, earlier: list[Message]
) -> ChatRequest:
    """The conversation so far as the model should see it: each question with its newest answer.

    ``earlier`` is ``conversation.messages_before(reply)``. Shaping for a
    particular model happens per route, in the provider layer.
    """
    newest_answer = {
        message.in_reply_to_id: message
        for message in earlier
        if message.role == Role.ASSISTANT and message.in_reply_to_id
    }
    history = []
    if conversation.system_prompt:
        history.append(ChatMessage(role="system", content=conversation.system_prompt))
    for message in earlier:
        if message.role == Role.USER:
            images = tuple(
                ImagePart(data_url=attachment.blob.data_url(), detail="high")
                for attachment in message.attachments.all()
            )
            history.append(ChatMessage(role="user", content=message.content, images=images))
            answer = newest_answer.get(message.pk)
            if answer is not None and answer.content and message.pk != reply.in_reply_to_id:
                history.append(ChatMessage(role="assistant", content=answer.content))
    return ChatRequest(
        model=reply.model,
        messages=tuple(history),
        reasoning_effort=reply.reasoning_effort or None,
        max_output_tokens=conversation.max_output_tokens,
        json_output=conversation.json_output,
    )


class Requests:
    """This process's one channel for stop and snapshot requests to its generations.

    A browser connected to another process reaches a generation through the
    channel stored on its message. One channel per answer cost a Redis
    SUBSCRIBE and UNSUBSCRIBE per answer, each waiting its turn on the
    layer's single connection; under a burst of sends that queue held new
    answers back for up to a second. One per process (per event loop) is
    subscribed once.
    """

    def __init__(self) -> None:
        self._channel = ""
        self._task: asyncio.Task | None = None

    async def channel(self) -> str:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._channel = await get_channel_layer().new_channel()
            self._task = loop.create_task(self._answer(self._channel), name="generation-requests")
        return self._channel

    async def _answer(self, channel: str) -> None:
        layer = get_channel_layer()
        while True:
            request = await layer.receive(channel)
            try:
                await self._answer_one(layer, request)
            except Exception:
                # The channel's name is stored on answers: keep listening on it.
                logger.exception("could not answer a generation request")

    @staticmethod
    async def _answer_one(layer, request: dict) -> None:
        message_id = request.get("message_id")
        running = _by_message.get(message_id)
        match request.get("type"):
            case "generation.stop" if running is not None:
                running.stop()
            case "generation.stop":
                _before_launch.note(message_id, STOP)
            case "generation.snapshot":
                if running is None:
                    # Ended meanwhile, or saved and not started yet (its text is
                    # empty either way): the socket reads the stored answer.
                    _before_launch.note(message_id, WATCHED)
                    reply = {"type": "chat.snapshot", "message_id": message_id}
                else:
                    # A socket in another process asks: stream to the layer from now on.
                    running.watched_elsewhere = True
                    reply = running.snapshot()
                await layer.send(request["reply_to"], reply)


STOP, WATCHED = "stop", "watched"


class RequestsBeforeLaunch:
    """Requests for answers saved as streaming whose generation has not started yet.

    A send saves its answer, tells every viewer, then starts generating; a
    Stop from another tab, or a socket in another process asking to watch,
    can arrive in between. Dropped, the Stop was lost (the answer ran to the
    end) and the other process heard nothing of the answer. Kept here a
    minute, for ``launch`` to act on; an answer that had already ended is
    never launched, and its note lapses.
    """

    KEEP_SECONDS = 60.0

    def __init__(self) -> None:
        self._notes: dict[int, tuple[float, set[str]]] = {}

    def note(self, message_id: object, request: str) -> None:
        if not isinstance(message_id, int):
            return
        now = time.monotonic()
        self._notes = {
            pk: note for pk, note in self._notes.items() if now - note[0] < self.KEEP_SECONDS
        }
        self._notes.setdefault(message_id, (now, set()))[1].add(request)

    def take(self, message_id: int) -> set[str]:
        if not self._notes:
            return set()
        return self._notes.pop(message_id, (0.0, set()))[1]


_before_launch = RequestsBeforeLaunch()


_requests = Requests()


async def requests_channel() -> str:
    """The channel to store on a new streaming answer (made before the answer is saved)."""
    return await _requests.channel()


def launch(
    conversation: Conversation, reply: Message, request: ChatRequest, routes: tuple[Route, ...]
) -> Generation:
    """Start writing ``reply``, saved as streaming with ``requests_channel()``.

    Its text reaches viewers once the caller has shown them the answer and
    called ``mark_announced``.
    """
    early = _before_launch.take(reply.pk)
    generation = Generation(
        conversation=conversation,
        message=reply,
        request=request,
        routes=routes,
        watched_elsewhere=WATCHED in early,
        # Stopped already: it ends as stopped without asking a gateway (and a
        # second Stop finds it stopping).
        stop_requested=STOP in early,
        stopped_before_start=STOP in early,
    )
    _running[conversation.pk] = generation
    _by_message[reply.pk] = generation
    # Started at once: a task cancelled before its first step never runs its
    # body, so a Stop then left the answer streaming and the conversation busy.
    generation.task = asyncio.Task(
        generation.run(), loop=generation.loop, name=f"generation-{reply.pk}", eager_start=True
    )
    _saves.keep_running()
    return generation


class BatchedSaves:
    """Saves the text of every answer streaming in this process, in one query.

    Each stream saving on its own cost one round trip per stream per second,
    all through the single thread async code reaches the database on; with a
    few hundred streams that thread fell behind and held up new sends. The
    save is also the heartbeat recovery looks for, so an answer whose model
    thinks silently is still touched every CHAT_HEARTBEAT_SECONDS.
    """

    def __init__(self) -> None:
        self._task: asyncio.Task | None = None

    def keep_running(self) -> None:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._task = loop.create_task(self._save_while_streaming(), name="batched-saves")

    async def _save_while_streaming(self) -> None:
        loop = asyncio.get_running_loop()
        while _running:
            await asyncio.sleep(settings.CHAT_PERSIST_SECONDS)
            now = loop.time()
            # Not an answer its viewers have not been shown yet: a page loaded
            # meanwhile would show the saved text, and then all of it again.
            texts = [
                text
                for running in list(_running.values())
                if running.announced
                and not running.finishing
                and (text := running.take_unsaved_text(now)) is not None
            ]
            if not texts:
                continue
            try:
                # Checks its connection first, as the final save does.
                await database_sync_to_async(Message.save_streaming_text)(texts)
            except Exception:
                logger.exception("could not save streaming answers", extra={"count": len(texts)})


_saves = BatchedSaves()


async def interrupt_all(timeout: float) -> None:
    """The server is stopping: end every answer written here as interrupted, with all its text.

    Left to die with the process, they stayed "streaming" until recovery found
    them (three heartbeats, or the next start), and lost what streamed after
    the last batched save. Cancelled, each saves itself as interrupted (see
    ``run``) and tells its viewers.
    """
    tasks = [running.task for running in _running.values() if running.task]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=timeout)


def all_running() -> list[Generation]:
    return list(_running.values())


def running(conversation_pk: int) -> Generation | None:
    """The generation of this conversation if it runs in this process."""
    return _running.get(conversation_pk)


async def request_stop(message: Message) -> bool:
    """Stop a generation wherever it runs: here directly, elsewhere through its channel.

    False when no process is left to hear it: the one writing the answer died.
    """
    local = _running.get(message.conversation_id)
    if local is not None and local.message.pk == message.pk:
        local.stop()
        return True
    channel = message.generation_channel
    if not channel or not await _listened(channel):
        return False
    await get_channel_layer().send(channel, {"type": "generation.stop", "message_id": message.pk})
    return True


async def _listened(channel: str) -> bool:
    if relay.spans_processes():
        return await relay.still_listened(channel)
    # The only process: its own channel is an answer saved and about to start.
    return channel == await requests_channel()
