"""Colours of images with an embedded colour profile come out as the profile means them.

The profile is dropped from the stored image, so its colours must be converted to sRGB
first. Screenshots from a Mac are RGBA PNGs with the display's (Display P3) profile; they
were stored with their colours unconverted, so a teammate's browser and the model saw
other colours than the member's own screen. The profile here swaps red and blue, so a
missed conversion is plain to see.
"""

import io
import struct
import zlib

from PIL import Image

from chatapp.chat.images import normalize_image
from tests.images.helpers import png_chunk

LIMITS = {"max_bytes": 10 * 1024 * 1024, "max_pixels": 50_000_000}
D50 = (0.9642, 1.0, 0.8249)


def s15fixed16(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \0\0\0\0" + s15fixed16(x) + s15fixed16(y) + s15fixed16(z)


def swapped_rgb_profile(private_bytes: int = 0) -> bytes:
    """An ICC v2 RGB matrix/TRC profile whose red and blue are sRGB's blue and red.

    ``private_bytes`` adds a private tag of that many bytes, as large profiles carry.
    """
    gamma = b"curv\0\0\0\0" + struct.pack(">IH", 1, 0x0233)  # gamma 2.2
    desc = b"desc\0\0\0\0" + struct.pack(">I", 8) + b"swapped\0" + b"\0" * 79
    tags = [
        (b"desc", desc),
        (b"wtpt", xyz(*D50)),
        (b"rXYZ", xyz(0.1431, 0.0606, 0.7141)),
        (b"gXYZ", xyz(0.3851, 0.7169, 0.0971)),
        (b"bXYZ", xyz(0.4361, 0.2225, 0.0139)),
        (b"rTRC", gamma),
        (b"gTRC", gamma),
        (b"bTRC", gamma),
    ]
    if private_bytes:
        tags.append((b"zzzz", b"zzzz\0\0\0\0" + bytes(range(256)) * (private_bytes // 256)))
    table, body = b"", b""
    start = 128 + 4 + 12 * len(tags)
    for signature, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += signature + struct.pack(">II", start + len(body), len(data))
        body += data
    header = (
        struct.pack(">I", start + len(body))
        + b"lcms"
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + b"\0" * 12
        + b"acsp"
        + b"\0" * 28
        + xyz(*D50)[8:]
        + b"\0" * 48
    )
    return header + struct.pack(">I", len(tags)) + table + body


def stored_pixel(mode: str, colour, fmt: str = "PNG"):
    source = io.BytesIO()
    Image.new(mode, (20, 20), colour).save(source, fmt, icc_profile=swapped_rgb_profile())
    result = normalize_image(source.getvalue(), filename="Screenshot.png", **LIMITS)
    image = Image.open(io.BytesIO(result.data))
    assert "icc_profile" not in image.info
    return image.mode, image.getpixel((5, 5))


def test_an_rgb_image_with_a_profile_is_converted_to_srgb():
    assert stored_pixel("RGB", (200, 0, 0)) == ("RGB", (0, 0, 201))


def test_a_screenshot_with_transparency_and_a_profile_is_converted_too():
    mode, (red, green, blue, alpha) = stored_pixel("RGBA", (200, 0, 0, 128))

    assert mode == "RGBA"
    assert blue > 190 and red < 10 and green < 10, "the profile's red is sRGB's blue"
    assert alpha == 128, "the transparency is kept"


def test_a_palette_image_with_a_profile_is_converted_too():
    palette = Image.new("P", (20, 20), 1)
    palette.putpalette([0, 0, 0, 200, 0, 0] + [0] * 762)
    source = io.BytesIO()
    palette.save(source, "PNG", icc_profile=swapped_rgb_profile())

    result = normalize_image(source.getvalue(), filename="diagram.png", **LIMITS)

    red, green, blue = Image.open(io.BytesIO(result.data)).convert("RGB").getpixel((5, 5))
    assert blue > 190 and red < 10 and green < 10, "the profile's red is sRGB's blue"


def test_a_colour_keyed_png_with_a_profile_keeps_its_transparency():
    """An RGB PNG whose transparent colour is named by a tRNS chunk (here: grey 9,9,9)."""
    pixels = b"\0" + bytes((200, 0, 0, 9, 9, 9))  # one row: a red pixel, a transparent one
    source = (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 1, 8, 2, 0, 0, 0))
        + png_chunk(b"iCCP", b"swapped\0\0" + zlib.compress(swapped_rgb_profile()))
        + png_chunk(b"tRNS", struct.pack(">HHH", 9, 9, 9))
        + png_chunk(b"IDAT", zlib.compress(pixels))
        + png_chunk(b"IEND", b"")
    )

    result = normalize_image(source, filename="logo.png", **LIMITS)

    image = Image.open(io.BytesIO(result.data)).convert("RGBA")
    assert image.getpixel((1, 0))[3] == 0, "the transparent pixel stays transparent"
    red, green, blue, alpha = image.getpixel((0, 0))
    assert alpha == 255 and blue > 190 and red < 10 and green < 10, "colours are converted"
