"""The one image module (issue 12 bug 4, issue 15 item 6): types, extensions and magic numbers, whatever the file is called."""

from __future__ import annotations

import pytest

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


def test_every_accepted_type_has_an_extension_and_a_signature() -> None:
    """The module is the one list: each type it accepts is stored under a name and recognised by its bytes."""
    assert set(IMAGE_TYPES) == set(SAMPLES) == set(EXTENSION)
    for content_type, data in SAMPLES.items():
        assert sniff_image_type(data) == content_type
        assert TYPE_OF_EXTENSION[EXTENSION[content_type]] == content_type
        check_image(content_type, data)


def test_check_image_refuses_a_mismatch_and_the_oversized() -> None:
    with pytest.raises(Invalid, match="not an image of type image/png"):
        check_image("image/png", SAMPLES["image/gif"], "screenshot")
    with pytest.raises(Invalid):
        check_image("image/bmp", b"BM\0\0", "screenshot")
    with pytest.raises(TooLarge):
        check_image("image/png", SAMPLES["image/png"] + b"\0" * MAX_UPLOAD_BYTES)
