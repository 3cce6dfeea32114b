"""A PNG of hundreds of thousands of empty chunks is refused before Pillow walks them.

Pillow reads, checks and keeps PNG chunks one by one in Python, three times over (open,
verify, load): 20 MB of empty 12-byte chunks took ~17 s and ~450 MB of memory.
"""

import io
import random
import zlib

import pytest
from PIL import Image

from chatapp.chat.images import normalize_image
from tests.images.helpers import damaged, png_chunk, refusal

LIMITS = {"max_bytes": 20 * 1024 * 1024, "max_pixels": 50_000_000}


def png(size=(64, 64)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (1, 2, 3)).save(out, "PNG")
    return out.getvalue()


FLOODS = {
    "empty chunks": png_chunk(b"abCD", b""),
    # Compressed text is taken out before Pillow reads the file; walking it costs too.
    "compressed text": png_chunk(b"iTXt", b"k\0\1\0\0\0" + zlib.compress(b"")),
}


@pytest.mark.parametrize("flood", FLOODS.values(), ids=FLOODS.keys())
def test_a_png_of_a_flood_of_chunks_is_refused(flood):
    plain = png()
    flood = plain[:33] + flood * 150_000 + plain[33:]

    assert refusal(flood, "flood.png", **LIMITS) == damaged("flood.png")


def test_a_png_written_in_many_small_pixel_chunks_is_accepted():
    """Some encoders write a chunk per row or per few hundred bytes: thousands of them."""
    noise = Image.frombytes("RGB", (64, 4000), random.Random(3).randbytes(64 * 4000 * 3))
    out = io.BytesIO()
    noise.save(out, "PNG")
    plain = out.getvalue()
    idat, iend = plain.index(b"IDAT") - 4, plain.rindex(b"IEND") - 4
    stream = b"".join(  # the pixels' zlib stream, whatever chunks Pillow cut it into
        plain[pos + 8 : pos + 8 + int.from_bytes(plain[pos : pos + 4], "big")]
        for pos in _chunk_starts(plain, idat, iend)
    )
    rows = [png_chunk(b"IDAT", stream[i : i + 256]) for i in range(0, len(stream), 256)]
    assert len(rows) > 2000

    result = normalize_image(plain[:idat] + b"".join(rows) + plain[iend:], **LIMITS)

    assert (result.width, result.height) == (32, 2048)


def _chunk_starts(data: bytes, start: int, stop: int):
    while start < stop:
        yield start
        start += 12 + int.from_bytes(data[start : start + 4], "big")
