"""An answer its process died writing was still billed: its question and what streamed."""

from datetime import timedelta
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from chatapp.chat import recovery
from chatapp.chat.models import Attachment, ImageBlob, Message, Role, Status
from chatapp.gateways.models import ModelOffering, Provider
from chatapp.providers.parsing import IMAGE_ESTIMATE_TOKENS, estimate_tokens
from chatapp.usage.models import UsageRecord
from tests.chat.live import deltas

pytestmark = pytest.mark.django_db(transaction=True)

QUESTION = "Walk me through how a B-tree splits a full node, with an example. " * 20


async def orphaned_answer(
    conversation, *, model: str, images: int = 0, provider: str = ""
) -> Message:
    """An answer left streaming by a process whose last heartbeat was long ago."""
    question = await Message.objects.acreate(
        conversation=conversation, role=Role.USER, content=QUESTION
    )
    for number in range(images):
        # Its file is gone (a lost volume): the estimate must not need it.
        blob = await ImageBlob.objects.acreate(
            sha256=f"{number:064d}",
            file=f"images/gone-{number}.png",
            content_type="image/png",
            width=1024,
            height=1024,
            size=1000,
        )
        await Attachment.objects.acreate(
            owner_id=conversation.owner_id, conversation=conversation, message=question, blob=blob
        )
    reply = await Message.objects.acreate(
        conversation=conversation,
        role=Role.ASSISTANT,
        in_reply_to=question,
        status=Status.STREAMING,
        model=model,
        provider=provider,
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


# The model answering, and what each earlier image adds to its prompt: a model
# without vision is sent none (a conversation switched from o4-mini to o3-mini).
IMAGE_TOKENS = [("o4-mini", IMAGE_ESTIMATE_TOKENS), ("o3-mini", 0), ("o1-mini", 0)]


@pytest.mark.parametrize(("model", "per_image"), IMAGE_TOKENS)
async def test_images_count_unread_and_only_for_a_model_that_sees_them(
    alice_conversation, model, per_image
):
    without_images = await orphaned_answer(alice_conversation, model=model)
    assert await recovery.interrupt_orphans() == 1
    text_only = (await UsageRecord.objects.aget(message_id=without_images.pk)).prompt_tokens
    await Message.objects.all().adelete()

    with_images = await orphaned_answer(alice_conversation, model=model, images=2)
    assert await recovery.interrupt_orphans() == 1

    record = await UsageRecord.objects.aget(message_id=with_images.pk)
    assert record.prompt_tokens == text_only + 2 * per_image


def offer_o4_mini(name: str, priority: int, price: str) -> None:
    provider = Provider.objects.create(
        name=name, base_url="http://127.0.0.1:9/v1", priority=priority
    )
    ModelOffering.objects.create(
        provider=provider,
        model_id="o4-mini",
        input_price=Decimal(price),
        cached_input_price=Decimal(price),
        output_price=Decimal(price),
    )


async def test_an_answer_failed_over_is_priced_at_the_gateway_that_answered(alice_conversation):
    await sync_to_async(offer_o4_mini)("Free gateway", 1, "0")
    await sync_to_async(offer_o4_mini)("Paid gateway", 2, "10")
    # The streaming saves name the gateway answering after the free one failed.
    await orphaned_answer(alice_conversation, model="o4-mini", provider="Paid gateway")

    assert await recovery.interrupt_orphans() == 1

    record = await UsageRecord.objects.aget()
    assert record.provider == "Paid gateway"
    tokens = record.prompt_tokens + record.completion_tokens
    assert record.cost == pytest.approx(Decimal(tokens) * 10 / 1_000_000, abs=Decimal("1e-6"))


async def test_a_model_no_longer_offered_still_counts_what_streamed(alice_conversation):
    reply = await orphaned_answer(alice_conversation, model="retired-model")

    assert await recovery.interrupt_orphans() == 1

    record = await UsageRecord.objects.aget()
    assert (record.outcome, record.model) == ("interrupted", "retired-model")
    assert record.estimated
    assert record.completion_tokens == estimate_tokens(reply.reasoning + reply.content)
    assert record.cost == 0, "no prices to charge it at"


async def test_an_answer_taken_for_dead_that_then_finishes_is_counted_once(
    settings, monkeypatch, sockets, alice_session, alice_conversation
):
    """Another process's recovery can think a stalled answer dead; the answer then ends."""
    settings.SIMULATOR_CHUNK_DELAY = 0.02
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send(message="Take your time", model="o4-mini", reasoning_effort="low")
    reply_id = await socket.receive_reply_id()
    await socket.receive_until(lambda f: deltas(f, reply_id, "reasoning"))

    # As recovery in another process sees it: not its own, and started before it.
    monkeypatch.setattr(recovery.generation, "all_running", list)
    monkeypatch.setattr(recovery, "PROCESS_STARTED", timezone.now() + timedelta(days=1))
    assert await recovery.interrupt_orphans(started_before_this_process=True) == 1
    await socket.receive_final("interrupted")
    await socket.receive_final("complete")

    assert (await Message.objects.aget(pk=reply_id)).status == Status.COMPLETE
    record = await UsageRecord.objects.aget(message_id=reply_id)
    assert record.outcome == "complete"
    assert not record.estimated, "the gateway's own figures"


async def test_an_answer_that_cannot_be_recovered_does_not_hold_up_the_others(
    alice_conversation, monkeypatch
):
    broken = await orphaned_answer(alice_conversation, model="o4-mini")
    fine = await orphaned_answer(alice_conversation, model="o4-mini")
    interrupt = recovery._interrupt

    def failing_for_the_broken_one(message):
        if message.pk == broken.pk:
            raise ValueError("a stored value recovery cannot read")
        return interrupt(message)

    monkeypatch.setattr(recovery, "_interrupt", failing_for_the_broken_one)

    assert await recovery.interrupt_orphans() == 1
    assert (await Message.objects.aget(pk=fine.pk)).status == Status.INTERRUPTED
    assert (await Message.objects.aget(pk=broken.pk)).status == Status.STREAMING
