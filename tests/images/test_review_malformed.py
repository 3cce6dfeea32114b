"""Malformed files are refused with the sentence for a damaged file, not a server error."""

import struct
import zlib

import pytest
from django.test import Client

from chatapp.chat.images import ImageRejected, normalize_image
from chatapp.chat.models import Conversation, ImageBlob
from tests.images.helpers import png_chunk, upload

LIMITS = {"max_bytes": 10 * 1024 * 1024, "max_pixels": 50_000_000}


def palette_png_without_palette() -> bytes:
    """A 2x1 palette PNG (colour type 3) whose PLTE chunk is missing."""
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 1, 8, 3, 0, 0, 0))
        + png_chunk(b"IDAT", zlib.compress(b"\0\0\1"))
        + png_chunk(b"IEND", b"")
    )


def test_a_palette_png_without_its_palette_is_refused_as_damaged():
    with pytest.raises(ImageRejected) as refusal:
        normalize_image(palette_png_without_palette(), filename="nopalette.png", **LIMITS)
    assert str(refusal.value) == "“nopalette.png” is damaged or incomplete and could not be read."


@pytest.mark.django_db
def test_uploading_a_palette_png_without_its_palette_is_not_a_server_error(alice):
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    conversation = Conversation.objects.create(owner=alice, model="o4-mini")

    response = upload(client, conversation, palette_png_without_palette(), "nopalette.png")

    assert response.status_code == 400
    assert "is damaged or incomplete" in response.content.decode()
    assert not ImageBlob.objects.exists()
