"""Fast JSON responses: orjson, no response_model re-validation on hot paths."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def items(rows: list[Any], **extra: Any) -> JSON:
    return JSON({"items": [r.to_public() for r in rows], **extra})
