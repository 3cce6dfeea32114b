"""Adversarial review of the image pipeline: what survives upload, and what the page serves.

Every file is built here with Pillow or byte by byte.

The defect fixed here: a 16-bit PNG with a colour key (tRNS). Pillow keeps 16-bit grey as
is but 16-bit RGB at its high bytes only, and leaves the key in 16-bit units, so the key
was compared with 8-bit values: the key's pixels stayed opaque (the model saw the
background colour the author meant to hide), and for a small key other pixels, whose high
bytes equal it, were cut out of the picture. Browsers match the key on all 16 bits.

The rest are guards for behaviour found right: metadata gone in every format, EXIF
orientation outside JPEG, polyglots and spoofed types, shared files kept, other members'
images answering 404, and the attachment response's headers.
"""

import io
import struct
import zlib

import pytest
from django.test import Client
from django.urls import reverse
from PIL import ExifTags, Image, ImageCms

from chatapp.chat.images import normalize_image
from chatapp.chat.models import Attachment, Conversation, ImageBlob
from tests.images.helpers import png_chunk, upload

LIMITS = {"max_bytes": 10 * 1024 * 1024, "max_pixels": 50_000_000}
SECRET = b"SECRET-place-52.5N"


def encode(img: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# --- 16-bit colour keys ---------------------------------------------------------------------


def png16(colour_type: int, pixels: list, key: tuple, *, interlaced: bool = False) -> bytes:
    """A one-row 16-bit PNG (grey: 0, RGB: 2) whose tRNS colour key is ``key``.

    Interlaced (Adam7) only for two pixels: pass 1 holds the first, pass 6 the second.
    """
    samples = [struct.pack(f">{len(p)}H", *p) for p in pixels]
    if interlaced:
        assert len(pixels) == 2
        raw = b"\0" + samples[0] + b"\0" + samples[1]
    else:
        raw = b"\0" + b"".join(samples)
    ihdr = struct.pack(">IIBBBBB", len(pixels), 1, 16, colour_type, 0, 0, int(interlaced))
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"tRNS", struct.pack(f">{len(key)}H", *key))
        + png_chunk(b"IDAT", zlib.compress(raw))
        + png_chunk(b"IEND", b"")
    )


KEY = (0x1234, 0x5678, 0x9ABC)
# Same high bytes as KEY, other low bytes: a browser shows it opaque.
NEAR_KEY = (0x12FF, 0x5678, 0x9ABC)

SIXTEEN_BIT_KEYS = [
    pytest.param(png16(0, [(1000,), (60000,), (1001,)], (1000,)), [0, 255, 255], id="grey"),
    pytest.param(png16(2, [KEY, (0xFFFF, 0, 0), NEAR_KEY], KEY), [0, 255, 255], id="rgb"),
    # A key of low values: Pillow's 8-bit pixels equal to it are 0x0100, 0x0200, 0x0300.
    pytest.param(png16(2, [(1, 2, 3), (0x100, 0x200, 0x300)], (1, 2, 3)), [0, 255], id="rgb-low"),
    pytest.param(
        png16(2, [(0xFFFF, 0, 0), KEY], KEY, interlaced=True), [255, 0], id="rgb-interlaced"
    ),
]


@pytest.mark.parametrize(("data", "alphas"), SIXTEEN_BIT_KEYS)
def test_a_16_bit_png_colour_key_is_transparent_exactly_where_it_matches(data, alphas):
    image = decoded(normalize_image(data, filename="key.png", **LIMITS).data)

    assert image.mode in ("LA", "RGBA")
    assert [image.getchannel("A").getpixel((x, 0)) for x in range(image.width)] == alphas


def test_a_16_bit_grey_png_keeps_its_shades_with_its_colour_key():
    data = png16(0, [(1000,), (60000,), (30000,)], (1000,))
    image = decoded(normalize_image(data, filename="key.png", **LIMITS).data)

    assert [image.getpixel((x, 0))[0] for x in (1, 2)] == [60000 // 257, 30000 // 257]


# --- metadata ------------------------------------------------------------------------------


def photo() -> Image.Image:
    image = Image.new("RGB", (60, 40), (200, 30, 60))
    image.paste((20, 40, 220), (30, 0, 60, 40))
    return image


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = SECRET.decode()
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (52.0, 31.0, 12.5),
    }
    return exif


