"""Parse the ``since`` filter that agents and scripts pass: epoch ms, ISO-8601, or "how long ago".

The API takes epoch milliseconds; people and models more often have a date ("2024-06-01"),
a timestamp with a zone, or a relative age ("36h", "7d"), so the front ends accept all three
and turn them into the one integer the service expects.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from workbench.domain.errors import Invalid

_AGO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$", re.IGNORECASE)
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def parse_since(value: str | int | None, now_ms: int) -> int | None:
    """Epoch milliseconds of ``value``; raises ``Invalid`` with the accepted forms otherwise."""
    if value is None:
        return None
    if isinstance(value, bool):  # bool is an int subclass; True is not a timestamp
        raise Invalid("since must be epoch milliseconds, an ISO-8601 date/time or an age like 7d")
    if isinstance(value, int):
        if value < 0:
            raise Invalid("since must be a non-negative epoch-milliseconds integer")
        return value
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return int(text)
    if m := _AGO.match(text):
        return max(0, now_ms - int(float(m.group(1)) * _UNIT_MS[m.group(2).lower()]))
    try:
        # fromisoformat (3.11) takes "2024-06-01", "2024-06-01T10:00" and a trailing "Z".
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(
            f"Invalid since {value!r}: use epoch milliseconds, an ISO-8601 date/time "
            "(2024-06-01, 2024-06-01T10:00:00Z) or an age (30m, 12h, 7d, 2w)"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)  # a bare date/time is read as UTC, the API's zone
    return max(0, int(dt.timestamp() * 1000))
