"""The documented paging of list endpoints: ``?cursor=&limit=`` (default 50, at most 200).

The annotations list carries the same two fields, with these bounds, in its own query (annotations.py); every
other list takes this one, so a limit outside 1..200 or an overlong cursor is the same 400.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from workbench.domain.errors import Invalid
from workbench.domain.fields import NoNul, QueryInt

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class PageQuery(BaseModel):
    """?cursor=<next_cursor of the previous page>&limit=<1..200>."""

    model_config = ConfigDict(extra="ignore")

    cursor: Annotated[str, StringConstraints(max_length=1000), NoNul] | None = None
    limit: QueryInt = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


def check_limit(limit: int) -> None:
    """The same bound for callers that skip the query model (the MCP tools, services called directly)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}")
