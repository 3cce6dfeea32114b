"""A GIF of hundreds of thousands of tiny blocks is refused before Pillow walks them.

Pillow reads a GIF's blocks one by one in Python (to open it, to see whether it is
animated, to load it) and keeps every comment: 20 MB of one-byte comment blocks took ~6 s
and ~700 MB of memory. Real files have a block per 255 bytes of picture, and few others.
"""

import io
import random

import pytest
from PIL import Image

from chatapp.chat.images import normalize_image
from tests.images.helpers import damaged, refusal

LIMITS = {"max_bytes": 20 * 1024 * 1024, "max_pixels": 50_000_000}


def gif(image=None) -> bytes:
    out = io.BytesIO()
    (image or Image.new("P", (64, 64), 1)).save(out, "GIF")
    return out.getvalue()


def with_extensions_before_the_picture(data: bytes, extension: bytes, times: int) -> bytes:
    """Inserts right after the header and global colour table (GIF89a allows it)."""
    flags = data[10]
    start = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    return data[:start] + extension * times + data[start:]


@pytest.mark.parametrize(
    "extension",
    [
        pytest.param(b"\x21\xfe\x01a\x00", id="one-byte-comments"),
        pytest.param(b"\x21\xfe\x00", id="empty-comments"),
    ],
)
def test_a_gif_of_a_flood_of_tiny_blocks_is_refused(extension):
    flood = with_extensions_before_the_picture(gif(), extension, 250_000)

    assert refusal(flood, "flood.gif", **LIMITS) == damaged("flood.gif")


def test_a_large_detailed_gif_with_comments_is_accepted():
    noise = Image.frombytes("L", (1500, 1000), random.Random(5).randbytes(1500 * 1000))
    source = with_extensions_before_the_picture(
        gif(noise.convert("P")), b"\x21\xfe\x05hello\x00", 50
    )
    assert len(source) > 255 * 4000  # thousands of 255-byte picture blocks

    result = normalize_image(source, filename="scan.gif", **LIMITS)

    assert (result.format, result.width, result.height) == ("png", 1152, 768)
