"""Images for visual reasoning: validate, clean and size uploads; estimate their token cost.

Pure functions over bytes (Pillow and the standard library only, no Django models or
settings): the caller reads its limits from settings and passes them in.

``normalize_image`` is the single door an uploaded image goes through. Whatever the
browser claimed, it

1. refuses files over ``max_bytes`` before decoding anything;
2. decides the format from the bytes (magic numbers), accepting only PNG, JPEG, WebP
   and GIF, and opens them with that one Pillow plugin only;
3. refuses more than ``max_pixels`` from the header, before any pixel is decoded
   (Pillow's own ``DecompressionBombError``/``Warning`` is refused the same way, but is
   not relied on and the global ``Image.MAX_IMAGE_PIXELS`` is never changed), and
   refuses, from a walk over the bytes, files with more JPEG scans or segments, PNG
   chunks or GIF blocks than any encoder writes (each costs CPU or memory to parse);
   a PNG's compressed text and a profile over 1 MB (Pillow refuses such files) are taken
   out first;
4. refuses animated GIF, animated WebP and APNG;
5. verifies and fully decodes the file (``ImageFile.LOAD_TRUNCATED_IMAGES`` stays off),
   so truncated or corrupt files are refused, and makes a 16-bit PNG's colour key (tRNS)
   alpha, matched on all 16 bits as browsers do;
6. applies the EXIF orientation, converts embedded ICC colours to sRGB, and downscales to
   OpenAI's high-detail budget (fit within 2048x2048, then shortest side at most 768;
   never upscaled);
7. re-encodes from a fresh image that carries no metadata at all: no EXIF (so no GPS),
   no XMP, no ICC profile, no PNG text chunks, no comments.

Output formats: JPEG stays JPEG (quality 90), PNG stays PNG, WebP stays WebP (lossless if
the source was lossless, otherwise quality 90), and a still GIF becomes PNG: PNG is
lossless, keeps transparency, and is not limited to a 256-colour palette after resizing.
"""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import math
import re
import zlib
from dataclasses import dataclass
from fractions import Fraction

from PIL import (
    ExifTags,
    Image,
    ImageChops,
    ImageCms,
    ImageMath,
    PngImagePlugin,
    UnidentifiedImageError,
)

__all__ = [
    "HIGH_DETAIL_MAX_SIDE",
    "HIGH_DETAIL_SHORT_SIDE",
    "PATCH_MULTIPLIERS",
    "ImageRejected",
    "NormalizedImage",
    "data_url",
    "fit_high_detail",
    "image_tokens",
    "normalize_image",
]

#: OpenAI's high-detail budget: the image is fitted within this square...
HIGH_DETAIL_MAX_SIDE = 2048
#: ...and then scaled so that its shortest side is at most this long.
HIGH_DETAIL_SHORT_SIDE = 768

JPEG_QUALITY = 90
WEBP_QUALITY = 90

CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}

#: Tokens per 32-pixel patch for models billed by patches (see ``image_tokens``).
PATCH_MULTIPLIERS = {
    "o4-mini": 1.72,
    "gpt-4.1-mini": 1.62,
    "gpt-4.1-nano": 2.46,
}

_TILE_BASE_TOKENS = 85
_TILE_TOKENS = 170
_TILE_SIZE = 512
_PATCH_SIZE = 32
_MAX_PATCHES = 1536

# Pillow plugin name for each accepted format ("MPO" is how Pillow names camera JPEGs
# that carry extra pictures, such as a preview; only the first picture is used).
_PILLOW_FORMATS = {"png": ("PNG",), "jpeg": ("JPEG", "MPO"), "gif": ("GIF",), "webp": ("WEBP",)}

_SIXTEEN_BIT_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N"}

#: A PNG colour profile inflating past this is not used (Pillow's own limit is 1 MB).
_MAX_ICC_BYTES = 16 * 1024 * 1024
# Pillow walks PNG chunks in Python, three times; encoders write at most thousands.
_MAX_PNG_CHUNKS = 100_000

