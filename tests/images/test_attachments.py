"""Images people attach: private to the conversation, stored once, sent only to vision models."""

import asyncio
import io
import json

import jsonschema
import pytest
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from chatapp.chat import generation, services
from chatapp.chat.models import Attachment, Conversation, ImageBlob, Message, Status
from chatapp.gateways.models import ModelOffering, Provider
from tests.chat.dom import by_role, parse
from tests.images.helpers import upload
from tests.providers.scripted import RECORDINGS, Answer, ScriptedGateway

CONTRACT = json.loads(
    (RECORDINGS.parent.parent / "contracts" / "openai-chat-completions.schema.json").read_text()
)
REQUEST_SCHEMA = jsonschema.Draft202012Validator(
    {**CONTRACT, "$ref": "#/$defs/CreateChatCompletionRequest"}
)


def png(width: int = 64, height: int = 48, colour=(255, 0, 0)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def alice_client(alice):
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(bob):
    client = Client()
    client.force_login(bob)
    return client


@pytest.fixture
def conversation(alice):
    return Conversation.objects.create(owner=alice, model="o4-mini")


@pytest.mark.django_db
def test_an_attached_image_is_shown_only_to_those_who_may_see_the_conversation(
    alice_client, bob_client, conversation
):
    response = upload(alice_client, conversation, png())
    assert response.status_code == 200
    page = response.content.decode()
    assert 'alt="Image to send: red.png (64×48)"' in page
    attachment = Attachment.objects.get()
    assert f'name="attachments" value="{attachment.public_id}"' in page

    image = alice_client.get(attachment.get_absolute_url())
    assert image.status_code == 200
    assert image["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(b"".join(image.streaming_content))).size == (64, 48)

    assert bob_client.get(attachment.get_absolute_url()).status_code == 404
    anonymous = Client().get(attachment.get_absolute_url())
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert "/media/" not in page and str(attachment.blob.file.name) not in page


@pytest.mark.django_db
def test_nobody_uploads_into_someone_elses_conversation(bob_client, conversation):
    assert upload(bob_client, conversation, png()).status_code == 404
    assert not Attachment.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("notes.png", b"just some text, honestly", "is not a PNG, JPEG, WebP or GIF image"),
        ("drawing.png", b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', "is not a PNG"),
    ],
)
def test_a_file_that_is_not_an_image_is_refused_with_a_reason(
    alice_client, conversation, name, data, message
):
    response = upload(alice_client, conversation, data, name)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ImageBlob.objects.exists()


@pytest.mark.django_db
def test_the_same_image_is_stored_once(alice_client, conversation, settings):
    upload(alice_client, conversation, png())
    upload(alice_client, conversation, png())
    assert Attachment.objects.count() == 2
    assert ImageBlob.objects.count() == 1
    stored = list((settings.MEDIA_ROOT / "private").rglob("*"))
    assert len([path for path in stored if path.is_file()]) == 1


@pytest.mark.django_db
def test_more_images_than_allowed_are_refused(alice_client, conversation, settings):
    settings.CHAT_MAX_IMAGES_PER_MESSAGE = 2
    upload(alice_client, conversation, png(colour=(1, 2, 3)))
    upload(alice_client, conversation, png(colour=(4, 5, 6)))
    response = upload(alice_client, conversation, png(colour=(7, 8, 9)))
    assert response.status_code == 400
    assert "at most 2 images" in response.content.decode()


@pytest.mark.django_db
def test_an_oversized_upload_is_not_said_to_be_the_limits_size(
    alice_client, conversation, settings
):
    settings.CHAT_MAX_IMAGE_BYTES = 1024 * 1024
    response = upload(alice_client, conversation, png() + b"\0" * (5 * 1024 * 1024), "big.png")

    assert response.status_code == 400
    refusal = parse(response.content.decode()).find(class_="status-text").visible_text
    assert refusal == "“big.png” is larger than 1 MB; images may be at most 1 MB."


def files_stored(settings) -> set[str]:
    return {str(p) for p in (settings.MEDIA_ROOT / "private").rglob("*") if p.is_file()}


def another_image_lands(conversation):
    """Another upload (one request per file) fills the tray while this one decodes."""
    clean, store = services._clean_image, services._stored_blob

    def clean_while_another_lands(file):
        cleaned = clean(file)
        other, _ = store(
            services.normalize_image(png(colour=(0, 255, 0)), max_bytes=10**7, max_pixels=10**8)
        )
        Attachment.objects.create(owner=conversation.owner, conversation=conversation, blob=other)
        return cleaned

    return "_clean_image", clean_while_another_lands


def the_same_image_lands(conversation):
    """Another upload of the same image attaches it as soon as this one has stored it."""
    store = services._stored_blob

    def store_and_have_it_attached(image):
        blob, created = store(image)
        Attachment.objects.create(owner=conversation.owner, conversation=conversation, blob=blob)
        return blob, created

    return "_stored_blob", store_and_have_it_attached


@pytest.mark.django_db
@pytest.mark.parametrize("race", [another_image_lands, the_same_image_lands])
def test_an_upload_refused_at_the_limit_keeps_only_images_in_use(
    alice_client, conversation, settings, monkeypatch, django_capture_on_commit_callbacks, race
):
    settings.CHAT_MAX_IMAGES_PER_MESSAGE = 1
    monkeypatch.setattr(services, *race(conversation))

    with django_capture_on_commit_callbacks(execute=True):
        response = upload(alice_client, conversation, png())

    assert response.status_code == 400
    assert "at most 1 images" in response.content.decode()
    assert not ImageBlob.objects.filter(attachments__isnull=True).exists()
    assert files_stored(settings) == {blob.file.path for blob in ImageBlob.objects.all()}
    assert ImageBlob.objects.count() == 1, "the image the other upload attached stays"


@pytest.mark.django_db
def test_a_request_with_one_bad_image_stores_none_of_them(alice_client, conversation):
    response = alice_client.post(
        reverse("upload_attachments", args=[conversation.public_id]),
        {
            "image": [
                SimpleUploadedFile("fine.png", png(), content_type="image/png"),
                SimpleUploadedFile("notes.png", b"not an image", content_type="image/png"),
            ]
        },
    )

    assert response.status_code == 400
    assert not Attachment.objects.exists(), "the page was told it failed: nothing pending"


@pytest.mark.django_db
def test_several_images_at_once_are_refused_past_the_limit(alice_client, conversation, settings):
    settings.CHAT_MAX_IMAGES_PER_MESSAGE = 2
    upload(alice_client, conversation, png(colour=(1, 2, 3)))
    response = alice_client.post(
        reverse("upload_attachments", args=[conversation.public_id]),
        {
            "image": [
                SimpleUploadedFile(f"{n}.png", png(colour=(n, n, n)), content_type="image/png")
                for n in (10, 20)
            ]
        },
    )

    assert response.status_code == 400
    assert "at most 2 images" in response.content.decode()
    assert Attachment.objects.count() == 1


@pytest.mark.django_db
def test_images_waiting_to_be_sent_are_shown_after_a_reload(alice_client, conversation):
    """Otherwise they are invisible, cannot be removed, and fill the tray's places."""
    upload(alice_client, conversation, png(), name="diagram.png")

    page = alice_client.get(conversation.get_absolute_url()).content.decode()

    tray = parse(page).by_id("attachment-tray")
    assert tray.find("img").get("alt").startswith("Image to send: diagram.png")
    assert by_role(tray, "button", "Remove diagram.png")
    pending = Attachment.objects.get()
    assert tray.find("input", name="attachments").get("value") == str(pending.public_id)


@pytest.mark.django_db
def test_deleting_a_conversation_deletes_its_images(
    alice_client, conversation, settings, alice, django_capture_on_commit_callbacks
):
    upload(alice_client, conversation, png(colour=(0, 0, 255)))
    kept = Conversation.objects.create(owner=alice, model="o4-mini")
    upload(alice_client, kept, png(colour=(0, 255, 0)))
    files = settings.MEDIA_ROOT / "private"
    assert len([p for p in files.rglob("*") if p.is_file()]) == 2

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(reverse("delete_conversation", args=[conversation.public_id]))

    assert response.status_code == 302
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert len([p for p in files.rglob("*") if p.is_file()]) == 1
    assert ImageBlob.objects.count() == 1


async def _finished(conversation: Conversation, payload: dict) -> Message:
    reply = await services.send_message(conversation, payload)
    await asyncio.wait_for(generation.running(conversation.pk).task, 30)
    return await Message.objects.aget(pk=reply.pk)


@pytest.mark.django_db(transaction=True)
async def test_the_model_sees_exactly_the_attached_pixels(alice, alice_client, conversation):
    await sync_to_async(upload)(alice_client, conversation, png(64, 48, (255, 0, 0)))
    attachment = await Attachment.objects.aget()

    reply = await _finished(
        conversation,
        {
            "message": "What is this?",
            "model": "o4-mini",
            "attachments": [str(attachment.public_id)],
        },
    )

    assert reply.status == Status.COMPLETE
    assert "64×48" in reply.content and "#ff0000" in reply.content


@pytest.mark.django_db(transaction=True)
async def test_someone_elses_image_cannot_be_attached(alice, bob, bob_client):
    bobs = await Conversation.objects.acreate(owner=bob, model="o4-mini")
    await sync_to_async(upload)(bob_client, bobs, png())
    bobs_image = await Attachment.objects.aget()
    alices = await Conversation.objects.acreate(owner=alice, model="o4-mini")

    with pytest.raises(services.SendRefused, match="attached image was not found"):
        await services.send_message(
            alices, {"message": "Look", "attachments": [str(bobs_image.public_id)]}
        )
    with pytest.raises(services.SendRefused, match="attached image was not found"):
        await services.send_message(alices, {"message": "Look", "attachments": ["not-a-uuid"]})
    assert not await Message.objects.filter(conversation=alices).aexists()
    assert (await Attachment.objects.aget()).message_id is None


@pytest.mark.django_db(transaction=True)
async def test_a_model_without_vision_is_not_sent_images(alice, alice_client, conversation):
    await sync_to_async(upload)(alice_client, conversation, png())
    attachment = await Attachment.objects.aget()
    with pytest.raises(services.SendRefused, match="o3-mini cannot look at images"):
        await services.send_message(
            conversation,
            {"message": "Look", "model": "o3-mini", "attachments": [str(attachment.public_id)]},
        )


@pytest.fixture
async def capturing_gateway():
    gateway = ScriptedGateway()
    gateway.will_answer(Answer.recording("aimlapi-o3-mini.sse"))
    await gateway.start()
    yield gateway
    await gateway.stop()


@pytest.mark.django_db(transaction=True)
async def test_history_images_go_only_to_vision_models_in_contract_shaped_bodies(
    alice, alice_client, conversation, capturing_gateway
):
    provider = await Provider.objects.acreate(name="Capture", base_url=capturing_gateway.base_url)
    for model_id in ("o4-mini", "o3-mini", "o1-mini"):
        await ModelOffering.objects.acreate(provider=provider, model_id=model_id)
    await sync_to_async(upload)(alice_client, conversation, png(32, 32, (0, 0, 255)))
    attachment = await Attachment.objects.aget()

    await _finished(
        conversation,
        {"message": "First look", "model": "o4-mini", "attachments": [str(attachment.public_id)]},
    )
    await _finished(conversation, {"message": "And now?", "model": "o3-mini"})
    await _finished(conversation, {"message": "And you?", "model": "o1-mini"})

    bodies = [received.body for received in capturing_gateway.received]
    assert [body["model"] for body in bodies] == ["o4-mini", "o3-mini", "o1-mini"]
    for body in bodies:
        REQUEST_SCHEMA.validate(body)
    first_turn = bodies[0]["messages"][0]["content"]
    assert first_turn[0] == {"type": "text", "text": "First look"}
    assert first_turn[1]["type"] == "image_url"
    assert first_turn[1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert first_turn[1]["image_url"]["detail"] == "high"
    for body in bodies[1:]:
        assert "image_url" not in json.dumps(body)


@pytest.mark.django_db
def test_removing_a_pending_image_frees_its_place(alice_client, bob_client, conversation, settings):
    settings.CHAT_MAX_IMAGES_PER_MESSAGE = 1
    upload(alice_client, conversation, png())
    attachment = Attachment.objects.get()
    remove_url = reverse("remove_attachment", args=[attachment.public_id])

    assert bob_client.post(remove_url).status_code == 404
    assert alice_client.post(remove_url).status_code == 204

    assert not Attachment.objects.exists()
    assert upload(alice_client, conversation, png(colour=(9, 9, 9))).status_code == 200


@pytest.mark.django_db
def test_a_sent_image_cannot_be_removed(alice_client, conversation):
    upload(alice_client, conversation, png())
    attachment = Attachment.objects.get()
    attachment.message = Message.objects.create(conversation=conversation, role="user")
    attachment.save()
    response = alice_client.post(reverse("remove_attachment", args=[attachment.public_id]))
    assert response.status_code == 400
    assert Attachment.objects.exists()
