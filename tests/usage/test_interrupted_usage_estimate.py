"""An answer its process died writing was still billed: its question and what streamed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from chatapp.chat import recovery
from chatapp.chat.models import Message, Role, Status
from chatapp.providers.parsing import estimate_tokens
from chatapp.usage.models import UsageRecord

pytestmark = pytest.mark.django_db(transaction=True)

QUESTION = "Walk me through how a B-tree splits a full node, with an example. " * 20


async def orphaned_answer(conversation, *, model: str) -> Message:
    """An answer left streaming by a process whose last heartbeat was long ago."""
    question = await Message.objects.acreate(
        conversation=conversation, role=Role.USER, content=QUESTION
    )
    reply = await Message.objects.acreate(
        conversation=conversation,
        role=Role.ASSISTANT,
        in_reply_to=question,
        status=Status.STREAMING,
        model=model,
        reasoning_effort="low",
        reasoning="Split the node at its median key. " * 30,
        content="A full node of order 4 holds three keys; " * 10,
    )
    started = timezone.now() - timedelta(minutes=5)
    await Message.objects.filter(pk=reply.pk).aupdate(
        created_at=started, heartbeat_at=started + timedelta(seconds=42)
    )
    return await Message.objects.aget(pk=reply.pk)


async def test_an_interrupted_answer_counts_its_question_and_what_streamed(alice_conversation):
    reply = await orphaned_answer(alice_conversation, model="o4-mini")

    assert await recovery.interrupt_orphans() == 1

    record = await UsageRecord.objects.aget()
    assert record.outcome == "interrupted"
    assert record.estimated
    assert record.prompt_tokens >= estimate_tokens(QUESTION), "the question was sent and billed"
    assert record.completion_tokens == estimate_tokens(reply.reasoning + reply.content)
    assert record.reasoning_tokens == estimate_tokens(reply.reasoning)
    assert record.cost > 0
    assert record.duration_ms == 42_000, "as long as its heartbeat was seen"
    assert (await Message.objects.aget(pk=reply.pk)).status == Status.INTERRUPTED


async def test_a_model_no_longer_offered_still_counts_what_streamed(alice_conversation):
    reply = await orphaned_answer(alice_conversation, model="retired-model")

    assert await recovery.interrupt_orphans() == 1

    record = await UsageRecord.objects.aget()
    assert (record.outcome, record.model) == ("interrupted", "retired-model")
    assert record.estimated
    assert record.completion_tokens == estimate_tokens(reply.reasoning + reply.content)
    assert record.cost == 0, "no prices to charge it at"
