"""Narrowing for tests: what a getter answered, asserted found (repositories answer None for an unknown id)."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def found(value: T | None) -> T:
    """``value``, which the test expects to exist: a None fails here, where it was fetched, not at a later attribute."""
    assert value is not None, "expected a value, got None"
    return value
