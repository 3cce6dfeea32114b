"""JPEGs of thousands of scans or segments are refused before they are parsed or decoded.

A progressive JPEG is drawn in scans, and the decoder walks every block of the picture for
each one, however few bytes the scan takes: a scan of a 7000x7000 picture is about 25 ms of
CPU in 75 bytes, so a 1 MB upload kept a server process busy for minutes.
"""

import io

import pytest
from PIL import Image

from chatapp.chat.images import normalize_image
from tests.images.helpers import damaged, refusal

LIMITS = {"max_bytes": 20 * 1024 * 1024, "max_pixels": 50_000_000}


def progressive_jpeg(size=(512, 512)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (120, 130, 140)).save(out, "JPEG", progressive=True)
    return out.getvalue()


def with_repeated_last_scan(jpeg: bytes, times: int) -> bytes:
    """The JPEG with its last scan (the bytes from its SOS marker to EOI) repeated."""
    last_scan = jpeg.rfind(b"\xff\xda")
    assert jpeg.endswith(b"\xff\xd9") and last_scan > 0
    return jpeg[:-2] + jpeg[last_scan:-2] * times + jpeg[-2:]


def behind_a_stray_byte(jpeg: bytes) -> bytes:
    """A zero byte after the first segment (JFIF), which decoders skip with a warning."""
    assert jpeg[2:4] == b"\xff\xe0"
    first_segment_end = 4 + int.from_bytes(jpeg[4:6], "big")
    return jpeg[:first_segment_end] + b"\0" + jpeg[first_segment_end:]


@pytest.mark.parametrize("disguise", [lambda jpeg: jpeg, behind_a_stray_byte])
def test_a_jpeg_of_thousands_of_scans_is_refused_without_decoding_them(disguise):
    bomb = disguise(with_repeated_last_scan(progressive_jpeg(), 2000))
    assert len(bomb) < 64 * 1024

    assert refusal(bomb, "scans.jpg", **LIMITS) == damaged("scans.jpg")


def test_ordinary_progressive_jpegs_are_still_accepted():
    for size in [(512, 512), (3000, 2000), (1, 1)]:
        jpeg = progressive_jpeg(size)
        result = normalize_image(jpeg, filename="photo.jpg", **LIMITS)
        assert result.format == "jpeg"
    # A few more scans than an encoder writes are fine too.
    result = normalize_image(with_repeated_last_scan(progressive_jpeg(), 20), **LIMITS)
    assert (result.width, result.height) == (512, 512)


def test_a_jpeg_of_a_flood_of_empty_segments_is_refused_before_pillow_parses_them():
    """Pillow reads the segments before the first scan one by one in Python and keeps
    each: 20 MB of empty 4-byte segments took ~20 s and over 1 GB of memory."""
    plain = progressive_jpeg((64, 64))
    flood = plain[:2] + b"\xff\xe5\x00\x02" * 100_000 + plain[2:]

    assert refusal(flood, "flood.jpg", **LIMITS) == damaged("flood.jpg")


def test_a_jpeg_with_a_large_colour_profile_in_many_segments_is_accepted():
    """A profile is split into segments of 64 kB; a 2 MB one takes 33 of them."""
    profile = bytes(range(256)) * (2 * 1024 * 1024 // 256)
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(out, "JPEG", icc_profile=profile)
    assert out.getvalue().count(b"ICC_PROFILE\0") > 30

    assert normalize_image(out.getvalue(), filename="print.jpg", **LIMITS).format == "jpeg"
