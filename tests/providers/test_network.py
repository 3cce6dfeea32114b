"""The gateway client's own network layer (chatapp.providers.network) under httpx.

Every gateway is reached through it: plain HTTP in the other provider tests,
here TLS as real gateways use it, connections a gateway closes while idle,
and answers larger than the read buffer.
"""

import asyncio
import json
import socket

import httpcore
import pytest

from chatapp.providers import NO_RETRY, ChatMessage, ChatRequest, Endpoint, network, stream_chat
from chatapp.providers import client as provider_client
from chatapp.providers.network import READ_HIGH_WATER, AsyncioBackend

from .helpers import API_KEY, collect, endpoint_at
from .scripted import Answer, ScriptedGateway

QUESTION = ChatRequest(
    model="o4-mini", messages=(ChatMessage(role="user", content="What is 17 times 24?"),)
)
RECORDED = Answer.recording("openai-o4-mini.sse")


@pytest.fixture
def trusted_authority(tls_certificates, monkeypatch):
    """The client trusts the tests' certificate authority, as it would a company's own CA."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_certificates.authority))
    provider_client.tls_context.cache_clear()
    yield
    provider_client.tls_context.cache_clear()


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
    first = await collect(stream_chat(endpoint, QUESTION, retry=NO_RETRY))

    keep_alive_gateway.hang_up()
    await asyncio.sleep(0.05)  # its closing reaches us
    # No retry: reusing the closed connection would fail this answer.
    second = await collect(stream_chat(endpoint, QUESTION, retry=NO_RETRY))

    assert second.error is None and second.answer == first.answer
    assert keep_alive_gateway.connections == 2


async def test_an_answer_larger_than_the_read_buffer_arrives_whole(gateway, monkeypatch):
    """Reading pauses while the buffer is full and resumes as the client reads."""
    pauses = []
    received = network._Connection.data_received

    def watching(connection, data):
        received(connection, data)
        pauses.append(connection.reading_paused)

    monkeypatch.setattr(network._Connection, "data_received", watching)
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
    assert any(pauses), "the reader fell behind, so reading should have paused"


async def test_the_client_reaches_gateways_through_this_layer(gateway, monkeypatch):
    """httpx takes no network backend, so the client sets its pool's: an httpx or
    httpcore upgrade that moves it must fail here, not fall back unnoticed."""
    connects = []
    connect_tcp = AsyncioBackend.connect_tcp

    async def counting(backend, host, port, **options):
        connects.append((host, port))
        return await connect_tcp(backend, host, port, **options)

    monkeypatch.setattr(AsyncioBackend, "connect_tcp", counting)
    gateway.will_answer(RECORDED)

    transcript = await collect(stream_chat(endpoint_at(gateway), QUESTION))

    assert transcript.answer
    assert connects == [("127.0.0.1", int(gateway.base_url.split(":")[2].split("/")[0]))]


async def test_an_address_that_swallows_packets_costs_a_moment_not_the_timeout(
    gateway, monkeypatch
):
    """Happy Eyeballs: a host's first address (broken IPv6, say) never answers."""
    black_hole = socket.socket()
    black_hole.bind(("127.0.0.1", 0))
    black_hole.listen(0)
    queue_fillers = [socket.socket() for _ in range(3)]
    for filler in queue_fillers:  # a full accept queue: later connects get no answer
        filler.setblocking(False)
        filler.connect_ex(black_hole.getsockname())
    gateway.will_answer(RECORDED)
    port = int(gateway.base_url.split(":")[2].split("/")[0])

    async def first_address_dead(host, _port):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", black_hole.getsockname()),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
        ]

    monkeypatch.setattr(network, "resolve", first_address_dead)
    endpoint = endpoint_at(gateway, connect=5)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        transcript = await collect(stream_chat(endpoint, QUESTION, retry=NO_RETRY))
    finally:
        for sock in (black_hole, *queue_fillers):
            sock.close()

    assert transcript.error is None and transcript.answer
    assert loop.time() - started < 2  # the connect timeout is 5 s


async def test_a_proxy_set_in_the_environment_carries_the_requests(gateway, monkeypatch):
    """HTTP(S)_PROXY is honoured as httpx honours it: here the scripted gateway is the proxy."""
    gateway.will_answer(RECORDED)
    proxy = gateway.base_url.removesuffix("/v1")
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    endpoint = Endpoint(name="Gateway", base_url="http://gateway.invalid/v1", api_key=API_KEY)

    transcript = await collect(stream_chat(endpoint, QUESTION, retry=NO_RETRY))

    assert transcript.error is None and transcript.answer
    assert gateway.received[0].headers["host"] == "gateway.invalid"


@pytest.fixture
async def paced_peer():
    """A TCP peer the test writes to when it wants, through ``peer.write``."""
    peer = asyncio.Queue()
    server = await asyncio.start_server(
        lambda _reader, writer: peer.put_nowait(writer), "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
    writer = await peer.get()
    yield stream, writer
    await stream.aclose()
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()


def write_later(writer: asyncio.StreamWriter, delay: float, data: bytes) -> None:
    asyncio.get_running_loop().call_later(delay, writer.write, data)


# Each read waits at most 0.5 s; pieces arrive 0.25 s apart, 1 s in all.
PACED = [(0.25, b"one"), (0.25, b"two"), (0.25, b"three"), (0.25, b"four")]


async def test_a_read_timeout_counts_from_each_wait_not_the_first(paced_peer):
    """A stream that keeps sending within the read timeout is never given up."""
    stream, writer = paced_peer
    received = []

    for delay, data in PACED:
        write_later(writer, delay, data)
        received.append(await stream.read(1024, timeout=0.5))

    assert received == [data for _, data in PACED]


async def test_a_silence_longer_than_the_read_timeout_is_given_up(paced_peer):
    stream, writer = paced_peer
    write_later(writer, 0.05, b"first")
    assert await stream.read(1024, timeout=5) == b"first"
    loop = asyncio.get_running_loop()
    started = loop.time()

    with pytest.raises(httpcore.ReadTimeout):
        await stream.read(1024, timeout=0.2)

    # After a wait with a longer timeout: the shorter one still applies.
    assert 0.15 < loop.time() - started < 1


async def test_a_read_without_a_timeout_waits_as_long_as_it_takes(paced_peer):
    stream, writer = paced_peer
    write_later(writer, 0.1, b"first")
    assert await stream.read(1024, timeout=0.5) == b"first"
    write_later(writer, 0.8, b"late")  # past the earlier wait's timeout

    assert await stream.read(1024, timeout=None) == b"late"
