"""A model offered by several gateways keeps answering when the first one fails."""

import asyncio
import contextlib
import json

import pytest
from asgiref.sync import sync_to_async

from chatapp.chat import generation, services
from chatapp.chat.models import Conversation, Message, Role, Status
from chatapp.gateways.models import ModelOffering, Provider
from chatapp.providers.simulator import SimulatorServer
from chatapp.usage.models import UsageRecord
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "sk-failover-secret-0123456789"


class AlwaysFailing:
    """A gateway that answers every request with one status (a local test server)."""

    def __init__(self, status: int, code: str):
        self.status, self.code = status, code
        self.requests = 0

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/v1"

    async def _serve(self, reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        self.requests += 1
        body = json.dumps({"error": {"message": f"echo {SECRET}", "code": self.code}}).encode()
        writer.write(
            f"HTTP/1.1 {self.status} Oops\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()

    async def stop(self):
        self.server.close()
        await self.server.wait_closed()


@pytest.fixture
async def failing_gateway():
    gateway = AlwaysFailing(503, "service_unavailable")
    base_url = await gateway.start()
    yield gateway, base_url
    await gateway.stop()


def _provider(
    name: str, base_url: str, priority: int, model_id: str, key_variable="FAILOVER_TEST_KEY"
) -> Provider:
    provider = Provider.objects.create(
        name=name, base_url=base_url, api_key_env=key_variable, priority=priority
    )
    ModelOffering.objects.create(provider=provider, model_id=model_id)
    return provider


async def _send_and_finish(user, text: str) -> Message:
    conversation = await Conversation.objects.acreate(owner=user, model="o4-mini")
    reply = await services.send_message(conversation, {"message": text, "model": "o4-mini"})
    await asyncio.wait_for(generation.running(conversation.pk).task, 30)
    return await Message.objects.aget(pk=reply.pk)


async def test_a_failing_gateway_hands_over_to_the_next(
    alice, simulator, failing_gateway, monkeypatch
):
    monkeypatch.setenv("FAILOVER_TEST_KEY", SECRET)
    gateway, failing_url = failing_gateway
    await sync_to_async(_provider)("Gateway A", failing_url, 1, "openai/o4-mini")
    await sync_to_async(_provider)("Gateway B", simulator.base_url, 2, "o4-mini-2025-04-16")

    reply = await _send_and_finish(alice, "Which gateway answers?")

    assert gateway.requests >= 1
    assert reply.status == Status.COMPLETE
    assert reply.provider == "Gateway B"
    assert reply.model == "o4-mini-2025-04-16"
    assert "simulated answer" in reply.content
    usage = await UsageRecord.objects.aget(message=reply)
    assert (usage.provider, usage.outcome) == ("Gateway B", "complete")


async def test_a_gateway_whose_key_cannot_be_sent_hands_over_to_the_next(
    alice, simulator, monkeypatch
):
    monkeypatch.setenv("FAILOVER_TEST_KEY", SECRET)
    # Pasted with a non-breaking space, which no HTTP header can carry.
    monkeypatch.setenv("PASTED_TEST_KEY", f"{SECRET}\u00a0")
    await sync_to_async(_provider)("Gateway A", simulator.base_url, 1, "o4-mini", "PASTED_TEST_KEY")
    await sync_to_async(_provider)("Gateway B", simulator.base_url, 2, "o4-mini-2025-04-16")

    reply = await _send_and_finish(alice, "Which gateway answers?")

    assert reply.status == Status.COMPLETE
    assert reply.provider == "Gateway B"
    assert "simulated answer" in reply.content


async def test_while_it_streams_the_answer_names_the_gateway_that_took_over(
    alice, failing_gateway, monkeypatch
):
    """What recovery prices an answer at, should its process die mid-answer."""
    monkeypatch.setenv("FAILOVER_TEST_KEY", SECRET)
    _, failing_url = failing_gateway
    slow = SimulatorServer(chunk_delay=0.02)
    await slow.start()
    await sync_to_async(_provider)("Gateway A", failing_url, 1, "openai/o4-mini")
    await sync_to_async(_provider)("Gateway B", slow.base_url, 2, "o4-mini-2025-04-16")
    conversation = await Conversation.objects.acreate(owner=alice, model="o4-mini")
    reply = await services.send_message(conversation, {"message": "Think it over"})
    task = generation.running(conversation.pk).task

    async def saved_mid_answer() -> bool:
        message = await Message.objects.aget(pk=reply.pk)
        return message.status == Status.STREAMING and message.reasoning != ""

    try:
        await wait_for(saved_mid_answer, timeout=10)
        assert (await Message.objects.aget(pk=reply.pk)).provider == "Gateway B"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await slow.stop()


async def test_when_every_gateway_fails_the_person_reads_why(
    alice, failing_gateway, monkeypatch, settings
):
    monkeypatch.setenv("FAILOVER_TEST_KEY", SECRET)
    _, failing_url = failing_gateway
    await sync_to_async(_provider)("Gateway A", failing_url, 1, "o4-mini")

    reply = await _send_and_finish(alice, "Anyone there?")

    assert reply.status == Status.ERROR
    assert "Gateway A" in reply.error and "server error" in reply.error
    assert SECRET not in reply.error
    user_turns = await Message.objects.filter(role=Role.USER).acount()
    assert user_turns == 1, "the question is kept"
