"""The image formats evidence and screenshots may be: types, file extensions, magic bytes, size cap.

Every path that accepts an image (presigned uploads, widget screenshots, files attached from
the TUI, the MCP tools) reads these facts from here. A name says nothing about the content
(``notes.txt`` renamed ``after.png``), so bytes are judged by their leading bytes, the formats'
magic numbers; what arrives over HTTP must also decode (``check_image``). Kept free of pydantic
and of Pillow until an image arrives: the TUI's file picker imports it on first paint.
"""

from __future__ import annotations

import io
import threading
import warnings
from typing import Literal, get_args

from workbench.domain.errors import Invalid, TooLarge

ImageType = Literal["image/png", "image/jpeg", "image/webp", "image/gif"]
IMAGE_TYPES: tuple[str, ...] = get_args(ImageType)
# For messages: the formats as a person names them, in IMAGE_TYPES order.
IMAGE_FORMATS_TEXT = "PNG, JPEG, WebP or GIF"

# The extension a stored file gets for each type (the key says what the bytes are).
EXTENSION: dict[str, str] = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}
# The type a file name's extension stands for (both spellings of JPEG).
TYPE_OF_EXTENSION: dict[str, str] = {**{ext: ct for ct, ext in EXTENSION.items()}, "jpeg": "image/jpeg"}

MAX_UPLOAD_BYTES = 10 * 1024 * 1024

# The longest signature below (WebP: "RIFF" + 4 size bytes + "WEBP") is 12 bytes.
HEADER_BYTES = 12
_MAGIC: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
}


def sniff_image_type(data: bytes) -> str | None:
    """The MIME type (one of IMAGE_TYPES) of ``data``, or None."""
    for content_type, signatures in _MAGIC.items():
        if data.startswith(signatures):
            return content_type
    if len(data) >= HEADER_BYTES and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_image(content_type: str, data: bytes, what: str = "image") -> None:
    """Refuse bytes over the 10 MB cap (TooLarge), whose first bytes are not the declared image
    type, or that do not decode as one within MAX_PIXELS (Invalid)."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise TooLarge(f"{what} is {len(data)} bytes; the cap is {MAX_UPLOAD_BYTES} bytes (10 MB)")
    if sniff_image_type(data) != content_type:
        raise Invalid(f"{what} is not an image of type {content_type} (its first bytes do not match)")
    _check_decodes(content_type, data, what)


# Pillow's name for each type: the one decoder tried, so bytes are never parsed as another format.
_PILLOW_FORMAT = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP", "image/gif": "GIF"}
# What a decoded image may measure. An 8K screen is 33 megapixels and a long page captured at
# 1440 px wide about 20; a few kilobytes of PNG can claim far more (a decompression bomb) and
# decoding them would take the server's memory: refused from the header, before any pixel.
MAX_PIXELS = 40_000_000
# Decodes at once, in the whole process: one at the cap holds about 160 MB of pixels, and the
# server's threadpool would otherwise decode 40 at a time, one for each upload in flight.
_DECODING = threading.BoundedSemaphore(2)


def _check_decodes(content_type: str, data: bytes, what: str) -> None:
    """The magic bytes say what a file claims to be; a truncated file, or garbage after the
    header, claims as much and is no picture: stored, it showed as an error to every triager."""
    from PIL import Image, UnidentifiedImageError  # here: only when an image arrives (the server's start is measured)

    # Pillow warns of a claim past its own limit (89 megapixels) before refusing past twice that;
    # ours is lower and refuses every such image below, so its warning only printed a Python
    # warning over the one-line refusal. Added on each call (it goes first, once): a caller's
    # warnings filters set since would otherwise bring it back.
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
    fmt = _PILLOW_FORMAT[content_type]
    damaged = f"{what} is not a whole {content_type} image: it does not decode (truncated or damaged)"
    try:
        with _DECODING, Image.open(io.BytesIO(data), formats=[fmt]) as im:
            width, height = im.size
            if width * height > MAX_PIXELS:
                raise Invalid(f"{what} is {width}×{height} pixels; at most {MAX_PIXELS:,} pixels are taken")
            # Decoded, not verify()'d: verify() reads neither a JPEG's nor a GIF's data (a truncated
            # one passes), and refuses a PNG whose checksum is off that browsers, and the TUI, show.
            if fmt == "JPEG":
                im.draft("RGB", (max(1, width // 8), max(1, height // 8)))  # every byte decoded, an eighth of the memory
            im.load()
    except Image.DecompressionBombError:  # claimed over twice Pillow's own limit: refused by Image.open itself
        raise Invalid(f"{what} claims more pixels than the {MAX_PIXELS:,} taken") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):  # what Pillow's decoders raise on bad data
        raise Invalid(damaged) from None
