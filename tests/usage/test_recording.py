"""Every completion leaves one usage record: tokens, cost from the catalog, timings, outcome."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from chatapp.chat.models import Conversation, Message
from chatapp.providers import family_for
from chatapp.usage.models import UsageRecord
from tests.chat.live import deltas, message_pk

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("model", "effort", "recorded_effort"),
    [("o4-mini", "low", "low"), ("o3-mini", "high", "high"), ("o1-mini", "high", "")],
)
async def test_a_completion_records_tokens_and_cost(
    sockets, alice_session, alice_conversation, model, effort, recorded_effort
):
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send(message="How do B-trees stay balanced?", model=model, reasoning_effort=effort)
    reply = await Message.objects.aget(pk=message_pk(await socket.receive_final("complete")))

    record = await UsageRecord.objects.aget()
    assert (record.message_id, record.conversation_id) == (reply.pk, alice_conversation.pk)
    assert record.user_id == alice_conversation.owner_id
    assert (record.provider, record.model, record.reasoning_effort) == (
        "Simulator",
        model,
        recorded_effort,
    )
    assert record.outcome == "complete"
    assert not record.estimated
    assert record.prompt_tokens > 0
    assert record.completion_tokens > record.reasoning_tokens > 0
    assert record.reasoning_tokens == reply.reasoning_tokens
    prices = family_for(model).prices
    expected = prices.cost(record.prompt_tokens, record.cached_tokens, record.completion_tokens)
    assert record.cost == expected.quantize(Decimal("0.000001"))
    assert record.cost > 0
    assert record.time_to_first_token_ms is not None
    assert 0 <= record.time_to_first_token_ms <= record.duration_ms


async def test_higher_effort_costs_more_reasoning(sockets, alice_session, alice_conversation):
    socket = await sockets(alice_conversation.public_id, alice_session)
    for effort in ["low", "high"]:
        await socket.send(message="Same question", reasoning_effort=effort)
        await socket.receive_final("complete")
    low, high = [r async for r in UsageRecord.objects.order_by("pk")]
    assert (low.reasoning_effort, high.reasoning_effort) == ("low", "high")
    assert high.reasoning_tokens > low.reasoning_tokens
    assert high.cost > low.cost


async def test_a_stopped_completion_is_recorded_once_as_stopped(
    settings, sockets, alice_session, alice_conversation
):
    settings.SIMULATOR_CHUNK_DELAY = 0.02
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send(message="Take your time", reasoning_effort="low")
    reply_id = await socket.receive_reply_id()
    await socket.receive_until(lambda f: deltas(f, reply_id, "reasoning"))
    await socket.send(action="stop")
    await socket.receive_final("stopped")

    record = await UsageRecord.objects.aget()
    assert (record.message_id, record.outcome) == (reply_id, "stopped")
    assert record.estimated, "the gateway sent no usage for a stopped answer"
    assert record.time_to_first_token_ms is not None


async def test_a_failed_completion_is_recorded_as_an_error(
    sockets, alice_session, alice_conversation
):
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send(message="Please fail #fault:401")
    failed = await socket.receive_final("error")
    record = await UsageRecord.objects.aget()
    assert (record.message_id, record.outcome) == (message_pk(failed), "error")
    assert record.cost == 0


async def test_records_outlive_the_conversation_and_the_member(
    sockets, alice_session, alice_conversation
):
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send(message="Something to bill", reasoning_effort="low")
    await socket.receive_final("complete")
    cost = (await UsageRecord.objects.aget()).cost

    await Conversation.objects.filter(pk=alice_conversation.pk).adelete()
    record = await UsageRecord.objects.aget()
    assert (record.conversation_id, record.message_id) == (None, None)
    assert record.user_id == alice_conversation.owner_id
    assert record.cost == cost

    await get_user_model().objects.filter(pk=alice_conversation.owner_id).adelete()
    record = await UsageRecord.objects.aget()
    assert record.user_id is None
    assert record.cost == cost
