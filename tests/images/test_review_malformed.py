"""Malformed files are refused with the sentence for a damaged file, not a server error."""

import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from chatapp.chat.images import ImageRejected, normalize_image
from chatapp.chat.models import Conversation, ImageBlob

LIMITS = {"max_bytes": 10 * 1024 * 1024, "max_pixels": 50_000_000}


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def palette_png_without_palette() -> bytes:
    """A 2x1 palette PNG (colour type 3) whose PLTE chunk is missing."""
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 1, 8, 3, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\0\0\1"))
        + chunk(b"IEND", b"")
    )


def test_a_palette_png_without_its_palette_is_refused_as_damaged():
    with pytest.raises(ImageRejected) as refusal:
        normalize_image(palette_png_without_palette(), filename="nopalette.png", **LIMITS)
    assert str(refusal.value) == "“nopalette.png” is damaged or incomplete and could not be read."


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.django_db
def test_uploading_a_palette_png_without_its_palette_is_not_a_server_error(alice):
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    conversation = Conversation.objects.create(owner=alice, model="o4-mini")

    response = client.post(
        reverse("upload_attachments", args=[conversation.public_id]),
        {"image": SimpleUploadedFile("nopalette.png", palette_png_without_palette())},
    )

    assert response.status_code == 400
    assert "is damaged or incomplete" in response.content.decode()
    assert not ImageBlob.objects.exists()
