"""The ``since`` filter of the CLI and MCP (workbench/domain/since.py): its forms, and a time of day that says its zone."""

from __future__ import annotations

import pytest

from workbench.domain.errors import Invalid
from workbench.domain.since import parse_since

NOW = 1_790_000_000_000  # 2026-09-21T13:33:20Z


@pytest.mark.parametrize("sent,ms", [
    ("2024-06-01", 1_717_200_000_000),  # a bare date: that day in UTC
    ("2024-06-01T10:00Z", 1_717_236_000_000),
    ("2024-06-01T12:00+02:00", 1_717_236_000_000),  # the same instant, written two hours east
    ("12h", NOW - 12 * 3_600_000),
    (1_717_236_000_000, 1_717_236_000_000),
])
def test_the_forms_it_takes(sent, ms):
    assert parse_since(sent, NOW) == ms


@pytest.mark.parametrize("sent", ["2024-06-01T10:00", "2024-06-01 10:00:00", "2024-06-01T10:00:00.5"])
def test_a_time_of_day_without_its_zone_is_refused_saying_what_to_add(sent):
    """It was read as UTC: someone's local time moved by their offset, silently (clock.no_zone)."""
    with pytest.raises(Invalid, match=rf"^since {sent} has no timezone: add Z for UTC or an offset such as \+02:00"):
        parse_since(sent, NOW)