def srgb_profile() -> bytes:
    """sRGB, with the secret in private bytes after it (as a tagged profile would carry)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes() + SECRET


XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>' + SECRET + b"</rdf:RDF></x:xmpmeta>"


def png_with_everything() -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", SECRET.decode())
    info.add_itxt("XML:com.adobe.xmp", XMP.decode(), zip=True)
    info.add_text("Author", SECRET.decode(), zip=True)
    return encode(photo(), "PNG", pnginfo=info, exif=gps_exif(), icc_profile=srgb_profile())


METADATA = {
    "jpeg": lambda: encode(
        photo(), "JPEG", exif=gps_exif(), xmp=XMP, icc_profile=srgb_profile(), comment=SECRET
    ),
    "png": png_with_everything,
    "webp-lossy": lambda: encode(
        photo(), "WEBP", exif=gps_exif(), xmp=XMP, icc_profile=srgb_profile()
    ),
    "webp-lossless": lambda: encode(
        photo(), "WEBP", lossless=True, exif=gps_exif(), xmp=XMP, icc_profile=srgb_profile()
    ),
    "gif": lambda: encode(photo().convert("P"), "GIF", comment=SECRET, xmp=XMP),
}


@pytest.mark.parametrize("make", METADATA.values(), ids=METADATA.keys())
def test_no_metadata_survives_in_any_format(make):
    result = normalize_image(make(), filename="photo", **LIMITS)
    image = decoded(result.data)

    assert SECRET not in result.data and b"52.5" not in result.data
    assert not {"exif", "xmp", "icc_profile", "comment", "XML:com.adobe.xmp"} & image.info.keys()
    assert not image.getexif()


# --- orientation ----------------------------------------------------------------------------


def sideways(fmt: str, **params) -> bytes:
    """Stored 200x100, red left and blue right; orientation 6: turn 90° clockwise."""
    stored = Image.new("RGB", (200, 100), (255, 0, 0))
    stored.paste((0, 0, 255), (100, 0, 200, 100))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    return encode(stored, fmt, exif=exif, **params)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(sideways("PNG"), id="png-exif"),
        pytest.param(sideways("WEBP", quality=95), id="webp-lossy"),
        pytest.param(sideways("WEBP", lossless=True), id="webp-lossless"),
        pytest.param(sideways("JPEG", quality=95), id="jpeg"),
    ],
)
def test_exif_orientation_is_applied_in_every_format(data):
    image = decoded(normalize_image(data, filename="photo", **LIMITS).data).convert("RGB")

    assert image.size == (100, 200)
    top, bottom = image.getpixel((50, 20)), image.getpixel((50, 180))
    assert top[0] > 200 and top[2] < 50, "red is on top"
    assert bottom[2] > 200 and bottom[0] < 50, "blue is below"


# --- polyglots and what the page serves -----------------------------------------------------


@pytest.fixture
def alice_client(alice):
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def conversation(alice):
    return Conversation.objects.create(owner=alice, model="o4-mini")


def served(client, attachment) -> tuple:
    response = client.get(attachment.get_absolute_url())
    return response, b"".join(response.streaming_content)


POLYGLOTS = [
    # A GIF that is also a script or a page after its trailer, named and typed as HTML.
    pytest.param(
        encode(Image.new("P", (8, 8)), "GIF") + b"<script>alert(document.cookie)</script>",
        "page.html",
        "text/html",
        id="gif-then-html",
    ),
    pytest.param(
        encode(photo(), "PNG") + b"PK\x03\x04" + b"<html><script>x()</script>",
        "archive.zip",
        "application/zip",
        id="png-then-zip",
    ),
    pytest.param(
        encode(photo(), "JPEG") + b"<svg onload=alert(1)>",
        "photo.svg",
        "image/svg+xml",
        id="jpeg-then-svg",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("data", "name", "claimed"), POLYGLOTS)
def test_a_polyglot_is_served_as_a_clean_image_whatever_it_claimed(
    alice_client, conversation, data, name, claimed
):
    assert upload(alice_client, conversation, data, name, content_type=claimed).status_code == 200
    response, body = served(alice_client, Attachment.objects.get())

    assert response["Content-Type"] in ("image/png", "image/jpeg")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == "inline"
    assert b"<script" not in body and b"<svg" not in body and b"PK\x03\x04" not in body
    assert decoded(body).format in ("PNG", "JPEG")


@pytest.mark.django_db
def test_a_private_image_is_not_reused_from_the_browser_cache_without_asking(
    alice_client, conversation
):
    """Cached for a day, a member's image showed after logging out and after deleting it."""
    upload(alice_client, conversation, encode(photo(), "PNG"))
    attachment = Attachment.objects.get()
    response, _ = served(alice_client, attachment)
    directives = {d.strip().split("=")[0] for d in response["Cache-Control"].split(",")}

    assert "private" in directives
    assert "no-cache" in directives or "no-store" in directives
    assert "public" not in directives

    # Asking again is cheap: the unchanged image answers 304, but only to its owner.
    etag = response["ETag"]
    again = alice_client.get(attachment.get_absolute_url(), headers={"if-none-match": etag})
    assert again.status_code == 304
    alice_client.logout()
    gone = alice_client.get(attachment.get_absolute_url(), headers={"if-none-match": etag})
    assert gone.status_code == 302


@pytest.mark.django_db
def test_another_members_image_answers_404_for_every_way_in(alice_client, bob, conversation):
    upload(alice_client, conversation, encode(photo(), "PNG"))
    attachment = Attachment.objects.get()
    bob_client = Client()
    bob_client.force_login(bob)

    assert bob_client.get(attachment.get_absolute_url()).status_code == 404
    etag = served(alice_client, attachment)[0].get("ETag", '"x"')
    conditional = bob_client.get(attachment.get_absolute_url(), headers={"if-none-match": etag})
    assert conditional.status_code == 404
    removal = bob_client.post(reverse("remove_attachment", args=[attachment.public_id]))
    assert removal.status_code == 404
    assert Attachment.objects.filter(pk=attachment.pk).exists()


@pytest.mark.django_db
def test_deleting_one_conversation_keeps_an_image_another_still_uses(
    alice_client, alice, conversation, settings, django_capture_on_commit_callbacks
):
    other = Conversation.objects.create(owner=alice, model="o4-mini")
    same = encode(photo(), "PNG")
    upload(alice_client, conversation, same)
    upload(alice_client, other, same)
    kept = Attachment.objects.get(conversation=other)
    assert ImageBlob.objects.count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(reverse("delete_conversation", args=[conversation.public_id]))
        alice_client.post(reverse("remove_attachment", args=[kept.public_id]))
        upload(alice_client, other, same)  # attached again at once: the file must be there

    response, body = served(alice_client, Attachment.objects.get())
    assert response.status_code == 200 and decoded(body).size == (60, 40)
    files = [p for p in (settings.MEDIA_ROOT / "private").rglob("*") if p.is_file()]
    assert len(files) == 1 and ImageBlob.objects.count() == 1
