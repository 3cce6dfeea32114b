"""Streamed text reaches the page as soon as the server has it, in as few frames as it can.

A piece that arrives on its own is sent at once, not held back for company;
pieces that arrive together (one network read, as when the server is busy)
go out as one frame.
"""

import asyncio

import pytest

from chatapp.chat import generation, relay
from chatapp.providers import Finished, ReasoningDelta, TextDelta, Usage

from .live import deltas

pytestmark = pytest.mark.django_db(transaction=True)

BURST = ("one ", "two ", "three ")


@pytest.fixture
def scripted_model(monkeypatch):
    """The model's stream, paced by the test: a lone piece, a burst, then the answer."""
    moments = {}

    async def stream(endpoint, request, family=None, retry=None):
        yield ReasoningDelta("Alone. ")
        await asyncio.sleep(0.3)
        moments["burst"] = asyncio.get_running_loop().time()
        for piece in BURST:  # no await between them: they arrived together
            yield ReasoningDelta(piece)
        await asyncio.sleep(0.3)
        yield TextDelta("Done.")
        yield Usage(prompt_tokens=3, completion_tokens=5)
        yield Finished("stop")

    monkeypatch.setattr(generation, "stream_chat", stream)
    return moments


async def test_a_lone_piece_is_sent_at_once_and_a_burst_as_one_frame(
    settings, scripted_model, sockets, alice_session, alice_conversation
):
    settings.CHAT_COALESCE_SECONDS = 0.05
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send(message="Count to three", model="o4-mini", reasoning_effort="low")
    reply = await socket.receive_reply_id()
    loop = asyncio.get_running_loop()

    received = []  # (when, reasoning appended by that frame)
    while not (received and received[-1][1].endswith("three ")):
        frame = await socket.receive(timeout=5)
        if text := deltas(frame, reply, "reasoning"):
            received.append((loop.time(), text))

    assert [text for _, text in received] == ["Alone. ", "".join(BURST)]
    first_shown, _ = received[0]
    assert first_shown < scripted_model["burst"], "the lone piece waited for the next one"


async def test_pieces_arriving_while_viewers_are_slow_wait_as_one_flush(
    settings, monkeypatch, sockets, alice_session, alice_conversation
):
    """A stalled publish (Redis hanging) must not start a task per piece meanwhile."""
    settings.CHAT_COALESCE_SECONDS = 0.0
    publish = relay.publish
    pieces = [f"{n} " for n in range(40)]
    tasks_meanwhile = []

    async def slow_publish(group, event, **kwargs):
        if event["type"] == "chat.delta":
            await asyncio.sleep(0.1)
        await publish(group, event, **kwargs)

    async def stream(endpoint, request, family=None, retry=None):
        for piece in pieces:  # a piece every 5 ms, each publish takes 100 ms
            yield ReasoningDelta(piece)
            await asyncio.sleep(0.005)
            tasks_meanwhile.append(len(asyncio.all_tasks()))
        yield TextDelta("Done.")
        yield Finished("stop")

    monkeypatch.setattr(relay, "publish", slow_publish)
    monkeypatch.setattr(generation, "stream_chat", stream)
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send(message="Count slowly", model="o4-mini", reasoning_effort="low")
    reply = await socket.receive_reply_id()
    final = await socket.receive_final("complete")

    assert max(tasks_meanwhile) - min(tasks_meanwhile) <= 2
    assert final.by_id(f"message-{reply}-reasoning").text == "".join(pieces)
