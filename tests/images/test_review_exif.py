"""Phone photos whose EXIF is slightly malformed still upload, and upright.

The orientation tag is fine in these files; another, unrelated entry (in the GPS block) has
a type the camera should not have written. Such a photo is shown upright by browsers.
"""

import io
import struct

import pytest
from django.test import Client
from PIL import Image

from chatapp.chat.images import normalize_image
from chatapp.chat.models import Attachment, Conversation
from tests.images.helpers import upload

LIMITS = {"max_bytes": 10 * 1024 * 1024, "max_pixels": 50_000_000}
ORIENTATION, GPS_IFD = 0x0112, 0x8825
SHORT, LONG, RATIONAL, ASCII = 3, 4, 5, 2


def ifd(entries, offset: int) -> bytes:
    """A little-endian TIFF directory at ``offset``; values over 4 bytes follow it."""
    table, extra = struct.pack("<H", len(entries)), b""
    values_at = offset + 2 + 12 * len(entries) + 4
    for tag, kind, count, value in entries:
        if len(value) <= 4:
            table += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\0")
        else:
            table += struct.pack("<HHII", tag, kind, count, values_at + len(extra))
            extra += value
    return table + struct.pack("<I", 0) + extra


def exif_with_gps(orientation: int, gps_entries) -> bytes:
    """EXIF with an orientation and a GPS block holding ``gps_entries``."""
    gps_at = 8 + 2 + 12 * 2 + 4
    top = ifd(
        [
            (ORIENTATION, SHORT, 1, struct.pack("<H", orientation)),
            (GPS_IFD, LONG, 1, struct.pack("<I", gps_at)),
        ],
        8,
    )
    return b"Exif\0\0II*\0" + struct.pack("<I", 8) + top + ifd(gps_entries, gps_at)


def sideways_photo(exif: bytes) -> bytes:
    """Stored 200x100, red left and blue right; orientation 6 means "turn 90° clockwise"."""
    stored = Image.new("RGB", (200, 100), (255, 0, 0))
    stored.paste((0, 0, 255), (100, 0, 200, 100))
    out = io.BytesIO()
    stored.save(out, "JPEG", exif=exif, quality=95)
    return out.getvalue()


# GPSLatitudeRef ("N"/"S", an ASCII tag) written as a rational.
REF_AS_RATIONAL = [(1, RATIONAL, 1, struct.pack("<II", 52, 1)), (2, ASCII, 2, b"N\0")]
# GPSAltitudeRef (a BYTE tag) written as an unknown rational, 0/0.
ALTITUDE_REF_AS_ZERO_RATIONAL = [(5, RATIONAL, 1, struct.pack("<II", 0, 0))]


def assert_upright(data: bytes) -> None:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    assert image.size == (100, 200), "the photo is stored sideways"
    top, bottom = image.getpixel((50, 20)), image.getpixel((50, 180))
    assert top[0] > 200 and top[2] < 50, "red is on top"
    assert bottom[2] > 200 and bottom[0] < 50, "blue is below"


@pytest.mark.parametrize(
    "gps",
    [
        pytest.param(REF_AS_RATIONAL, id="latitude-ref-as-rational"),
        pytest.param(ALTITUDE_REF_AS_ZERO_RATIONAL, id="altitude-ref-as-0/0"),
    ],
)
def test_a_photo_with_a_malformed_gps_entry_comes_out_upright(gps):
    result = normalize_image(sideways_photo(exif_with_gps(6, gps)), filename="IMG.JPG", **LIMITS)

    assert (result.width, result.height) == (100, 200)
    assert_upright(result.data)
    assert b"Exif" not in result.data


@pytest.mark.django_db
def test_uploading_a_photo_with_a_malformed_gps_entry_is_not_a_server_error(alice):
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    conversation = Conversation.objects.create(owner=alice, model="o4-mini")
    photo = sideways_photo(exif_with_gps(6, REF_AS_RATIONAL))

    response = upload(client, conversation, photo, "IMG_0042.JPG", content_type="image/jpeg")

    assert response.status_code == 200
    stored = Attachment.objects.get().blob
    with stored.file.open("rb") as file:
        assert_upright(file.read())
