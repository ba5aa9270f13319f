"""The image formats evidence and screenshots may be: types, file extensions, magic bytes, size cap.

Every path that accepts an image (presigned uploads, widget screenshots, files attached from
the TUI, the MCP tools) reads these facts from here. A name says nothing about the content
(``notes.txt`` renamed ``after.png``), so bytes are judged by their leading bytes, the formats'
magic numbers. Kept free of pydantic: the TUI's file picker imports it on first paint.
"""

from __future__ import annotations

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
    """Refuse bytes over the 10 MB cap (TooLarge) or whose first bytes are not the declared image type (Invalid)."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise TooLarge(f"{what} is {len(data)} bytes; the cap is {MAX_UPLOAD_BYTES} bytes (10 MB)")
    if sniff_image_type(data) != content_type:
        raise Invalid(f"{what} is not an image of type {content_type} (its first bytes do not match)")
