"""Stop and watch requests that meet an answer at its edges: before it starts, as it ends.

A send saves the answer, starts generating, then tells every viewer; a Stop
from another tab, or a socket in another process asking to watch, can land
before the viewers are told, or before the generation is running. A second
Stop (a double click, the other tab) can land while the first one's save
runs. Each must end with the answer saved as it ended and every viewer told.
"""

import asyncio

import pytest
from channels.layers import get_channel_layer

from chatapp.chat import generation, relay, services
from chatapp.chat.models import Message, Status
from chatapp.usage.models import UsageRecord
from tests.conftest import wait_for

from .live import deltas, final_article, message_pk

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def slow_start(monkeypatch):
    """Widen the moment between saving a new answer and starting it (a slow Redis count)."""
    count = relay.watched_elsewhere

    async def slow_count(group: str) -> bool:
        answer = await count(group)
        await asyncio.sleep(0.3)
        return answer

    monkeypatch.setattr(relay, "watched_elsewhere", slow_count)


async def saved_streaming(conversation) -> Message:
    """The new answer, once saved and started (and before its viewers are told).

    Read from the running generation: polling the database here could meet
    the send's own write, which SQLite's shared test database refuses at once.
    """

    async def started():
        running = generation.running(conversation.pk)
        return running and running.message

    return await wait_for(started)


async def test_a_stop_before_the_answer_starts_stops_it(
    settings, slow_start, sockets, alice_session, alice_conversation
):
    settings.SIMULATOR_CHUNK_DELAY = 0.01
    tab_a = await sockets(alice_conversation.public_id, alice_session)
    tab_b = await sockets(alice_conversation.public_id, alice_session)
    await tab_a.send(message="Write a long essay", reasoning_effort="low")
    await saved_streaming(alice_conversation)

    await tab_b.send(action="stop")

    final = await tab_a.receive_final("stopped")
    assert final is not None
    reply = await Message.objects.aget(conversation=alice_conversation, role="assistant")
    assert reply.status == Status.STOPPED
    assert generation.running(alice_conversation.pk) is None


async def test_a_stop_before_the_gateway_is_asked_asks_nothing_and_bills_nothing(
    settings, monkeypatch, sockets, alice_session, alice_conversation
):
    """A Stop that lands between saving the answer and starting it (here while
    the new turn is rendered) started the request anyway, then cancelled it,
    and billed the prompt of a request that was never sent."""
    settings.SIMULATOR_CHUNK_DELAY = 0.01
    rendered = services._rendered
    saved = asyncio.Event()

    async def slow_render(*args, **kwargs):
        saved.set()
        await asyncio.sleep(0.3)
        return await rendered(*args, **kwargs)

    monkeypatch.setattr(services, "_rendered", slow_render)
    tab_a = await sockets(alice_conversation.public_id, alice_session)
    tab_b = await sockets(alice_conversation.public_id, alice_session)
    await tab_a.send(message="Write a long essay", reasoning_effort="low")
    await asyncio.wait_for(saved.wait(), 5)

    await tab_b.send(action="stop")

    final = await tab_a.receive_final("stopped")
    reply = await Message.objects.aget(pk=message_pk(final))
    assert (reply.status, reply.reasoning, reply.content) == (Status.STOPPED, "", "")
    usage = await UsageRecord.objects.aget(message=reply)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.cost) == (0, 0, 0)


async def test_a_stop_as_the_task_is_created_still_ends_the_answer(
    settings, monkeypatch, sockets, alice_session, alice_conversation
):
    """A task cancelled before its first step never runs its body, nor its final save."""
    settings.SIMULATOR_CHUNK_DELAY = 0.01
    launch = generation.launch

    def launch_and_stop_at_once(*args, **kwargs):
        started = launch(*args, **kwargs)
        started.stop()  # what another tab's Stop does in the same turn of the loop
        return started

    monkeypatch.setattr(generation, "launch", launch_and_stop_at_once)
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send(message="Write a long essay", reasoning_effort="low")

    await socket.receive_final("stopped")
    assert generation.running(alice_conversation.pk) is None
    monkeypatch.setattr(generation, "launch", launch)
    await socket.send(message="And now?", reasoning_effort="low")
    await socket.receive_final("complete")


async def test_a_second_stop_while_the_first_is_saved_changes_nothing(
    settings, monkeypatch, sockets, alice_session, alice_conversation
):
    settings.SIMULATOR_CHUNK_DELAY = 0.02
    render = generation.render_markdown

    def slow_render(text: str) -> str:  # a long answer's final render
        import time

        time.sleep(0.2)
        return render(text)

    monkeypatch.setattr(generation, "render_markdown", slow_render)
    tab_a = await sockets(alice_conversation.public_id, alice_session)
    tab_b = await sockets(alice_conversation.public_id, alice_session)
    await tab_a.send(message="Write a long essay", reasoning_effort="low")
    reply_id = await tab_a.receive_reply_id()
    await tab_a.receive_until(lambda f: deltas(f, reply_id, "answer"))
    running = generation.running(alice_conversation.pk)

    async def saving() -> bool:
        return running.finishing

    await tab_a.send(action="stop")
    await wait_for(saving)
    await tab_b.send(action="stop")

    await tab_a.receive_final("stopped")
    await tab_b.receive_final("stopped")
    assert (await Message.objects.aget(pk=reply_id)).status == Status.STOPPED


async def test_a_watcher_elsewhere_before_the_answer_starts_hears_all_of_it(
    redis_layer, settings, slow_start, sockets, alice_session, alice_conversation
):
    """Another process's socket asks for a snapshot of an answer not started yet."""
    settings.SIMULATOR_CHUNK_DELAY = 0.005
    here = await sockets(alice_conversation.public_id, alice_session)
    await here.send(message="Write a long essay", reasoning_effort="low")
    streaming = await saved_streaming(alice_conversation)

    # What a consumer in another process does on connect.
    elsewhere = get_channel_layer()
    inbox = await elsewhere.new_channel()
    await elsewhere.group_add(alice_conversation.group_name, inbox)
    await elsewhere.send(
        streaming.generation_channel,
        {"type": "generation.snapshot", "message_id": streaming.pk, "reply_to": inbox},
    )
    heard = []
    while not heard or heard[-1]["type"] != "chat.finished":
        heard.append(await asyncio.wait_for(elsewhere.receive(inbox), 10))

    assert heard[0]["type"] == "chat.snapshot"
    text = "".join(event["text"] for event in heard if event["type"] == "chat.delta")
    reasoning = "".join(event["reasoning"] for event in heard if event["type"] == "chat.delta")
    reply = await Message.objects.aget(pk=streaming.pk)
    assert reply.status == Status.COMPLETE
    assert (reasoning, text) == (reply.reasoning, reply.content)
    assert final_article(heard[-1]["html"], "complete") is not None
