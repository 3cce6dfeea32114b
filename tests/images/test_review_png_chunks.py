"""PNGs with a large colour profile or large compressed text are images, not damaged files.

Pillow refuses a PNG whose colour profile (iCCP) or compressed text (zTXt, compressed
iTXt) inflates past 1 MB, and the member was told the file "is damaged or incomplete".
Scanners, slide scanners and some editors write such profiles, tools write long XMP or
settings as compressed text, and every browser shows these files.
"""

import io
import zlib

from PIL import Image

from chatapp.chat.images import normalize_image
from tests.images.helpers import png_chunk
from tests.images.test_review_colour import swapped_rgb_profile

LIMITS = {"max_bytes": 10 * 1024 * 1024, "max_pixels": 50_000_000}
MB = 1024 * 1024


def png_with(*extra_chunks: bytes, after_pixels: bytes = b"", size=(20, 20)) -> bytes:
    """An RGB PNG, red (200, 0, 0), with ``extra_chunks`` before its pixels."""
    out = io.BytesIO()
    Image.new("RGB", size, (200, 0, 0)).save(out, "PNG")
    plain = out.getvalue()
    ihdr_end, iend = 8 + 25, plain.rindex(b"IEND") - 4
    return b"".join(
        [plain[:ihdr_end], *extra_chunks, plain[ihdr_end:iend], after_pixels, plain[iend:]]
    )


def stored(source: bytes, name: str) -> Image.Image:
    result = normalize_image(source, filename=name, **LIMITS)
    image = Image.open(io.BytesIO(result.data))
    image.load()
    assert not {"icc_profile", "xmp", "XML:com.adobe.xmp", "Comment"} & set(image.info)
    return image


def test_a_png_with_a_large_colour_profile_is_accepted_and_converted():
    profile = swapped_rgb_profile(private_bytes=2 * MB)
    source = png_with(png_chunk(b"iCCP", b"Scanner RGB\0\0" + zlib.compress(profile)))
    assert len(source) < 100 * 1024

    red, green, blue = stored(source, "scan.png").getpixel((5, 5))

    assert blue > 190 and red < 10 and green < 10, "the profile's red is sRGB's blue"


def test_a_png_with_large_compressed_text_is_accepted():
    xmp = b"<x:xmpmeta>" + b"<rdf:li>xmp.did:0123456789abcdef</rdf:li>" * 60_000 + b"</x:xmpmeta>"
    itxt = png_chunk(b"iTXt", b"XML:com.adobe.xmp\0\1\0\0\0" + zlib.compress(xmp))
    ztxt = png_chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"settings " * 200_000))

    for source in [png_with(itxt), png_with(ztxt), png_with(after_pixels=ztxt)]:
        assert stored(source, "export.png").getpixel((5, 5)) == (200, 0, 0)


def test_a_png_whose_profile_is_a_decompression_bomb_is_still_read_quickly():
    """Only one profile is inflated, and only so far: the pixels are kept as they are."""
    bomb = zlib.compress(b"\0" * (32 * MB), 9)
    source = png_with(*[png_chunk(b"iCCP", b"icc\0\0" + bomb)] * 3)

    assert stored(source, "bomb.png").getpixel((5, 5)) == (200, 0, 0)


def test_exif_kept_by_imagemagick_in_compressed_text_still_turns_the_picture():
    """ImageMagick writes a PNG's EXIF as hex in a zTXt chunk "Raw profile type exif"."""
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: turn 90° clockwise to display
    raw = exif.tobytes()
    text = f"\nexif\n{len(raw):8}\n{raw.hex()}\n".encode()
    zexif = png_chunk(b"zTXt", b"Raw profile type exif\0\0" + zlib.compress(text))

    assert stored(png_with(zexif, size=(40, 20)), "magick.png").size == (20, 40)