# A GIF has a block per 255 bytes of picture (80,000 in 20 MB) and a few others.
_MAX_GIF_BLOCKS = 200_000

# Real encoders write a few dozen scans at most (libjpeg's progressive script: 10), and a
# few hundred segments (a colour profile takes up to 255).
_MAX_JPEG_SCANS = 100
_MAX_JPEG_SEGMENTS = 2000
# In a scan's coded data 0xFF is followed by 0x00 (a stuffed byte) or a restart marker;
# any other byte after it (bar fill 0xFFs) starts the next marker.
_NEXT_MARKER = re.compile(rb"\xff(?![\x00\xd0-\xd7\xff])")

# The EXIF orientation's turn or flip that shows the picture upright.
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class ImageRejected(Exception):
    """An upload that is not accepted; ``str()`` is a sentence to show the user."""


@dataclass(frozen=True)
class NormalizedImage:
    """A cleaned, re-encoded image ready to store and send to a model."""

    data: bytes
    format: str  # "png" | "jpeg" | "webp"
    content_type: str
    width: int
    height: int
    sha256: str  # hex digest of ``data``


def _display_name(filename: str) -> str:
    """The base name, without control characters, short enough for a sentence."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip() or "image"
    return name if len(name) <= 80 else name[:77] + "..."


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.3g}"


def _sniff(data: bytes) -> str | None:
    """The format the bytes are, from their magic number, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if len(data) >= 16 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _webp_is_lossless(data: bytes) -> bool:
    """Whether a WebP file's image is VP8L (lossless), walking its RIFF chunks."""
    pos = 12
    while pos + 8 <= len(data):
        fourcc = data[pos : pos + 4]
        if fourcc == b"VP8L":
            return True
        if fourcc == b"VP8 ":
            return False
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        pos += 8 + size + (size & 1)
    return False


def _without_large_png_chunks(data: bytes) -> tuple[bytes, bytes | None]:
    """The PNG without the chunks Pillow would refuse it for, and the profile taken out.

    Pillow calls a whole PNG broken when its colour profile (iCCP) or compressed text
    inflates past ``PngImagePlugin.MAX_TEXT_CHUNK`` (1 MB); scanners and some tools write
    such files, and browsers show them. Compressed text goes (no text is kept anyway); a
    large profile is inflated here, once and only so far, and still used. Raises
    ValueError for more chunks than any encoder writes.
    """
    kept, icc, seen_icc, pos = [data[:8]], None, False, 8
    for chunks in itertools.count(1):
        if pos + 12 > len(data):
            break
        if chunks > _MAX_PNG_CHUNKS:  # dropped ones too: walking them costs as much here
            raise ValueError("too many PNG chunks")
        length, kind = int.from_bytes(data[pos : pos + 4], "big"), data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if kind == b"iCCP" and not seen_icc:
            seen_icc = True
            body = data[pos + 8 : end - 4]
            try:  # name, NUL, compression method, zlib stream
                profile = zlib.decompressobj().decompress(
                    body[body.find(b"\0") + 2 :], _MAX_ICC_BYTES + 1
                )
            except zlib.error:
                profile = b""
            drop = len(profile) > PngImagePlugin.MAX_TEXT_CHUNK
            icc = profile if drop and len(profile) <= _MAX_ICC_BYTES else None
        elif kind == b"iTXt":  # keyword, NUL, compressed flag
            flag_at = data.find(b"\0", pos + 8, end - 4) + 1
            drop = flag_at > 0 and data[flag_at : flag_at + 1] == b"\1"
        elif kind == b"zTXt":  # ImageMagick keeps EXIF (and so orientation) in one
            drop = not data.startswith(b"Raw profile type exif\0", pos + 8)
        else:  # The PNG standard allows one profile.
            drop = kind == b"iCCP"
        if not drop:
            kept.append(data[pos:end])
        pos = end
    kept.append(data[pos:])
    return b"".join(kept), icc


