"""The ``since`` filter: epoch ms, ISO-8601, or "how long ago", checked against one range for every front end.

The API takes epoch milliseconds; people and models more often have a date ("2024-06-01", that
day in UTC), a timestamp with a zone, or a relative age ("36h", "7d"), so the CLI and MCP accept
all three. A date and time without its zone is refused, as every timestamp a request sends is
(clock.no_zone): read as UTC, someone's local time would move by their offset, silently.
Whatever the form, the result must lie between the epoch and the last millisecond of year 9999
(the latest instant the API can write back as ISO-8601): anything else is a clear ``Invalid``,
never an overflow deep in SQLite or a negative epoch.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from workbench.domain.clock import no_zone
from workbench.domain.errors import Invalid

MAX_SINCE_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z

_AGO = re.compile(r"^\s*(\d{1,15}(?:\.\d{1,6})?)\s*(s|m|h|d|w)\s*$", re.IGNORECASE)
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_FORMS = "use epoch milliseconds, an ISO-8601 date or date and time with its zone (2024-06-01, 2024-06-01T10:00:00Z) or an age (30m, 12h, 7d, 2w)"
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def check_since_ms(value: int) -> int:
    """``value`` if it is an epoch-milliseconds instant the store can compare with; ``Invalid`` otherwise."""
    if value < 0:
        raise Invalid("since must be a non-negative epoch-milliseconds integer")
    if value > MAX_SINCE_MS:
        raise Invalid(f"since {value} is past the year 9999 (largest accepted: {MAX_SINCE_MS})")
    return value


def parse_since(value: str | int | None, now_ms: int) -> int | None:
    """Epoch milliseconds of ``value``; raises ``Invalid`` with the accepted forms otherwise."""
    if value is None:
        return None
    if isinstance(value, bool):  # bool is an int subclass; True is not a timestamp
        raise Invalid(f"Invalid since {value!r}: {_FORMS}")
    if isinstance(value, int):
        return check_since_ms(value)
    text = value.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():  # "²".isdigit() is True, and int("²") fails
        if len(text) > len(str(MAX_SINCE_MS)):
            raise Invalid(f"since {text[:30]}… is past the year 9999 (largest accepted: {MAX_SINCE_MS})")
        return check_since_ms(int(text))
    if m := _AGO.match(text):
        ago_ms = int(float(m.group(1)) * _UNIT_MS[m.group(2).lower()])
        if ago_ms > now_ms:
            raise Invalid(f"since {text!r} reaches back before 1970-01-01; give a shorter age or a date")
        return now_ms - ago_ms
    try:
        # fromisoformat (3.11) takes "2024-06-01", "2024-06-01T10:00" and a trailing "Z".
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(f"Invalid since {value[:60]!r}: {_FORMS}") from None
    if dt.utcoffset() is None:
        if not _DAY.fullmatch(text):
            # A time of day must say its zone, as every timestamp a request sends (clock.no_zone).
            raise Invalid(f"since {no_zone(text)}")
        dt = dt.replace(tzinfo=UTC)  # a bare date is that day in UTC, the API's zone
    try:
        ms = int(dt.timestamp() * 1000)
    except (ValueError, OverflowError, OSError):
        raise Invalid(f"Invalid since {value[:60]!r}: {_FORMS}") from None
    return check_since_ms(ms)
