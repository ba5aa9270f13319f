"""The "duplicate of <id>" summary a duplicate records, written and read in one place.

Free of pydantic: the inbox's preview reads it on the first paint.
"""

from __future__ import annotations

import re

DUPLICATE_PREFIX = "duplicate of "

_DUPLICATE = re.compile(r"\s*duplicate of\s+…?([0-9A-Za-z][0-9A-Za-z_-]{5,})\s*$", re.IGNORECASE)


def duplicate_summary(target_id: str) -> str:
    """The summary a duplicate records: which annotation it duplicates."""
    return f"{DUPLICATE_PREFIX}{target_id}"


def duplicate_target(summary: str | None) -> str | None:
    """The annotation id a "duplicate of <id>" summary names (None for any other summary)."""
    match = _DUPLICATE.match(summary or "")
    return match.group(1) if match else None
