"""The jobs table (storage/jobs.py): a job enqueued again while it runs runs once more after, never twice at once."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from storage import jobs
from storage.pg import PgStore
from tests.pg_cluster import Cluster

LEASE_MS = 60_000


@pytest.fixture
def conn(pg_cluster: Cluster) -> Iterator[psycopg.Connection]:
    url = pg_cluster.create()
    PgStore(url).close()  # the schema
    with psycopg.connect(url, autocommit=True) as c:
        yield c
    pg_cluster.drop(url)


def states(conn: psycopg.Connection) -> list[tuple[str, int]]:
    return [(str(r[0]), int(r[1])) for r in conn.execute("SELECT state, attempts FROM jobs ORDER BY id").fetchall()]


def test_enqueued_again_while_waiting_changes_nothing(conn: psycopg.Connection):
    assert jobs.enqueue(conn, "test_session.analyze", "s1")
    assert not jobs.enqueue(conn, "test_session.analyze", "s1")  # a startup sweep finding it waiting
    assert states(conn) == [("queued", 0)]


def test_enqueued_again_while_it_runs_it_runs_once_more_when_that_run_ends(conn: psycopg.Connection):
    """A retried analysis whose first run had written its outcome but not yet finished its job row: the retry's
    enqueue found the job running and did nothing, so no job was left and the session stayed analyzing."""
    jobs.enqueue(conn, "test_session.analyze", "s1")
    [first] = jobs.claim(conn, "worker-a", LEASE_MS, 4)
    assert jobs.enqueue(conn, "test_session.analyze", "s1")
    assert jobs.claim(conn, "worker-b", LEASE_MS, 4) == []  # never twice at once
    jobs.finish(conn, first.id, "worker-a")
    assert states(conn) == [("queued", 0)]
    [second] = jobs.claim(conn, "worker-b", LEASE_MS, 4)
    assert (second.id, second.attempts) == (first.id, 1)
    jobs.finish(conn, second.id, "worker-b")
    assert states(conn) == [("done", 1)]
    assert jobs.claim(conn, "worker-c", LEASE_MS, 4) == []


def test_a_run_that_failed_for_good_still_runs_again_when_enqueued_meanwhile(conn: psycopg.Connection):
    jobs.enqueue(conn, "feedback_session.deploy", "f1")
    [first] = jobs.claim(conn, "worker-a", LEASE_MS, 4)
    jobs.enqueue(conn, "feedback_session.deploy", "f1")
    jobs.retry(conn, first.id, "worker-a", "RuntimeError: boom", 60_000, give_up=True)
    assert states(conn) == [("queued", 0)]  # due now, not in a minute, and not given up
    [again] = jobs.claim(conn, "worker-b", LEASE_MS, 4)
    jobs.retry(conn, again.id, "worker-b", "RuntimeError: boom", 60_000, give_up=True)
    assert states(conn) == [("failed", 1)]
