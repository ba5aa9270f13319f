"""The one image check (issue 12 bug 4): magic numbers, whatever the file is called."""

from __future__ import annotations

import pytest

from workbench.domain.images import sniff_image_type


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
