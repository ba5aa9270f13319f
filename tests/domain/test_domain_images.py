"""The one image module (issue 12 bug 4, issue 15 item 6): types, extensions and magic numbers, whatever the file is called."""

from __future__ import annotations

import struct
import zlib

import pytest

from tests.images import image_bytes
from workbench.domain.errors import Invalid, TooLarge
from workbench.domain.images import (
    EXTENSION,
    IMAGE_TYPES,
    MAX_UPLOAD_BYTES,
    TYPE_OF_EXTENSION,
    check_image,
    sniff_image_type,
)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 8, "image/png"),
        (b"\xff\xd8\xff\xe0\0\x10JFIF", "image/jpeg"),
        (b"GIF89a\x01\0", "image/gif"),
        (b"GIF87a\x01\0", "image/gif"),
        (b"RIFF\x24\0\0\0WEBPVP8 ", "image/webp"),
        (b"RIFF\x24\0\0\0WAVEfmt ", None),  # RIFF, but audio
        (b"hello", None),
        (b"", None),
        (b"\x89PNG", None),  # cut short
    ],
)
def test_sniff_image_type(data: bytes, expected: str | None) -> None:
    assert sniff_image_type(data) == expected


SAMPLES = {
    "image/png": b"\x89PNG\r\n\x1a\n" + b"\0" * 8,
    "image/jpeg": b"\xff\xd8\xff\xe0\0\x10JFIF",
    "image/webp": b"RIFF\x24\0\0\0WEBPVP8 ",
    "image/gif": b"GIF89a\x01\0",
}


WHOLE = {ct: image_bytes(fmt, (16, 9)) for ct, fmt in (("image/png", "PNG"), ("image/jpeg", "JPEG"), ("image/webp", "WEBP"), ("image/gif", "GIF"))}


def test_every_accepted_type_has_an_extension_and_a_signature() -> None:
    """The module is the one list: each type it accepts is stored under a name and recognised by its bytes."""
    assert set(IMAGE_TYPES) == set(SAMPLES) == set(EXTENSION) == set(WHOLE)
    for content_type, data in SAMPLES.items():
        assert sniff_image_type(data) == content_type
        assert TYPE_OF_EXTENSION[EXTENSION[content_type]] == content_type
        check_image(content_type, WHOLE[content_type])
        check_image(content_type, WHOLE[content_type] + b"after its end")  # bytes past the image's end are not read


@pytest.mark.parametrize("content_type", sorted(WHOLE))
def test_check_image_refuses_what_starts_as_an_image_but_does_not_decode(content_type: str) -> None:
    whole = WHOLE[content_type]
    for damaged in (SAMPLES[content_type], whole[: len(whole) // 2], whole[:-10], whole[: len(SAMPLES[content_type])] + bytes(64)):
        if content_type == "image/png" and damaged == whole[:-10]:
            continue  # only its end marker cut: every pixel is there, and decoders show it
        with pytest.raises(Invalid, match="does not decode"):
            check_image(content_type, damaged, "screenshot")


def png_claiming(width: int, height: int) -> bytes:
    """A PNG claiming ``width``×``height`` in its header, with a few bytes of pixel data: a decoder
    reads up to the data's start before it sizes its canvas."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(64))) + chunk(b"IEND", b"")


def test_check_image_refuses_a_decompression_bomb_from_its_header() -> None:
    """A few kilobytes of PNG can claim a canvas that would take the server's memory to decode."""
    with pytest.raises(Invalid, match="7000×7000 pixels"):
        check_image("image/png", png_claiming(7000, 7000))
    # Past twice Pillow's own limit: Image.open refuses it itself (DecompressionBombError).
    with pytest.raises(Invalid, match="more pixels"):
        check_image("image/png", png_claiming(20_000, 20_000))


def test_a_claim_past_pillows_warning_is_refused_without_it(recwarn: pytest.WarningsRecorder) -> None:
    """Between Pillow's warning (89 megapixels) and its refusal (twice that) only ours is heard:
    the CLI printed Pillow's warning, a file path and a line of its source, over the refusal."""
    with pytest.raises(Invalid, match="10000×10000 pixels"):
        check_image("image/png", png_claiming(10_000, 10_000))
    assert [str(w.message) for w in recwarn] == []


def test_check_image_refuses_a_mismatch_and_the_oversized() -> None:
    with pytest.raises(Invalid, match="not an image of type image/png"):
        check_image("image/png", SAMPLES["image/gif"], "screenshot")
    with pytest.raises(Invalid):
        check_image("image/bmp", b"BM\0\0", "screenshot")
    with pytest.raises(TooLarge):
        check_image("image/png", SAMPLES["image/png"] + b"\0" * MAX_UPLOAD_BYTES)
