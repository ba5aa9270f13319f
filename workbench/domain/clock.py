"""Identifiers and time: time-ordered ids and the one wire format for timestamps.

Timestamps are stored as integer epoch milliseconds (UTC) and shown as ISO-8601 with
milliseconds and ``Z``, the format the documents use ("2024-06-15T10:30:00.000Z"). One sent
must say its zone (``fields.Timestamp``, ``since.parse_since``); the words for one that does not
are here, where a front end that loads no pydantic finds them.
"""

from __future__ import annotations

import functools
import os
import time
import uuid
from datetime import UTC, datetime
from typing import Final


def now_ms() -> int:
    """The current time in epoch milliseconds."""
    return time.time_ns() // 1_000_000


def new_id(at_ms: int | None = None) -> str:
    """A UUIDv7 string: sortable by creation time, unguessable in its low 74 bits."""
    ms = now_ms() if at_ms is None else at_ms
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62  # RFC 4122 variant
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def iso_ms(ms: int | None) -> str | None:
    """Epoch ms → "YYYY-MM-DDTHH:MM:SS.mmmZ" (None stays None)."""
    if ms is None:
        return None
    # A list page formats two per row, and this was most of a row's encoding (2 µs each with
    # strftime): the date is kept per day (a store's rows share few days), the time's parts are
    # looked up (0.5 µs in all).
    seconds, milli = divmod(ms, 1000)
    day, second = divmod(seconds, 86_400)
    minute, second = divmod(second, 60)
    return _iso_day(day) + _HH_MM[minute] + _SS[second] + _MMMZ[milli]


_HH_MM = [f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60)]
_SS = [f"{s:02d}." for s in range(60)]
_MMMZ = [f"{ms:03d}Z" for ms in range(1000)]


@functools.lru_cache(maxsize=4096)
def _iso_day(day: int) -> str:
    """Days since the epoch → "YYYY-MM-DDT"."""
    return time.strftime("%Y-%m-%dT", time.gmtime(day * 86_400))


def to_ms(dt: datetime) -> int:
    """An aware (or naive-as-UTC) datetime → epoch ms."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    """Epoch ms → aware UTC datetime."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


TIMESTAMP_FORM: Final = "an ISO 8601 date and time with its timezone, e.g. 2026-03-16T10:32:00Z or 2026-03-16T12:32:00+02:00"
# ``{sent}``: the date and time as sent (a template, as pydantic's errors take one).
NO_ZONE: Final = "{sent} has no timezone: add Z for UTC or an offset such as +02:00 (e.g. 2026-03-16T10:32:00Z)"


def no_zone(sent: str) -> str:
    """What is wrong with a date and time ``sent`` without its zone, and what to add."""
    return NO_ZONE.format(sent=sent)
