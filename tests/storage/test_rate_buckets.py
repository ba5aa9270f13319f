"""Rate-limit counts in PostgreSQL counted one request at a time (storage/rate_buckets.py ``Counters``, the widget's limits)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from storage import rate_buckets
from storage.pg import PgStore
from storage.pg_conn import sql_text
from storage.rate_buckets import Counters
from tests.found import found
from tests.pg_cluster import Cluster


@pytest.fixture
def url(pg_cluster: Cluster) -> Iterator[str]:
    url = pg_cluster.create()
    PgStore(url).close()
    yield url
    pg_cluster.drop(url)


def test_each_request_gets_its_place_in_the_window(url: str):
    counters = Counters(url)
    try:
        counts = [found(counters.hit("widget-ip:x", 60_000)) for _ in range(5)]
        assert [n for n, _ in counts] == [1, 2, 3, 4, 5]
        assert all(0 < left <= 60_000 for _, left in counts)
    finally:
        counters.close()


def test_a_window_that_ended_starts_again_with_nothing_held(url: str):
    """A row leases also count in (storage/rate_leases.py) forgets their ``held`` with its window."""
    counters = Counters(url)
    try:
        counters.hit("k", 60_000)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("UPDATE rate_buckets SET window_start = window_start - 60000, held = 7 WHERE key = 'k'")
            assert found(counters.hit("k", 60_000))[0] == 1
            assert conn.execute("SELECT n, held FROM rate_buckets WHERE key = 'k'").fetchone() == (1, 0)
    finally:
        counters.close()


def test_a_count_whose_connection_is_lost_with_it_out_is_unknown_and_the_next_reconnects(url: str, monkeypatch: pytest.MonkeyPatch):
    """It raised, and the widget's submission was answered 503 for the server's lost connection
    (what the request is answered now: workbench/server/ratelimit.py ``PgBuckets.hit``)."""
    counters = Counters(url)
    try:
        assert found(counters.hit("k", 60_000))[0] == 1
        # The server ends the session while the count is out, as a crash or a failover would.
        monkeypatch.setattr(rate_buckets, "HIT", sql_text("SELECT pg_terminate_backend(pg_backend_pid()), %(key)s::text, %(window)s::bigint"))
        assert counters.hit("k", 60_000) is None
        assert counters._idle.empty()  # the lost connection is not put back for the next count
        monkeypatch.undo()
        assert found(counters.hit("k", 60_000))[0] == 2  # on a new connection
    finally:
        counters.close()
