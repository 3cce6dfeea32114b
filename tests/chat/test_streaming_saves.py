"""Text being streamed is saved in batches, and a finished answer is never overwritten.

The batched save writes every streaming answer of a process at once; a
reload mid-answer shows what it saved, and recovery reads its heartbeat.
An answer whose final save got there first must keep its final text.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from chatapp.chat.models import Message, Role, Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def answers(alice_conversation):
    def answer(status: str, content: str = "") -> Message:
        return Message.objects.create(
            conversation=alice_conversation, role=Role.ASSISTANT, status=status, content=content
        )

    return answer


def test_streaming_answers_get_their_text_and_a_heartbeat(answers):
    first, second = answers(Status.STREAMING), answers(Status.STREAMING)
    before = timezone.now()

    thought = "Think of a <heap> & its\\nrules"
    Message.save_streaming_text(
        [(first.pk, "Heaps are trees", thought, "Gateway A"), (second.pk, "", "é 中", "Gateway B")]
    )

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.content, first.reasoning, first.provider) == (
        "Heaps are trees",
        thought,
        "Gateway A",
    )
    assert (second.content, second.reasoning, second.provider) == ("", "é 中", "Gateway B")
    assert first.heartbeat_at >= before and second.heartbeat_at >= before
    assert first.status == second.status == Status.STREAMING


def test_an_answer_finished_meanwhile_keeps_its_final_text(answers):
    finished = answers(Status.COMPLETE, content="The whole answer.")

    Message.save_streaming_text([(finished.pk, "The whole", "", "Gateway A")])

    finished.refresh_from_db()
    assert finished.content == "The whole answer."
    assert finished.heartbeat_at is None


def test_recovery_sees_the_heartbeat_as_recent(answers):
    streaming = answers(Status.STREAMING)

    Message.save_streaming_text([(streaming.pk, "so far", "", "Gateway A")])

    recent = timezone.now() - timedelta(seconds=5)
    assert Message.objects.filter(pk=streaming.pk, heartbeat_at__gt=recent).exists()
