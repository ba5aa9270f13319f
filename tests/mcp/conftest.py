"""The MCP suite runs on both engines: every test here, once on SQLite and once on PostgreSQL."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _both_engines(engine: str) -> str:
    return engine
