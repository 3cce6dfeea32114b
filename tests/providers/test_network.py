"""The gateway client's own network layer (chatapp.providers.network) under httpx.

Every gateway is reached through it: plain HTTP in the other provider tests,
here TLS as real gateways use it, connections a gateway closes while idle,
and answers larger than the read buffer.
"""

import asyncio
import json

import pytest

from chatapp.providers import ChatMessage, ChatRequest, stream_chat
from chatapp.providers import client as provider_client
from chatapp.providers.network import READ_HIGH_WATER, AsyncioBackend

from .helpers import collect, endpoint_at
from .scripted import Answer, ScriptedGateway

QUESTION = ChatRequest(
    model="o4-mini", messages=(ChatMessage(role="user", content="What is 17 times 24?"),)
)
RECORDED = Answer.recording("openai-o4-mini.sse")


@pytest.fixture
def trusted_authority(tls_certificates, monkeypatch):
    """The client trusts the tests' certificate authority, as it would a company's own CA."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_certificates.authority))
    provider_client._tls_context.cache_clear()
    yield
    provider_client._tls_context.cache_clear()


@pytest.fixture
async def tls_gateway(tls_certificates):
    server = ScriptedGateway(keep_alive=True, tls=tls_certificates.server_context())
    await server.start()
    yield server
    await server.stop()


async def test_answers_stream_over_tls_and_share_one_connection(trusted_authority, tls_gateway):
    tls_gateway.will_answer(RECORDED)
    endpoint = endpoint_at(tls_gateway)
    assert endpoint.base_url.startswith("https://")

    answers = [(await collect(stream_chat(endpoint, QUESTION))).answer for _ in range(3)]

    assert answers[0] and answers == [answers[0]] * 3
    assert tls_gateway.connections == 1


async def test_a_connection_the_gateway_closed_while_idle_is_not_used_again(keep_alive_gateway):
    keep_alive_gateway.will_answer(RECORDED)
    endpoint = endpoint_at(keep_alive_gateway)
    first = await collect(stream_chat(endpoint, QUESTION))

    keep_alive_gateway.hang_up()
    await asyncio.sleep(0.05)  # its closing reaches us
    second = await collect(stream_chat(endpoint, QUESTION))

    assert second.error is None and second.answer == first.answer
    assert keep_alive_gateway.connections == 2


async def test_an_answer_larger_than_the_read_buffer_arrives_whole(gateway):
    """Reading pauses while the buffer is full and resumes as the client reads."""
    pieces = [f"piece {n:05d} " + "x" * 200 for n in range(4 * READ_HIGH_WATER // 200)]
    events = [
        {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
        for piece in pieces
    ]
    events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    body = "".join(f"data: {json.dumps(event)}\n\n" for event in events) + "data: [DONE]\n\n"
    gateway.will_answer(Answer(body=body.encode()))

    stream = stream_chat(endpoint_at(gateway), QUESTION)
    first = await anext(stream)
    await asyncio.sleep(0.3)  # a busy reader: the gateway sends on meanwhile
    transcript = await collect(stream)

    assert transcript.error is None
    assert first.text + transcript.answer == "".join(pieces)


async def test_the_client_reaches_gateways_through_this_layer():
    """httpx takes no network backend, so the client sets its pool's: an httpx or
    httpcore upgrade that moves it must fail here, not fall back unnoticed."""
    pool = provider_client._client()._transport._pool
    assert isinstance(pool._network_backend, AsyncioBackend)