def _jpeg_too_costly(data: bytes) -> bool:
    """Whether a JPEG has more scans or segments than any encoder writes (read, not decoded).

    libjpeg walks the whole picture for each scan, however few bytes a scan takes, and
    Pillow reads the segments before the first scan one by one in Python and keeps them:
    thousands of either in a small file cost minutes of CPU or gigabytes of memory.
    """
    scans, segments, pos = 0, 0, 2
    while pos + 4 <= len(data):
        segments += 1
        if scans > _MAX_JPEG_SCANS or segments > _MAX_JPEG_SEGMENTS:
            return True
        if data[pos] != 0xFF:  # Stray bytes before a marker: decoders skip them, and so here.
            pos = data.find(b"\xff", pos)
            if pos < 0:
                break
            continue
        marker = data[pos + 1]
        if marker == 0xD9:  # end of the picture
            break
        if marker in (0xFF, 0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # no length field
            pos += 1 if marker == 0xFF else 2
            continue
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == 0xDA:
            scans += 1
            found = _NEXT_MARKER.search(data, pos)
            if found is None:
                break
            pos = found.start()
    return scans > _MAX_JPEG_SCANS


def _gif_too_costly(data: bytes) -> bool:
    """Whether a GIF has more blocks than any encoder writes (read, not decoded).

    Pillow reads a GIF's blocks one by one in Python, more than once, and keeps every
    comment: millions of tiny blocks in a small file cost seconds of CPU and most of a
    gigabyte of memory. The walk stops at a second picture (refused as animated) and at
    the trailer or anything unexpected, for the decoder to judge.
    """
    flags = data[10] if len(data) > 10 else 0
    pos, blocks, pictures = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0), 0, 0
    limit = max(_MAX_GIF_BLOCKS, len(data) // 128)  # room for larger allowed files
    while pos < len(data):
        if data[pos] == 0x2C:  # a picture: descriptor, colour table, LZW code size
            pictures += 1
            if pictures > 1:
                break
            flags = data[pos + 9] if pos + 9 < len(data) else 0
            pos += 11 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
        elif data[pos] == 0x21:  # an extension and its label
            pos += 2
        else:
            break
        while pos < len(data) and data[pos]:  # sub-blocks, up to an empty one
            blocks += 1
            if blocks > limit:
                return True
            pos += 1 + data[pos]
        pos += 1
        blocks += 1
    return blocks > limit


def fit_high_detail(width: int, height: int) -> tuple[int, int]:
    """Scale down (never up) to fit 2048x2048, then to a shortest side of at most 768.

    Both steps are one scale factor, ``min(1, 2048 / longest, 768 / shortest)``, applied
    exactly and rounded down (at least one pixel).
    """
    if width < 1 or height < 1:
        raise ValueError("width and height must be positive")
    scale = min(
        Fraction(1),
        Fraction(HIGH_DETAIL_MAX_SIDE, max(width, height)),
        Fraction(HIGH_DETAIL_SHORT_SIDE, min(width, height)),
    )
    return max(1, math.floor(width * scale)), max(1, math.floor(height * scale))


def _open(data: bytes, kind: str) -> Image.Image:
    return Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS[kind])


def _sixteen_bit_key(data: bytes, img: Image.Image) -> Image.Image:
    """A 16-bit PNG's colour key (tRNS) made into alpha, matched on all 16 bits.

    Pillow keeps 16-bit grey as is but 16-bit RGB at its high bytes only, and leaves the
    key in 16-bit units: converting compared it with 8-bit values, so the key's pixels
    stayed opaque and others (whose high bytes equal its value) turned transparent.
    """
    key = img.info.pop("transparency")
    if img.mode in _SIXTEEN_BIT_MODES and isinstance(key, int):
        wide = img.convert("I")
        alpha = ImageMath.lambda_eval(lambda e: e["convert"]((e["im"] != key) * 255, "L"), im=wide)
        img = wide.point(lambda v: v / 257).convert("L")
    elif img.mode == "RGB" and isinstance(key, tuple) and len(key) == 3:
        low = _open(data, "png")  # the same pixels' low bytes, read as if little-endian
        low.tile = [tile._replace(args="RGB;16L") for tile in low.tile]
        low.load()
        alpha = Image.new("L", img.size, 0)
        for band, value in enumerate(key):
            for part, byte in ((img, value >> 8), (low, value & 0xFF)):
                same = part.getchannel(band).point(lambda v, byte=byte: 0 if v == byte else 255)
                alpha = ImageChops.lighter(alpha, same)  # opaque where any byte differs
    else:
        return img
    img.putalpha(alpha)
    return img


