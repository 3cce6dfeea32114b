"""Websocket frames of the wrong shape, or naming what is not this conversation's."""

import pytest
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile

from chatapp.chat.models import Attachment, Conversation, ImageBlob, Message, Role
from chatapp.chat.services import attach_images
from tests.images.test_attachments import png

pytestmark = pytest.mark.django_db(transaction=True)


async def _answered(conversation) -> Message:
    question = await Message.objects.acreate(conversation=conversation, role=Role.USER, content="q")
    return await Message.objects.acreate(
        conversation=conversation, role=Role.ASSISTANT, in_reply_to=question, content="a"
    )


async def test_regenerating_another_conversations_answer_is_refused(
    sockets, alice, alice_session, alice_conversation, bob_conversation
):
    await _answered(alice_conversation)
    other = await Conversation.objects.acreate(owner=alice, model="o4-mini")
    theirs = await _answered(bob_conversation)
    mine_elsewhere = await _answered(other)
    socket = await sockets(alice_conversation.public_id, alice_session)
    for message_id in (theirs.pk, mine_elsewhere.pk, [theirs.pk], {"id": 1}, 10**30):
        await socket.send(action="regenerate", message_id=message_id)
        assert "Only the last answer" in await socket.receive_status()
    assert await Message.objects.acount() == 6


async def test_another_members_image_cannot_be_sent(
    sockets, alice_session, bob, bob_conversation, alice_conversation
):
    blob = await ImageBlob.objects.acreate(
        sha256="0" * 64, content_type="image/png", width=1, height=1, size=1
    )
    theirs = await Attachment.objects.acreate(owner=bob, conversation=bob_conversation, blob=blob)
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send(message="hi", attachments=[str(theirs.public_id)])
    assert "not found" in await socket.receive_status()
    await socket.send(message="hi", attachments=[{"id": 1}])
    assert "could not be read" in await socket.receive_status()
    assert await Message.objects.acount() == 0


@pytest.mark.parametrize(
    "frame",
    ['{"action": ["send"]}', '{"action": {"a": 1}}', '{"action": null}', '{"action": 5}'],
)
async def test_an_action_that_is_not_text(frame, sockets, alice_session, alice_conversation):
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send_raw(frame)
    shown = await socket.receive_status()
    assert "Something went wrong" not in shown


async def test_a_message_with_half_an_emoji_is_sent(sockets, alice_session, alice_conversation):
    """JSON.stringify writes a lone surrogate (a broken emoji pasted in) as an escape."""
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send_raw('{"message": "broken \\ud83d emoji", "reasoning_effort": "low"}')
    await socket.receive_final("complete")
    question = await Message.objects.filter(role=Role.USER).aget()
    assert question.content == "broken \ufffd emoji"


@pytest.mark.parametrize("depth", [5_000, 100_000])
async def test_a_deeply_nested_frame_is_refused_politely(
    depth, sockets, alice_session, alice_conversation
):
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send_raw('{"message": "hi", "x": ' + "[" * depth + "]" * depth + "}")
    assert "could not be read" in await socket.receive_status()
    # The socket is still listening.
    await socket.send(action="stop")
    assert "Nothing is being written" in await socket.receive_status()


async def test_an_image_named_in_capitals_is_sent_or_refused_plainly(
    settings, tmp_path, sockets, alice, alice_session, alice_conversation
):
    """A UUID in another spelling finds the image, then failed to look it up by its own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    upload = SimpleUploadedFile("red.png", png(), content_type="image/png")
    [mine] = await sync_to_async(attach_images)(alice_conversation, [upload])
    socket = await sockets(alice_conversation.public_id, alice_session)
    await socket.send(
        message="What colour?", attachments=[str(mine.public_id).upper()], model="o4-mini"
    )
    final = await socket.receive_final("complete")
    assert final is not None
    await mine.arefresh_from_db()
    assert mine.message_id is not None
