"""Fixtures of the attack suite: a bootstrapped data directory, and `workbench serve` on it without rate limits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from storage.pg import PgStore
from tests.conftest import ServerProcess
from tests.pg_cluster import Cluster
from tests.server.world import World, build_world
from workbench.services.context import Workbench

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _both_engines(engine: str) -> str:
    """The server suite runs on both engines: every test here, once on SQLite and once on PostgreSQL."""
    return engine
@pytest.fixture
def pg_store(pg_cluster: Cluster) -> Iterator[PgStore]:
    """A PostgreSQL store on a database of its own, dropped afterwards (for postgresql_only tests)."""
    url = pg_cluster.create()
    store = PgStore(url)
    yield store
    store.close()
    pg_cluster.drop(url)


# The suite attacks authorisation, crashes and secrets, not the rate limiter (tests/server/test_api_ratelimit.py does).
NO_LIMITS = ("--token-limit", "1000000000", "--ip-limit", "1000000000")


def served_world(tmp: Path) -> tuple[Path, World]:
    """A data directory holding the attack world (closed again, so a server process owns it)."""
    data = tmp / "served"
    wb = Workbench.open(str(data), mailer=None)
    try:
        world = build_world(wb)
    finally:
        wb.store.close()
    world.wb = None  # pyright: ignore[reportAttributeAccessIssue]  # closed: the server process owns the store now, and a use fails loudly
    return data, world


def serve(
    data: Path, *extra: str, port: int | None = None, env: dict[str, Any] | None = None, wrap: Callable[[list[str]], list[str]] | None = None
) -> ServerProcess:
    """`workbench serve` from this checkout on ``data`` (a fixed ``port`` keeps the URL across a restart; ``wrap``: see ServerProcess)."""
    return ServerProcess(data, *NO_LIMITS, *extra, port=port, env={"PYTHONPATH": str(ROOT), **(env or {})}, cwd=ROOT, wrap=wrap)
