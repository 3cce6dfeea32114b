"""Image validation and normalisation, and OpenAI's image-token estimates.

Every image is generated here with Pillow (or crafted byte by byte); no files are committed.
"""

import base64
import hashlib
import io
import random
import struct
import zlib

import pytest
from PIL import ExifTags, Image, ImageCms, PngImagePlugin

from chatapp.chat.images import (
    ImageRejected,
    NormalizedImage,
    data_url,
    fit_high_detail,
    image_tokens,
    normalize_image,
)

MB = 1024 * 1024
LIMITS = {"max_bytes": 10 * MB, "max_pixels": 50_000_000}


# --- making images ------------------------------------------------------------------------


def encode(img: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


def solid(size=(64, 48), color=(200, 30, 60), mode="RGB") -> Image.Image:
    return Image.new(mode, size, color)


def noise(size=(64, 64), seed=1) -> Image.Image:
    """Incompressible pixels, so that a cut file loses real image data."""
    raw = random.Random(seed).randbytes(size[0] * size[1] * 3)
    return Image.frombytes("RGB", size, raw)


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def crafted_png(width: int, height: int) -> bytes:
    """A valid 1-bit black PNG: a few kB on disk, ``width * height`` pixels when decoded."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def png_chunk_types(data: bytes) -> list[bytes]:
    kinds, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kinds.append(data[pos + 4 : pos + 8])
        pos += 12 + length
    return kinds


def animated(fmt: str) -> bytes:
    frames = [solid(color=(255, 0, 0)), solid(color=(0, 0, 255))]
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


def corrupt_jpeg() -> bytes:
    """A JPEG (by its first bytes) whose tables and frame header are garbage."""
    good = encode(noise(), "JPEG")
    return good[:4] + random.Random(7).randbytes(400) + good[404:]


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    exif[ExifTags.Base.Model] = "Phone 12"
    exif[ExifTags.Base.DateTimeOriginal] = "2024:05:01 12:00:00"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (52.0, 31.0, 12.5),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (13.0, 24.0, 36.0),
    }
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>secret-place</rdf:RDF></x:xmpmeta>'
    return encode(solid((120, 80)), "JPEG", exif=exif, xmp=xmp, comment=b"secret comment")


# --- rejections ---------------------------------------------------------------------------

REJECTIONS = [
    pytest.param(
        lambda: crafted_png(20_000, 20_000),
        "bomb.png",
        LIMITS,
        "“bomb.png” has too many pixels; images may have at most 50 megapixels.",
        id="decompression-bomb-20000x20000",
    ),
    pytest.param(
        # 64 MP: under Pillow's own bomb threshold, so only our header check stops it.
        lambda: crafted_png(8_000, 8_000),
        "big.png",
        LIMITS,
        "“big.png” has too many pixels; images may have at most 50 megapixels.",
        id="over-pixel-limit",
    ),
    pytest.param(
        lambda: b"\x89PNG\r\n\x1a\n" + b"\x00" * (11 * MB),
        "huge.png",
        LIMITS,
        "“huge.png” is larger than 10 MB; images may be at most 10 MB.",
        id="over-byte-limit",
    ),
    pytest.param(
        lambda: b"",
        "empty.png",
        LIMITS,
        "“empty.png” is empty.",
        id="empty",
    ),
    pytest.param(
        lambda: (
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" '
            b'height="10"><script>alert(1)</script></svg>'
        ),
        "drawing.svg",
        LIMITS,
        "“drawing.svg” is not a PNG, JPEG, WebP or GIF image.",
        id="svg",
    ),
    pytest.param(
        lambda: b"<svg xmlns='http://www.w3.org/2000/svg'><rect width='9' height='9'/></svg>",
        "innocent.png",
        LIMITS,
        "“innocent.png” is not a PNG, JPEG, WebP or GIF image.",
        id="svg-named-png",
    ),
    pytest.param(
        lambda: b"<!doctype html><html><body><script>steal()</script></body></html>",
        "page.png",
        LIMITS,
        "“page.png” is not a PNG, JPEG, WebP or GIF image.",
        id="html-named-png",
    ),
    pytest.param(
        lambda: b"just some notes, not a picture\n",
        "notes.png",
        LIMITS,
        "“notes.png” is not a PNG, JPEG, WebP or GIF image.",
        id="text-named-png",
    ),
    pytest.param(
        lambda: b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
        "scan.jpg",
        LIMITS,
        "“scan.jpg” is not a PNG, JPEG, WebP or GIF image.",
        id="pdf",
    ),
    pytest.param(
        lambda: encode(noise(), "BMP"),
        "old.bmp",
        LIMITS,
        "“old.bmp” is not a PNG, JPEG, WebP or GIF image.",
        id="bmp",
    ),
    pytest.param(
        lambda: encode(noise(), "PNG")[:6000],
        "cut.png",
        LIMITS,
        "“cut.png” is damaged or incomplete and could not be read.",
        id="truncated-png",
    ),
    pytest.param(
        lambda: (lambda d: d[:-20] + bytes(b ^ 0xFF for b in d[-20:-12]) + d[-12:])(
            encode(noise(), "PNG")
        ),
        "flipped.png",
        LIMITS,
        "“flipped.png” is damaged or incomplete and could not be read.",
        id="png-bad-crc",
    ),
    pytest.param(
        lambda: encode(noise(), "JPEG")[:3000],
        "cut.jpg",
        LIMITS,
        "“cut.jpg” is damaged or incomplete and could not be read.",
        id="truncated-jpeg",
    ),
    pytest.param(
        corrupt_jpeg,
        "corrupt.jpg",
        LIMITS,
        "“corrupt.jpg” is damaged or incomplete and could not be read.",
        id="corrupt-jpeg",
    ),
    pytest.param(
        lambda: encode(noise(), "WEBP", quality=90)[:500],
        "cut.webp",
        LIMITS,
        "“cut.webp” is damaged or incomplete and could not be read.",
        id="truncated-webp",
    ),
    pytest.param(
        lambda: animated("GIF"),
        "dance.gif",
        LIMITS,
        "“dance.gif” is animated; animated images are not supported.",
        id="animated-gif",
    ),
    pytest.param(
        lambda: animated("WEBP"),
        "dance.webp",
        LIMITS,
        "“dance.webp” is animated; animated images are not supported.",
        id="animated-webp",
    ),
    pytest.param(
        lambda: animated("PNG"),
        "dance.png",
        LIMITS,
        "“dance.png” is animated; animated images are not supported.",
        id="apng",
    ),
    pytest.param(
        lambda: b"hello",
        "C:\\Users\\me\\Desktop\\evil\x07name.png",
        LIMITS,
        "“evilname.png” is not a PNG, JPEG, WebP or GIF image.",
        id="path-and-control-characters-stripped-from-name",
    ),
]


@pytest.mark.parametrize(("make", "filename", "limits", "message"), REJECTIONS)
def test_rejected_with_a_message_for_the_user(make, filename, limits, message):
    with pytest.raises(ImageRejected) as caught:
        normalize_image(make(), filename=filename, **limits)
    assert str(caught.value) == message


def test_byte_limit_is_checked_before_decoding(monkeypatch):
    def must_not_open(*args, **kwargs):
        raise AssertionError("decoded an over-size file")

    monkeypatch.setattr(Image, "open", must_not_open)
    with pytest.raises(ImageRejected, match="at most 1 MB"):
        normalize_image(encode(noise((700, 700)), "PNG"), max_bytes=MB, max_pixels=10**6)


def test_pillow_global_bomb_limit_is_left_alone():
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(ImageRejected):
        normalize_image(crafted_png(20_000, 20_000), filename="bomb.png", **LIMITS)
    assert before == Image.MAX_IMAGE_PIXELS


# --- accepted images ----------------------------------------------------------------------


def accept(data: bytes, **overrides) -> tuple[NormalizedImage, Image.Image]:
    result = normalize_image(data, filename="upload", **{**LIMITS, **overrides})
    reopened = Image.open(io.BytesIO(result.data))
    reopened.load()
    assert (reopened.width, reopened.height) == (result.width, result.height)
    assert reopened.format.lower() == result.format
    assert result.content_type == f"image/{result.format}"
    assert result.sha256 == hashlib.sha256(result.data).hexdigest()
    return result, reopened


def test_jpeg_with_gps_is_accepted_with_all_exif_gone():
    source = jpeg_with_gps()
    original = Image.open(io.BytesIO(source))
    assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the fixture really has GPS

    result, image = accept(source)

    assert result.format == "jpeg"
    assert (result.width, result.height) == (120, 80)
    assert len(image.getexif()) == 0
    assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert {"exif", "xmp", "comment", "icc_profile"}.isdisjoint(image.info)
    for secret in (b"Exif", b"PhoneCo", b"secret-place", b"secret comment", b"2024:05:01"):
        assert secret not in result.data


def test_exif_rotated_jpeg_comes_out_upright():
    stored = Image.new("RGB", (200, 100), (255, 0, 0))  # left half red...
    stored.paste((0, 0, 255), (100, 0, 200, 100))  # ...right half blue
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # "rotate 90° clockwise to display"

    result, image = accept(encode(stored, "JPEG", exif=exif, quality=95))

    assert (result.width, result.height) == (100, 200)
    top, bottom = image.getpixel((50, 20)), image.getpixel((50, 180))
    assert top[0] > 200 and top[2] < 50  # red on top
    assert bottom[2] > 200 and bottom[0] < 50  # blue below
    assert ExifTags.Base.Orientation not in image.getexif()


def test_large_exif_rotated_jpeg_is_downscaled_upright():
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 8  # "rotate 90° counter-clockwise to display"
    result, _ = accept(encode(solid((3000, 2000)), "JPEG", exif=exif))
    assert (result.width, result.height) == (768, 1152)


SIZES = [
    pytest.param("PNG", (4000, 3000), (1024, 768), id="png-4000x3000-to-1024x768"),
    pytest.param("PNG", (3000, 4000), (768, 1024), id="png-portrait"),
    pytest.param("PNG", (500, 300), (500, 300), id="png-500x300-not-upscaled"),
    pytest.param("PNG", (10, 10), (10, 10), id="png-tiny"),
    pytest.param("PNG", (6000, 500), (2048, 170), id="png-wide-fits-2048"),
    pytest.param("JPEG", (3000, 2000), (1152, 768), id="jpeg-3000x2000-draft-decoded"),
    pytest.param("JPEG", (1001, 999), (769, 768), id="jpeg-odd-sizes"),
    pytest.param("WEBP", (1600, 1600), (768, 768), id="webp-square"),
    pytest.param("GIF", (2048, 1024), (1536, 768), id="gif-becomes-png"),
]


@pytest.mark.parametrize(("fmt", "size", "expected"), SIZES)
def test_downscaled_to_the_high_detail_budget_never_up(fmt, size, expected):
    color = (30, 120, 220)
    result, image = accept(encode(solid(size, color), fmt))
    assert (result.width, result.height) == expected
    assert result.format == ("png" if fmt == "GIF" else fmt.lower())
    pixel = image.convert("RGB").getpixel((expected[0] // 2, expected[1] // 2))
    assert all(abs(a - b) <= 6 for a, b in zip(pixel, color, strict=True))


def test_cmyk_jpeg_is_accepted_as_rgb():
    result, image = accept(encode(solid((80, 60), (0, 255, 255, 0), mode="CMYK"), "JPEG"))
    assert result.format == "jpeg"
    assert image.mode == "RGB"
    red, green, blue = image.getpixel((40, 30))
    assert red > 200 and green < 60 and blue < 60  # no cyan, full magenta and yellow: red


def test_palette_png_with_transparency_keeps_it():
    img = Image.new("P", (40, 40), 0)
    img.putpalette([255, 255, 255, 200, 0, 0] + [0] * 762)
    img.paste(1, (20, 0, 40, 40))
    result, image = accept(encode(img, "PNG", transparency=0))
    assert result.format == "png"
    assert image.mode == "RGBA"
    assert image.getpixel((5, 5))[3] == 0
    assert image.getpixel((30, 5)) == (200, 0, 0, 255)


def test_still_gif_with_transparency_becomes_png():
    img = Image.new("P", (30, 30), 1)
    img.putpalette([0, 0, 0, 0, 200, 0] + [0] * 762)
    img.paste(0, (0, 0, 10, 30))
    result, image = accept(encode(img, "GIF", transparency=0))
    assert (result.format, result.content_type) == ("png", "image/png")
    assert image.getpixel((2, 2))[3] == 0
    assert image.convert("RGBA").getpixel((20, 2)) == (0, 200, 0, 255)


@pytest.mark.parametrize(
    ("img", "expected_mode", "probe", "expected"),
    [
        pytest.param(solid(mode="L", color=90), "L", (3, 3), 90, id="grey"),
        pytest.param(solid(mode="LA", color=(90, 128)), "LA", (3, 3), (90, 128), id="grey-alpha"),
        pytest.param(solid(mode="1", color=1), "L", (3, 3), 255, id="one-bit"),
        pytest.param(solid(mode="I;16", color=65535), "L", (3, 3), 255, id="16-bit-white"),
        pytest.param(solid(mode="I;16", color=32896), "L", (3, 3), 128, id="16-bit-mid"),
        pytest.param(
            solid(mode="RGBA", color=(1, 2, 3, 4)), "RGBA", (3, 3), (1, 2, 3, 4), id="rgba"
        ),
    ],
)
def test_png_modes_are_converted_sensibly(img, expected_mode, probe, expected):
    _, image = accept(encode(img, "PNG"))
    assert image.mode == expected_mode
    assert image.getpixel(probe) == expected


def test_png_metadata_chunks_are_stripped():
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Alice Secret")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>secret-place</x:xmpmeta>")
    info.add_text("Comment", "compressed secret", zip=True)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = encode(solid(), "PNG", pnginfo=info, exif=exif, icc_profile=srgb, dpi=(300, 300))
    assert {b"tEXt", b"iTXt", b"zTXt", b"eXIf", b"iCCP", b"pHYs"} <= set(png_chunk_types(source))

    result, image = accept(source)

    assert png_chunk_types(result.data) == [b"IHDR", b"IDAT", b"IEND"]
    assert image.getpixel((5, 5)) == (200, 30, 60)  # sRGB -> sRGB leaves colours alone


def test_webp_stays_webp_lossy_or_lossless_as_it_came():
    lossy, _ = accept(encode(noise(), "WEBP", quality=80))
    lossless, image = accept(encode(noise(), "WEBP", lossless=True))
    assert (lossy.format, lossy.content_type) == ("webp", "image/webp")
    assert b"VP8 " in lossy.data[:40]
    assert b"VP8L" in lossless.data[:40]
    assert image.convert("RGB").tobytes() == noise().tobytes()  # lossless is exact


def test_same_bytes_give_the_same_image_and_hash():
    source = encode(noise((900, 900)), "JPEG")
    first = normalize_image(source, filename="a.jpg", **LIMITS)
    second = normalize_image(source, filename="b.jpg", **LIMITS)
    assert first == second
    assert first.sha256 == hashlib.sha256(first.data).hexdigest()
    other = normalize_image(encode(noise((900, 900), seed=2), "JPEG"), **LIMITS)
    assert other.sha256 != first.sha256


def test_data_url_carries_the_exact_bytes():
    result = normalize_image(encode(solid(), "PNG"), **LIMITS)
    url = data_url(result)
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    assert base64.b64decode(url[len(prefix) :]) == result.data


# --- token estimates ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "kwargs", "tokens"),
    [
        # OpenAI's vision guide, 512-px tiles (GPT-4o style).
        pytest.param((1024, 1024), {"method": "tiles"}, 765, id="tiles-1024-high"),
        pytest.param((2048, 4096), {"method": "tiles"}, 1105, id="tiles-2048x4096-high"),
        pytest.param((4096, 8192), {"method": "tiles", "detail": "low"}, 85, id="tiles-low"),
        pytest.param((1024, 1024), {"method": "tiles", "detail": "low"}, 85, id="tiles-low-2"),
        pytest.param((500, 500), {"method": "tiles"}, 255, id="tiles-one-tile"),
        pytest.param((513, 500), {"method": "tiles"}, 425, id="tiles-two-tiles"),
        pytest.param((1024, 1024), {"method": "tiles", "detail": "auto"}, 765, id="tiles-auto"),
        # OpenAI's vision guide, 32-px patches, before the model multiplier.
        pytest.param((1024, 1024), {"method": "patches", "multiplier": 1}, 1024, id="patch-1024"),
        pytest.param((1800, 2400), {"method": "patches", "multiplier": 1}, 1452, id="patch-1800"),
        pytest.param((2048, 768), {"method": "patches", "multiplier": 1}, 1536, id="patch-cap"),
        pytest.param((100, 100), {"method": "patches", "multiplier": 1}, 16, id="patch-small"),
        # o4-mini's multiplier (1.72) is the default; fractions round up.
        pytest.param((1024, 1024), {"method": "patches"}, 1762, id="o4-mini-1024"),
        pytest.param((1800, 2400), {"method": "patches"}, 2498, id="o4-mini-1800x2400"),
        pytest.param((320, 320), {"method": "patches"}, 172, id="o4-mini-exact"),
        pytest.param((1024, 1024), {"method": "patches", "detail": "low"}, 1762, id="o4-low"),
        pytest.param(
            (1024, 1024), {"method": "patches", "multiplier": 1.62}, 1659, id="gpt-4.1-mini"
        ),
    ],
)
def test_image_tokens_match_openai_examples(size, kwargs, tokens):
    assert image_tokens(*size, **kwargs) == tokens


def test_patches_never_exceed_the_cap():
    for width, height in [(4000, 3000), (20000, 50), (50, 20000), (2049, 2049), (1537, 1024)]:
        assert image_tokens(width, height, method="patches", multiplier=1) <= 1536


def test_image_tokens_rejects_unknown_arguments():
    with pytest.raises(ValueError, match="method"):
        image_tokens(10, 10, method="pixels")
    with pytest.raises(ValueError, match="detail"):
        image_tokens(10, 10, method="tiles", detail="ultra")
    with pytest.raises(ValueError):
        image_tokens(0, 10, method="tiles")


def test_normalized_images_are_already_at_the_budget():
    """What we send costs what the estimate says: fitting again changes nothing."""
    for size in [(4000, 3000), (6000, 500), (1001, 999), (300, 9000)]:
        fitted = fit_high_detail(*size)
        assert fit_high_detail(*fitted) == fitted
        assert image_tokens(*fitted, method="tiles") == image_tokens(*size, method="tiles")
