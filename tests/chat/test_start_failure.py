"""A send that fails after its turn is saved does not leave the answer "being written".

The turn is committed first; reading the history back (with its images),
building the request and rendering the turn come after. When one of those
failed, the answer stayed streaming with nothing writing it, and every next
send was refused as "still being written" until recovery came round.
"""

import pytest

from chatapp.chat import generation, services
from chatapp.chat.models import Message, Role, Status

pytestmark = pytest.mark.django_db(transaction=True)

BROKEN = "Something went wrong on our side. Reload the page and try again."


@pytest.fixture
def unreadable_history(monkeypatch):
    """Building the request fails once, as it does when a stored image cannot be read."""
    build = generation.build_request
    failures = []

    def failing_once(*args, **kwargs):
        if not failures:
            failures.append(True)
            raise FileNotFoundError("media/images/3f2a.png")
        return build(*args, **kwargs)

    monkeypatch.setattr(generation, "build_request", failing_once)
    return failures


async def test_a_send_that_fails_after_saving_frees_the_conversation(
    unreadable_history, sockets, alice_session, alice_conversation
):
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send(message="Describe the chart", reasoning_effort="low")

    assert await socket.receive_status() == BROKEN
    failed = await Message.objects.aget(conversation=alice_conversation, role=Role.ASSISTANT)
    assert failed.status == Status.ERROR
    assert failed.error == generation.INTERNAL_ERROR
    assert failed.generation_channel == ""

    reply_id = await socket.ask("Describe the chart again")
    answer = await Message.objects.aget(pk=reply_id)
    assert answer.status == Status.COMPLETE and answer.content


async def test_a_regeneration_that_fails_after_saving_frees_the_conversation(
    monkeypatch, sockets, alice_session, alice_conversation
):
    socket = await sockets(alice_conversation.public_id, alice_session)
    first = await socket.ask("Explain heaps")
    render = services.render_to_string
    failures = []

    def failing_once(template, context=None, *args, **kwargs):
        if context and context.get("new_version") and not failures:
            failures.append(True)
            raise RuntimeError("a template broke")
        return render(template, context, *args, **kwargs)

    monkeypatch.setattr(services, "render_to_string", failing_once)
    await socket.send(action="regenerate", message_id=first, reasoning_effort="low")

    assert await socket.receive_status() == BROKEN
    newest = await Message.objects.filter(role=Role.ASSISTANT).alast()
    assert newest.pk != first and newest.status == Status.ERROR
    await socket.send(action="regenerate", message_id=newest.pk, reasoning_effort="low")
    final = await socket.receive_final("complete")
    assert final is not None
