"""Every gateway failure, as a member sees it: a clear sentence, the partial answer kept,
and the API key nowhere in the page, the logs or the websocket frames."""

import asyncio
import logging

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from chatapp.asgi import application
from chatapp.chat.models import Conversation, Message, Role, Status
from chatapp.gateways.models import ModelOffering, Provider
from chatapp.usage.models import UsageRecord

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "sk-journey-secret-4c0ffee5-do-not-leak"

# fault, what the member reads, whether part of the answer arrived before it broke
FAULTS = [
    ("401", "Sim gateway rejected the API key. An administrator needs to check", False),
    ("402", "Sim gateway reports that the account is out of credits.", False),
    ("404", "Sim gateway does not know this model", False),
    ("429", "Sim gateway is rate limiting requests. Try again in 1 s.", False),
    ("500", "Sim gateway had a server error (500). Try again in a moment.", False),
    ("503", "Sim gateway had a server error (503). Try again in a moment.", False),
    ("reset", "The connection to Sim gateway broke off during the answer.", True),
    ("stall", "Sim gateway sent nothing for 1 s, so the answer was given up.", True),
    ("malformed", "Sim gateway sent a malformed piece of the answer", True),
    ("error-event", "Sim gateway reported an error during the answer", True),
    ("no-done", "The connection to Sim gateway ended before the answer was complete.", True),
]


@pytest.fixture
async def sim_gateway(simulator, monkeypatch):
    monkeypatch.setenv("JOURNEY_KEY", SECRET)
    provider = await Provider.objects.acreate(
        name="Sim gateway",
        base_url=simulator.base_url,
        api_key_env="JOURNEY_KEY",
        read_timeout=1,
        deadline=20,
    )
    await ModelOffering.objects.acreate(provider=provider, model_id="o4-mini")
    return simulator


def _session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


async def _frames_until_finished(socket: WebsocketCommunicator, timeout: float = 30) -> list[str]:
    frames = []
    async with asyncio.timeout(timeout):
        while True:
            frame = await socket.receive_from(timeout=timeout)
            frames.append(frame)
            finished = 'hx-swap-oob="true"' in frame and 'data-role="assistant"' in frame
            if finished and 'data-status="streaming"' not in frame:
                return frames


@pytest.mark.parametrize(("fault", "sentence", "partial"), FAULTS, ids=[f[0] for f in FAULTS])
async def test_a_gateway_failure_reads_clearly_and_keeps_what_arrived(
    alice, sim_gateway, caplog, fault, sentence, partial
):
    caplog.set_level(logging.DEBUG)
    conversation = await Conversation.objects.acreate(owner=alice, model="o4-mini")
    cookie = await sync_to_async(_session_cookie)(alice)
    socket = WebsocketCommunicator(
        application,
        f"/ws/conversations/{conversation.public_id}/",
        headers=[(b"origin", b"http://127.0.0.1"), (b"cookie", cookie.encode())],
    )
    connected, _ = await socket.connect()
    assert connected
    await socket.send_json_to({"action": "send", "message": f"Explain tides #fault:{fault}"})
    frames = await _frames_until_finished(socket)
    await socket.disconnect()

    final = frames[-1]
    assert 'data-status="error"' in final
    assert sentence in final
    assert "Traceback" not in final
    reply = await Message.objects.aget(conversation=conversation, role=Role.ASSISTANT)
    assert reply.status == Status.ERROR
    assert sentence in reply.error
    assert bool(reply.content) is partial, "what arrived before the break is kept"
    if partial:
        assert reply.content in final or reply.rendered_html in final
    question = await Message.objects.aget(conversation=conversation, role=Role.USER)
    assert "Explain tides" in question.content
    assert await UsageRecord.objects.filter(message=reply, outcome="error").aexists()

    page = await sync_to_async(_page_for)(alice, conversation)
    assert sentence in page
    for place, text in [("frames", "".join(frames)), ("page", page), ("logs", caplog.text)]:
        assert SECRET not in text, f"the API key leaked into the {place}"


def _page_for(user, conversation) -> str:
    client = Client()
    client.force_login(user)
    return client.get(conversation.get_absolute_url()).content.decode()


# base URL of a gateway that cannot be reached, and what the member reads
UNREACHABLE = [
    ("refused", "http://127.0.0.1:9/v1", "Could not connect to Far gateway"),
    ("dns", "http://gateway.invalid/v1", "Could not connect to Far gateway"),
    ("tls", "https://127.0.0.1:{port}/v1", "Could not connect to Far gateway: the secure (TLS)"),
]


@pytest.fixture
async def plain_text_port():
    """A server that answers a TLS handshake in plain text, as a misconfigured proxy would."""

    async def answer(reader, writer):
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


@pytest.mark.parametrize(
    ("case", "base_url", "sentence"), UNREACHABLE, ids=[row[0] for row in UNREACHABLE]
)
async def test_an_unreachable_gateway_reads_clearly(
    alice, plain_text_port, monkeypatch, caplog, case, base_url, sentence
):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("JOURNEY_KEY", SECRET)
    provider = await Provider.objects.acreate(
        name="Far gateway",
        base_url=base_url.format(port=plain_text_port),
        api_key_env="JOURNEY_KEY",
        read_timeout=2,
        deadline=20,
    )
    await ModelOffering.objects.acreate(provider=provider, model_id="o4-mini")
    conversation = await Conversation.objects.acreate(owner=alice, model="o4-mini")
    cookie = await sync_to_async(_session_cookie)(alice)
    socket = WebsocketCommunicator(
        application,
        f"/ws/conversations/{conversation.public_id}/",
        headers=[(b"origin", b"http://127.0.0.1"), (b"cookie", cookie.encode())],
    )
    assert (await socket.connect())[0]
    await socket.send_json_to({"action": "send", "message": "Anyone there?"})
    frames = await _frames_until_finished(socket)
    await socket.disconnect()

    final = frames[-1]
    assert 'data-status="error"' in final
    assert sentence in final
    assert "Traceback" not in final and "httpx" not in final
    reply = await Message.objects.aget(conversation=conversation, role=Role.ASSISTANT)
    assert reply.status == Status.ERROR and sentence in reply.error
    for place, text in [("frames", "".join(frames)), ("logs", caplog.text)]:
        assert SECRET not in text, f"the API key leaked into the {place}"
