"""Streamed text reaches the page as soon as the server has it, in as few frames as it can.

A piece that arrives on its own is sent at once, not held back for company;
pieces that arrive together (one network read, as when the server is busy)
go out as one frame.
"""

import asyncio

import pytest

from chatapp.chat import generation
from chatapp.providers import Finished, ReasoningDelta, TextDelta, Usage

from .live import deltas, message_pk, turn_articles

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
    reply = message_pk(turn_articles(await socket.receive_until(turn_articles))[1])
    loop = asyncio.get_running_loop()

    received = []  # (when, reasoning appended by that frame)
    while not (received and received[-1][1].endswith("three ")):
        frame = await socket.receive(timeout=5)
        if text := deltas(frame, reply, "reasoning"):
            received.append((loop.time(), text))

    assert [text for _, text in received] == ["Alone. ", "".join(BURST)]
    first_shown, _ = received[0]
    assert first_shown < scripted_model["burst"], "the lone piece waited for the next one"
