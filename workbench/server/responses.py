"""Fast JSON responses: orjson, no response_model re-validation on hot paths."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from starlette.responses import Response

if TYPE_CHECKING:
    from workbench.services.paging import Page


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def items(rows: list[Any], **extra: Any) -> JSON:
    return JSON({"items": [r.to_public() for r in rows], **extra})


def page(found: Page[Any]) -> JSON:
    """A documented list page: ``{items, next_cursor}``, null on the last page."""
    return items(found.items, next_cursor=found.next_cursor)
