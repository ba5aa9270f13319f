"""Real images for the tests: an upload, a screenshot or evidence attached offline must decode,
not only start as its type does (workbench/domain/images.py)."""

from __future__ import annotations

import io

from PIL import Image


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (4, 3), colour: str | tuple[int, int, int] = "teal") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, fmt)
    return out.getvalue()


PNG = image_bytes()
