"""Input the database cannot store, and errors nobody planned for, lose nothing.

PostgreSQL refuses NUL in text, and a usage count past its integer range.
From a member's message or a gateway's stream, either failed the save: the
socket dropped, or the answer stayed 'streaming' with its text unsaved. An
error in handling a frame closed the socket with nothing said.
"""

import json

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.db import close_old_connections

from chatapp.chat import relay, services
from chatapp.chat.models import Conversation, Message, Role, Status
from chatapp.gateways.models import ModelOffering, Provider
from chatapp.usage.models import UsageRecord
from tests.providers.scripted import Answer, ScriptedGateway

pytestmark = pytest.mark.django_db(transaction=True)


def sse(*payloads: dict) -> bytes:
    chunks = [f"data: {json.dumps(payload)}\n\n" for payload in payloads]
    return ("".join(chunks) + "data: [DONE]\n\n").encode()


def delta(**fields) -> dict:
    return {"choices": [{"index": 0, "delta": fields, "finish_reason": None}]}


NUL_STREAM = sse(
    delta(reasoning_content="Weigh\x00ing it"),
    delta(content="The an\x00swer."),
    delta(
        tool_calls=[
            {"index": 0, "id": "call_\x001", "function": {"name": "look\x00up", "arguments": "{}"}}
        ]
    ),
    {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    # Past any request's size, and past PostgreSQL's integer.
    {"choices": [], "usage": {"prompt_tokens": 3_000_000_000, "completion_tokens": 7}},
)


@pytest.fixture
async def odd_gateway():
    gateway = ScriptedGateway()
    await gateway.start()
    gateway.will_answer(Answer(body=NUL_STREAM))

    def offer() -> None:
        provider = Provider.objects.create(name="Odd gateway", base_url=gateway.base_url)
        ModelOffering.objects.create(provider=provider, model_id="o4-mini")

    await sync_to_async(offer)()
    yield gateway
    await gateway.stop()


async def test_a_nul_in_the_gateways_stream_is_dropped_and_the_answer_saved(
    odd_gateway, sockets, alice_session, alice_conversation
):
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send(message="Go on", model="o4-mini", reasoning_effort="low")

    final = await socket.receive_final("complete")

    assert "The answer." in final.visible_text
    reply = await Message.objects.aget(role=Role.ASSISTANT)
    assert (reply.reasoning, reply.content) == ("Weighing it", "The answer.")
    assert reply.tool_calls == [{"id": "call_1", "name": "lookup", "arguments": "{}"}]
    usage = await UsageRecord.objects.aget(message=reply)
    # Garbage is no count: our estimate stands in, and says so.
    assert usage.estimated and 0 < usage.prompt_tokens < 100


async def test_a_nul_in_the_members_message_is_dropped_and_the_message_sent(
    sockets, alice_session, alice_conversation
):
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send(message="Pasted\x00 text", model="o4-mini", reasoning_effort="low")

    await socket.receive_final("complete")
    question = await Message.objects.aget(role=Role.USER)
    assert question.content == "Pasted text"
    assert (await Conversation.objects.aget()).title == "Pasted text"


async def test_a_send_to_a_conversation_deleted_elsewhere_says_so(
    sockets, alice_session, alice_conversation
):
    socket = await sockets(alice_conversation.public_id, alice_session)
    await alice_conversation.adelete()  # in another tab

    await socket.send(message="Anyone?", model="o4-mini", reasoning_effort="low")

    assert "was deleted" in await socket.receive_status()
    assert await Message.objects.acount() == 0


async def test_an_unexpected_error_is_reported_and_the_socket_stays_usable(
    monkeypatch, sockets, alice_session, alice_conversation
):
    send_message = services.send_message

    async def broken(*args, **kwargs):
        raise RuntimeError("a fault nobody planned for")

    monkeypatch.setattr(services, "send_message", broken)
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send(message="First try", model="o4-mini", reasoning_effort="low")

    assert "Something went wrong on our side" in await socket.receive_status()
    monkeypatch.setattr(services, "send_message", send_message)
    await socket.send(message="Second try", model="o4-mini", reasoning_effort="low")
    await socket.receive_final("complete")
    assert (await Message.objects.aget(role=Role.ASSISTANT)).status == Status.COMPLETE


async def test_a_socket_that_crashed_is_no_longer_relayed_to(
    monkeypatch, sockets, alice_session, alice_conversation
):
    socket = await sockets(alice_conversation.public_id, alice_session)
    group = alice_conversation.group_name
    assert relay._viewers.get(group)

    async def crash(self, event):
        raise RuntimeError("a consumer bug")

    monkeypatch.setattr("chatapp.chat.consumers.ConversationConsumer.chat_html", crash)
    await relay.get_channel_layer().group_send(group, {"type": "chat.html", "html": "<p>"})
    with pytest.raises(RuntimeError, match="a consumer bug"):  # daphne then closes it: 1011
        await socket.communicator.wait(timeout=5)

    assert group not in relay._viewers
    socket.connected = False
    # Its last query ran on the ORM's thread, whose connection nothing closes
    # after a crash; released, or PostgreSQL refuses to drop the test database.
    await database_sync_to_async(close_old_connections)()
