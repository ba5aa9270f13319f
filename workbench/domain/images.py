"""Which image format a file's bytes are: the one check, for every path that accepts evidence.

A name says nothing about the content (``notes.txt`` renamed ``after.png``), so uploads and
attached files are judged by their leading bytes, the formats' magic numbers.
"""

from __future__ import annotations

# The longest signature below (WebP: "RIFF" + 4 size bytes + "WEBP") is 12 bytes.
HEADER_BYTES = 12


def sniff_image_type(data: bytes) -> str | None:
    """The MIME type (image/png, image/jpeg, image/gif, image/webp) of ``data``, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= HEADER_BYTES and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None