def _upright(img: Image.Image) -> Image.Image:
    """The picture turned as its EXIF (or XMP) orientation says; nothing else of it is read.

    Not ``ImageOps.exif_transpose``: it also rewrites the EXIF it keeps, and a malformed
    entry unrelated to orientation (say, a GPS tag of the wrong type) makes that raise
    after the turn: the photo came out sideways, or the upload failed with a server error.
    """
    try:
        orientation = img.getexif().get(ExifTags.Base.Orientation)
    except Exception:  # Unreadable EXIF on untrusted bytes: keep the picture as stored.
        return img
    method = _UPRIGHT.get(orientation) if isinstance(orientation, int) else None
    return img if method is None else img.transpose(method)


def _to_srgb(img: Image.Image) -> Image.Image:
    """Convert an embedded ICC profile's colours to sRGB (the profile itself is dropped)."""
    icc = img.info.get("icc_profile")
    if not icc:
        return img
    if img.mode in ("P", "PA") or (img.mode == "RGB" and "transparency" in img.info):
        # The profile is for the palette's colours; a colour key becomes alpha here, as
        # the converted image would not keep it.
        img = img.convert("RGBA" if img.has_transparency_data else "RGB")
    if img.mode not in ("RGB", "RGBA", "CMYK"):
        return img
    # The profile is for the colours (RGBA: Mac screenshots); transparency stays as it is.
    alpha = img.getchannel("A") if img.mode == "RGBA" else None
    try:
        converted = ImageCms.profileToProfile(
            img if alpha is None else img.convert("RGB"),
            ImageCms.ImageCmsProfile(io.BytesIO(icc)),
            ImageCms.createProfile("sRGB"),
            outputMode="RGB",
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return img  # An unusable profile: keep the pixels as they are.
    if converted is None:
        return img
    if alpha is not None:
        converted.putalpha(alpha)
    return converted


def _convert_mode(img: Image.Image, out_format: str) -> Image.Image:
    """A mode the output format stores and Pillow resizes well: L, LA, RGB or RGBA."""
    mode = img.mode
    if mode in _SIXTEEN_BIT_MODES:
        # Scale 16-bit grey down to 8 bits (a plain convert would clip at 255).
        img = img.convert("I").point(lambda v: v / 257).convert("L")
        mode = "L"
    elif mode == "1":
        img, mode = img.convert("L"), "L"
    has_transparency = "transparency" in img.info
    if mode == "P":
        img = img.convert("RGBA" if has_transparency or img.has_transparency_data else "RGB")
    elif mode == "PA":
        img = img.convert("RGBA")
    elif mode == "L" and has_transparency:
        img = img.convert("LA")
    elif mode == "RGB" and has_transparency:
        img = img.convert("RGBA")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        img = img.convert("RGBA" if "A" in mode else "RGB")  # CMYK, YCbCr, LAB, RGBX...
    if out_format == "jpeg" and img.mode not in ("L", "RGB"):
        img = img.convert("RGB")
    if out_format == "webp" and img.mode in ("L", "LA"):
        img = img.convert("RGBA" if img.mode == "LA" else "RGB")
    return img


def normalize_image(
    data: bytes, *, filename: str = "image", max_bytes: int, max_pixels: int
) -> NormalizedImage:
    """Validate an upload and return it cleaned, re-encoded and downscaled.

    Raises ``ImageRejected`` with a sentence for the user when the file is too big (in
    bytes or pixels), not a PNG/JPEG/WebP/GIF, animated, truncated or corrupt.
    """
    name = _display_name(filename)
    if len(data) > max_bytes:
        # Not how much larger: a caller reads no more than a byte past the limit.
        size = _megabytes(max_bytes)
        raise ImageRejected(f"“{name}” is larger than {size} MB; images may be at most {size} MB.")
    if not data:
        raise ImageRejected(f"“{name}” is empty.")
    kind = _sniff(data)
    if kind is None:
        raise ImageRejected(f"“{name}” is not a PNG, JPEG, WebP or GIF image.")

    too_many_pixels = ImageRejected(
        f"“{name}” has too many pixels; images may have at most "
        f"{max_pixels / 1_000_000:.3g} megapixels."
    )
    damaged = ImageRejected(f"“{name}” is damaged or incomplete and could not be read.")
    icc = None
    try:
        if (kind == "jpeg" and _jpeg_too_costly(data)) or (kind == "gif" and _gif_too_costly(data)):
            raise damaged
        if kind == "png":
            data, icc = _without_large_png_chunks(data)
        # Pass 1: header only, then a structural check (chunk CRCs for PNG).
        with _open(data, kind) as probe:
            width, height = probe.size
            if width < 1 or height < 1:
                raise damaged
            if width * height > max_pixels:
                raise too_many_pixels
            if kind != "jpeg" and getattr(probe, "is_animated", False):
                raise ImageRejected(f"“{name}” is animated; animated images are not supported.")
            probe.verify()
        # Pass 2: decode every pixel (``verify`` leaves the file unusable).
        img = _open(data, kind)
        if icc is not None:
            img.info["icc_profile"] = icc
        if kind == "jpeg":
            # Let libjpeg decode at a reduced scale that is still at least the target.
            img.draft(None, fit_high_detail(width, height))
        img.load()
        if img.mode in ("P", "PA") and img.palette is None:
            raise damaged  # A palette PNG without its PLTE chunk: browsers show nothing.
        if kind == "png" and data[24] == 16 and "transparency" in img.info:
            img = _sixteen_bit_key(data, img)
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_many_pixels from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, IndexError):
        # struct.error, zlib.error and Pillow's decoder errors all derive from these.
        raise damaged from None
    except MemoryError:
        raise too_many_pixels from None
    except Exception:  # Any other decoder failure on untrusted bytes: a bad file.
        raise damaged from None

    # The target comes from the header's size: a JPEG draft may be a pixel larger.
    target = fit_high_detail(width, height)
    try:
        decoded_size = img.size
        img = _upright(img)
        if img.size != decoded_size:  # Turned a quarter: width and height swap.
            target = (target[1], target[0])
        out_format = "png" if kind == "gif" else kind
        img = _to_srgb(img)
        img = _convert_mode(img, out_format)
        if target != img.size:
            img = img.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
        # A fresh image from the raw pixels: nothing of the source's metadata survives.
        clean = Image.frombytes(img.mode, img.size, img.tobytes())
        out = io.BytesIO()
        if out_format == "jpeg":
            clean.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
        elif out_format == "webp":
            if _webp_is_lossless(data):
                clean.save(out, "WEBP", lossless=True)
            else:
                clean.save(out, "WEBP", quality=WEBP_QUALITY)
        else:
            clean.save(out, "PNG")
    except (OSError, ValueError, SyntaxError) as exc:
        raise damaged from exc
    encoded = out.getvalue()
    return NormalizedImage(
        data=encoded,
        format=out_format,
        content_type=CONTENT_TYPES[out_format],
        width=clean.width,
        height=clean.height,
        sha256=hashlib.sha256(encoded).hexdigest(),
    )


