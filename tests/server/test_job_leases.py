"""PostgreSQL's job leases: a worker renews the leases of the jobs it runs, and only those.

A job running past its lease is not claimed twice; a job whose database connection was cut under
it (a server restarting) cannot record its outcome, says so in a line, and is claimed again once
its lease lapses, by this worker or any other.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

import psycopg
import pytest
from starlette.background import BackgroundTasks

from storage import jobs as storage_jobs
from tests.session_helpers import wait_until
from workbench.server import jobs as jobs_mod
from workbench.server.jobs import PgJobs
from workbench.server.settings import ServerSettings
from workbench.services.context import Workbench

LEASE = 1.5


def _job(url: str, payload: str) -> tuple[str, int, float]:
    """(state, attempts, claimed_at in ms) of the ``probe`` job on ``payload``."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT state, attempts, claimed_at FROM jobs WHERE kind = 'probe' AND payload = %s",
                           [payload]).fetchone()
    assert row is not None
    return str(row[0]), int(row[1]), float(row[2] or 0)


def held_runner() -> tuple[list[str], threading.Event, Callable[[Workbench, str], None]]:
    """A job runner that notes each run and then waits for ``go``, as a deploy command runs on."""
    runs: list[str] = []
    go = threading.Event()

    def slow(wb: Workbench, payload: str) -> None:
        runs.append(payload)
        go.wait(60)

    return runs, go, slow


