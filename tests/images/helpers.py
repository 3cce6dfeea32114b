"""Image files built byte by byte, and what the app says of them."""

import struct
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from chatapp.chat.images import normalize_image


def png_chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk: its length, type, body and CRC."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def refusal(data: bytes, filename: str, **limits) -> str:
    """The sentence ``normalize_image`` refuses ``data`` with, or "accepted"."""
    try:
        normalize_image(data, filename=filename, **limits)
    except Exception as refused:
        return str(refused)
    return "accepted"


def upload(client, conversation, data: bytes, name: str = "red.png", content_type="image/png"):
    """Attach ``data`` to the conversation's next message, as the page's file picker does."""
    return client.post(
        reverse("upload_attachments", args=[conversation.public_id]),
        {"image": SimpleUploadedFile(name, data, content_type=content_type)},
    )


def damaged(filename: str) -> str:
    """The refusal of a file that cannot be read, or that costs more than any encoder writes."""
    return f"“{filename}” is damaged or incomplete and could not be read."