def data_url(image: NormalizedImage) -> str:
    """The image as a base64 ``data:`` URL, for an ``image_url`` content part."""
    return f"data:{image.content_type};base64,{base64.b64encode(image.data).decode('ascii')}"


def _patches(width: int, height: int) -> int:
    """32-px patches covering the image, after OpenAI's scale-down to at most 1,536."""
    patches = math.ceil(width / _PATCH_SIZE) * math.ceil(height / _PATCH_SIZE)
    if patches <= _MAX_PATCHES:
        return patches
    shrink = math.sqrt(_PATCH_SIZE * _PATCH_SIZE * _MAX_PATCHES / (width * height))
    # Shrink a little more so a whole number of patches fits the side that needs it
    # most; done in exact fractions so that, e.g., 1056.0 does not become 1056.0000001.
    scale = min(
        Fraction(_PATCH_SIZE * math.floor(width * shrink / _PATCH_SIZE), width),
        Fraction(_PATCH_SIZE * math.floor(height * shrink / _PATCH_SIZE), height),
    )
    resized = math.ceil(width * scale / _PATCH_SIZE) * math.ceil(height * scale / _PATCH_SIZE)
    return min(resized, _MAX_PATCHES)


def image_tokens(
    width: int,
    height: int,
    *,
    method: str,
    detail: str = "high",
    multiplier: float = PATCH_MULTIPLIERS["o4-mini"],
) -> int:
    """OpenAI's documented estimate of the input tokens one image costs.

    ``method="tiles"`` (GPT-4o, o1, o3 and older vision models): ``detail="low"`` costs 85.
    Otherwise the image is fitted within 2048x2048, then its shortest side is scaled to
    at most 768 (``fit_high_detail``), and it costs 85 + 170 per 512-px tile covering it.
    Examples from OpenAI's vision guide: 1024x1024 high -> 765; 2048x4096 high -> 1105;
    any size low -> 85.

    ``method="patches"`` (o4-mini, GPT-4.1-mini and -nano):
    A. patches = ceil(w / 32) * ceil(h / 32);
    B. above 1,536 patches the image is scaled down: r = sqrt(32² * 1536 / (w * h)), then
       r *= min(floor(w r / 32) / (w r / 32), floor(h r / 32) / (h r / 32)), and the
       patches of the scaled image are counted;
    C. patches are capped at 1,536;
    D. tokens = patches * the model's ``multiplier`` (rounded up here; OpenAI does not
       say how it rounds). Default: o4-mini's 1.72 (see ``PATCH_MULTIPLIERS``).
    Examples from the guide, with multiplier 1: 1024x1024 -> 1024; 1800x2400 -> 1452.
    ``detail`` does not change the cost of patch-billed models (measurements posted on
    the OpenAI community forum show ``low`` and ``high`` cost the same for o4-mini).

    Sources: OpenAI's "Images and vision" guide, section "Calculating costs", as quoted
    on community.openai.com (threads 1230130 and 1344040) and in third-party calculators;
    OpenAI's page itself could not be fetched from here. The quoted multiplier table lists
    gpt-4.1-mini 1.62 and gpt-4.1-nano 2.46. o4-mini's 1.72 is NOT confirmed from OpenAI's
    own page: it comes from API measurements posted on the community forum (thread
    1377015 lists "o4-mini-2025-04-16 1.72x"). Callers may pass another ``multiplier``.
    """
    if width < 1 or height < 1:
        raise ValueError("width and height must be positive")
    if detail not in ("high", "low", "auto"):
        raise ValueError(f"unknown detail {detail!r}; expected 'high', 'low' or 'auto'")
    if method == "tiles":
        if detail == "low":
            return _TILE_BASE_TOKENS
        # "auto" lets the API choose; estimate the dearer "high".
        fitted_w, fitted_h = fit_high_detail(width, height)
        tiles = math.ceil(fitted_w / _TILE_SIZE) * math.ceil(fitted_h / _TILE_SIZE)
        return _TILE_BASE_TOKENS + _TILE_TOKENS * tiles
    if method == "patches":
        if multiplier <= 0:
            raise ValueError("multiplier must be positive")
        # round() first so that float noise (e.g. 100 * 1.72 = 172.00000000000003)
        # does not round a whole number up.
        return math.ceil(round(_patches(width, height) * multiplier, 6))
    raise ValueError(f"unknown method {method!r}; expected 'tiles' or 'patches'")