@pytest.mark.postgresql_only("leases are PostgreSQL's jobs: SQLite's run in the one process that serves")
def test_a_job_running_past_its_lease_is_not_claimed_by_another_worker(wb: Workbench, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(jobs_mod.LEASE_ENV, str(LEASE))
    url = wb.store.url  # pyright: ignore[reportAttributeAccessIssue]  # a PgStore: postgresql_only
    runs, go, slow = held_runner()

    first, second = PgJobs(wb, ServerSettings()), PgJobs(wb, ServerSettings())
    first.runners = second.runners = {"probe": slow}
    try:
        with first.together(None) as later:
            later("probe", "long")
        wait_until(lambda: runs, bool, what="the job claimed")
        claimed = _job(url, "long")[2]
        # Three leases' time, renewed all along: a claimer that stopped renewing it loses it to the other.
        wait_until(lambda: _job(url, "long")[2] > claimed + 2 * LEASE * 1000, bool, what="the lease renewed", timeout=30)
        assert runs == ["long"]
        go.set()
        wait_until(lambda: _job(url, "long")[0], lambda state: state == "done", what="the job done")
    finally:
        go.set()
        first.shutdown()
        second.shutdown()
    assert runs == ["long"] and _job(url, "long")[1] == 1


@pytest.mark.postgresql_only("leases are PostgreSQL's jobs: SQLite's run in the one process that serves")
def test_a_job_whose_connection_was_cut_says_so_in_lines_and_runs_again_once_its_lease_lapses(
    wb: Workbench, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    """A database restarting under a running job: the job failed, recording that failed on the
    closed connection, and so did the wake after it: three tracebacks. And the claimer went on
    renewing the lease of every row claimed by its worker, so the job, claimed and never
    finished, was never claimed again while the worker lived."""
    monkeypatch.setenv(jobs_mod.LEASE_ENV, str(LEASE))
    url = wb.store.url  # pyright: ignore[reportAttributeAccessIssue]  # a PgStore: postgresql_only
    runs: list[str] = []
    down = threading.Event()  # the database still out of reach when the run's outcome is recorded

    def cut(wb: Workbench, payload: str) -> None:
        runs.append(payload)
        if len(runs) == 1:
            down.set()
            db = wb.store.db
            pid = db.execute("SELECT pg_backend_pid()").fetchone()[0]
            with psycopg.connect(url, autocommit=True) as admin:
                # Waits until the backend is gone, as a server shutting down leaves it.
                admin.execute("SELECT pg_terminate_backend(%s, 10000)", [pid])
            db.execute("SELECT 1")
        down.clear()

    jobs = PgJobs(wb, ServerSettings())
    jobs.runners = {"probe": cut}
    reopen = jobs._conn
    # A port nothing listens on: the store's reconnect is refused, as by a server still stopped.
    refused = "postgresql://postgres@127.0.0.1:1/gone"
    monkeypatch.setattr(jobs, "_conn", lambda: psycopg.connect(refused, connect_timeout=2) if down.is_set() else reopen())
    try:
        with caplog.at_level(logging.INFO, logger=jobs_mod.log.name):
            with jobs.together(None) as later:
                later("probe", "cut")
            wait_until(lambda: _job(url, "cut"), lambda job: job[0] == "done", what="the job run again and done", timeout=30)
    finally:
        jobs.shutdown()
    assert runs == ["cut", "cut"]
    said = [r for r in caplog.records if r.name == jobs_mod.log.name and r.levelno >= logging.ERROR]
    assert [r.getMessage().split(":")[0] for r in said] == ["background job probe cut stopped (attempt 1)",
                                                            "background job probe cut"], [r.getMessage() for r in said]
    assert "could not be recorded" in said[1].getMessage() and "runs again once its lease lapses" in said[1].getMessage()
    assert all(r.exc_info is None for r in said)


@pytest.mark.postgresql_only("leases are PostgreSQL's jobs: SQLite's run in the one process that serves")
def test_a_job_that_outlives_a_restart_records_its_outcome_on_the_connection_it_reopened(
    wb: Workbench, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    """A database restarted while a job ran (a deploy command waiting, no statement out): the job
    reopened its thread's connection and did its work, but its outcome was recorded on the
    connection taken before it ran, closed by then: "could not be recorded" with the database up,
    and the job run a second time once its lease lapsed."""
    monkeypatch.setenv(jobs_mod.LEASE_ENV, str(LEASE))
    url = wb.store.url  # pyright: ignore[reportAttributeAccessIssue]  # a PgStore: postgresql_only
    runs: list[str] = []

    def outlives(wb: Workbench, payload: str) -> None:
        runs.append(payload)
        if len(runs) == 1:
            pid = wb.store.db.execute("SELECT pg_backend_pid()").fetchone()[0]
            with psycopg.connect(url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s, 10000)", [pid])
        wb.store.db.execute("SELECT 1")  # the store sees the goodbye and opens a new connection

    jobs = PgJobs(wb, ServerSettings())
    jobs.runners = {"probe": outlives}
    try:
        with caplog.at_level(logging.INFO, logger=jobs_mod.log.name):
            with jobs.together(None) as later:
                later("probe", "outlived")
            wait_until(lambda: _job(url, "outlived")[0], lambda state: state == "done", what="the job done", timeout=30)
    finally:
        jobs.shutdown()
    assert runs == ["outlived"]
    assert _job(url, "outlived")[1] == 1
    assert not [r.getMessage() for r in caplog.records if r.name == jobs_mod.log.name and r.levelno >= logging.WARNING]


@pytest.mark.postgresql_only("leases are PostgreSQL's jobs: SQLite's run in the one process that serves")
def test_a_job_its_request_could_not_claim_for_a_lost_connection_is_left_to_the_claimers_in_a_line(
    wb: Workbench, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    """A request runs the job it queued after its response (a submitter's notification): its
    connection cut as it claimed the job, the failure escaped the background task, a traceback
    from uvicorn. The job is not lost either way: queued, any claimer takes it once it is due."""
    monkeypatch.setattr(jobs_mod, "HERE_FIRST_MS", 200)
    url = wb.store.url  # pyright: ignore[reportAttributeAccessIssue]  # a PgStore: postgresql_only
    runs: list[str] = []
    claim_one = storage_jobs.claim_one

    def cut_then_claim(conn: psycopg.Connection, *args: object) -> object:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s, 10000)", [conn.info.backend_pid])
        return claim_one(conn, *args)  # pyright: ignore[reportArgumentType]

    jobs = PgJobs(wb, ServerSettings())
    jobs.runners = {"probe": lambda wb, payload: runs.append(payload)}
    try:
        with caplog.at_level(logging.INFO, logger=jobs_mod.log.name):
            background = BackgroundTasks()
            with jobs.together(background) as later:
                later("probe", "here")
            monkeypatch.setattr(storage_jobs, "claim_one", cut_then_claim)
            asyncio.run(background())
            monkeypatch.setattr(storage_jobs, "claim_one", claim_one)
            wait_until(lambda: _job(url, "here")[0], lambda state: state == "done", what="a claimer ran it", timeout=30)
    finally:
        jobs.shutdown()
    assert runs == ["here"]
    said = [r for r in caplog.records if r.name == jobs_mod.log.name and r.levelno >= logging.WARNING]
    assert len(said) == 1 and said[0].exc_info is None, [r.getMessage() for r in said]
    assert "left to the job claimers" in said[0].getMessage()


def _claimer_pid(url: str) -> int | None:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s",
                           [jobs_mod.CLAIMER_NAME]).fetchone()
    return None if row is None else int(row[0])


@pytest.mark.postgresql_only("leases are PostgreSQL's jobs: SQLite's run in the one process that serves")
def test_a_claimer_back_after_its_jobs_leases_lapsed_renews_them_rather_than_claim_them_again(
    wb: Workbench, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    """The claimer away longer than a lease (an outage) while its worker still ran a job (a deploy
    command needs no database): back, it claimed before it renewed, found that job's lease lapsed
    and took it again, and the worker ran the job a second time beside the first."""
    monkeypatch.setenv(jobs_mod.LEASE_ENV, str(LEASE))
    # The claimer reconnects this long after it lost its connection: past the job's lease.
    monkeypatch.setattr(jobs_mod, "POLL_SECONDS", 2 * LEASE)
    url = wb.store.url  # pyright: ignore[reportAttributeAccessIssue]  # a PgStore: postgresql_only
    runs, go, slow = held_runner()

    jobs = PgJobs(wb, ServerSettings())
    jobs.runners = {"probe": slow}
    try:
        with caplog.at_level(logging.INFO, logger=jobs_mod.log.name):
            with jobs.together(None) as later:
                later("probe", "away")
            wait_until(lambda: runs, bool, what="the job claimed")
            pid = wait_until(lambda: _claimer_pid(url), bool, what="the claimer connected")
            with psycopg.connect(url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s, 10000)", [pid])
            cut_at = _job(url, "away")[2]
            wait_until(lambda: any("claimer reconnected" in r.getMessage() for r in caplog.records), bool,
                       what="the claimer back", timeout=30)
            # Renewed since it came back: in the order it works, any claim came before this.
            wait_until(lambda: _job(url, "away")[2] > cut_at + LEASE * 1000, bool, what="the lease renewed", timeout=30)
            assert _job(url, "away")[1] == 1
            assert runs == ["away"]
        go.set()
        wait_until(lambda: _job(url, "away")[0], lambda state: state == "done", what="the job done")
    finally:
        go.set()
        jobs.shutdown()
