"""Stopping a PostgreSQL server's job claimer: it is woken at once, not left to finish its wait for work."""

from __future__ import annotations

import time

import psycopg
import pytest

from tests.session_helpers import wait_until
from workbench.server import jobs as jobs_mod
from workbench.server.jobs import PgJobs
from workbench.server.settings import ServerSettings
from workbench.services.context import Workbench


def _claimer_waits(url: str) -> bool:
    """The claimer has looked for work and sits idle in its wait for a notification."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND state = 'idle' AND query ILIKE 'UPDATE jobs SET state%%'"
        ).fetchone()
    return row is not None and row[0] > 0


@pytest.mark.postgresql_only("the claimer thread and its LISTEN are PostgreSQL's jobs")
def test_a_stop_wakes_the_claimer_rather_than_waiting_out_its_poll(engine: str, wb: Workbench, monkeypatch: pytest.MonkeyPatch):
    # A poll of 30 s: a stop that waited for it would hold the server's shutdown that long.
    monkeypatch.setattr(jobs_mod, "POLL_SECONDS", 30.0)
    monkeypatch.setenv(jobs_mod.LEASE_ENV, "300")
    url = wb.store.url  # pyright: ignore[reportAttributeAccessIssue]
    jobs = PgJobs(wb, ServerSettings())
    wait_until(lambda: _claimer_waits(url), bool, what="the claimer waits for work")
    started = time.monotonic()
    jobs.shutdown()
    assert not jobs._thread.is_alive()
    assert time.monotonic() - started < 10
