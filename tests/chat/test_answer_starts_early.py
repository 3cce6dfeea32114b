"""A new answer starts before its viewers are told of it, and none of its text outruns that news.

A send saves the answer, asks the gateway, then counts the viewers in other
processes and shows the answer to every viewer. Text that arrives meanwhile
waits: a page given text for an answer it does not show yet loses it.
"""

import asyncio

import pytest

from chatapp.chat import generation, relay
from chatapp.chat.models import Message, Status
from tests.conftest import wait_for

from .live import message_pk, streamed, turn_articles

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def slow_announcement(monkeypatch):
    """A slow count of the viewers elsewhere (Redis under load): the news takes 0.3 s."""
    count = relay.watched_elsewhere

    async def slow_count(group: str) -> bool:
        answer = await count(group)
        await asyncio.sleep(0.3)
        return answer

    monkeypatch.setattr(relay, "watched_elsewhere", slow_count)


def text_before_the_news(conversation):
    async def check():
        running = generation.running(conversation.pk)
        return running is not None and running.reasoning and not running.announced

    return check


async def test_the_gateway_is_asked_while_the_viewers_are_told(
    settings, slow_announcement, sockets, alice_session, alice_conversation
):
    settings.SIMULATOR_CHUNK_DELAY = 0.002
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send(message="Write a long essay", reasoning_effort="low")

    assert await wait_for(text_before_the_news(alice_conversation))
    final = await socket.receive_final("complete")

    reply = await Message.objects.aget(pk=message_pk(final))
    shown_at = next(n for n, frame in enumerate(socket.frames) if turn_articles(frame))
    before_it = socket.frames[:shown_at]
    assert streamed(before_it, reply.pk, "reasoning") == ""
    assert streamed(socket.frames, reply.pk, "reasoning") == reply.reasoning
    assert streamed(socket.frames, reply.pk, "answer") == reply.content


async def test_a_tab_opened_before_the_news_gets_all_the_text(
    settings, slow_announcement, sockets, alice_session, alice_conversation
):
    settings.SIMULATOR_CHUNK_DELAY = 0.005
    tab_a = await sockets(alice_conversation.public_id, alice_session)
    await tab_a.send(message="Write a long essay", reasoning_effort="low")
    await wait_for(text_before_the_news(alice_conversation))

    tab_b = await sockets(alice_conversation.public_id, alice_session)
    final = await tab_b.receive_final("complete")

    reply = await Message.objects.aget(pk=message_pk(final))
    assert turn_articles("".join(tab_b.frames)) is not None
    assert streamed(tab_b.frames, reply.pk, "reasoning") == reply.reasoning
    assert streamed(tab_b.frames, reply.pk, "answer") == reply.content


async def test_a_stop_before_the_news_keeps_the_answer_in_order(
    settings, slow_announcement, sockets, alice_session, alice_conversation
):
    """Stopped from another tab meanwhile, the answer is shown stopped after its turn."""
    settings.SIMULATOR_CHUNK_DELAY = 0.005
    tab_a = await sockets(alice_conversation.public_id, alice_session)
    tab_b = await sockets(alice_conversation.public_id, alice_session)
    await tab_a.send(message="Write a long essay", reasoning_effort="low")
    await wait_for(text_before_the_news(alice_conversation))

    await tab_b.send(action="stop")
    final = await tab_a.receive_final("stopped")

    reply = await Message.objects.aget(pk=message_pk(final))
    assert reply.status == Status.STOPPED and reply.reasoning
    assert turn_articles("".join(tab_a.frames[:-1])) is not None
    assert streamed(tab_a.frames, reply.pk, "reasoning") == reply.reasoning


async def test_nothing_is_saved_before_the_news(
    settings, slow_announcement, sockets, alice_session, alice_conversation
):
    """A page loaded meanwhile shows the saved text, and its socket then gets all of it."""
    settings.SIMULATOR_CHUNK_DELAY = 0.005
    settings.CHAT_PERSIST_SECONDS = 0.02
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send(message="Write a long essay", reasoning_effort="low")
    await wait_for(text_before_the_news(alice_conversation))
    await asyncio.sleep(0.1)  # five saving rounds

    reply = await Message.objects.aget(conversation=alice_conversation, role="assistant")
    assert generation.running(alice_conversation.pk).announced is False
    assert (reply.reasoning, reply.content) == ("", "")
    await socket.receive_final("complete")


async def test_a_page_loaded_before_the_news_shows_the_turn_once(
    settings, slow_announcement, sockets, alice_session, alice_conversation
):
    """The page already shows the new turn (it read it from the database): the news adds none."""
    settings.SIMULATOR_CHUNK_DELAY = 0.005
    tab_a = await sockets(alice_conversation.public_id, alice_session)
    await tab_a.send(message="Write a long essay", reasoning_effort="low")
    await wait_for(text_before_the_news(alice_conversation))
    reply = await Message.objects.aget(conversation=alice_conversation, role="assistant")

    page = await sockets(alice_conversation.public_id, alice_session, seen=reply.pk)
    await page.receive_final("complete")

    await reply.arefresh_from_db()
    assert not any(turn_articles(frame) for frame in page.frames)
    assert streamed(page.frames, reply.pk, "reasoning") == reply.reasoning
