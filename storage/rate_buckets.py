"""Rate-limit counts every worker of a PostgreSQL database shares: one row per bucket key and window.

Two ways count in the rows. ``Counters.hit`` (the widget's submission limits, counted in the
threadpool) is one autocommit ``INSERT … ON CONFLICT DO UPDATE … RETURNING n`` per request: ``n``
counts every request, refused ones too. The event loop's API limits count from leases
(storage/rate_leases.py, the ``rate_lease`` function of storage/pg_schema.py): there ``n``
counts units granted, and ``held`` those leased out and not yet settled. The two never share a
key (a key starts with its bucket's name, and each bucket counts one way); were they to, the
limit would still hold, since ``n`` never falls below what was allowed, only refusals counted
by ``hit`` would refuse the lease's requests early.

Counting runs on connections of its own: never inside a use case's transaction, never behind
the writers' lock, so a throttled flood does not queue behind (or hold up) the writes it is
throttling. The table is UNLOGGED and these connections commit asynchronously: a count lost in
a database crash lets a client a few more requests in one window, which is cheaper than a WAL
flush per request.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import Any

import psycopg

from storage.pg_conn import hung_up, sql_text, unreachable

# A key's window starts at its first request and lasts ``window`` ms; a request after that starts
# the next one (and no lease of the ended window is held in it). SET reads the old row in every
# expression. The database's clock is the one clock every host shares.
HIT = sql_text(
    "WITH now AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms) "
    "INSERT INTO rate_buckets AS b (key, window_start, n) SELECT %(key)s, now.ms, 1 FROM now "
    "ON CONFLICT (key) DO UPDATE SET "
    "window_start = CASE WHEN b.window_start <= excluded.window_start - %(window)s THEN excluded.window_start ELSE b.window_start END, "
    "n = CASE WHEN b.window_start <= excluded.window_start - %(window)s THEN 1 ELSE b.n + 1 END, "
    "held = CASE WHEN b.window_start <= excluded.window_start - %(window)s THEN 0 ELSE b.held END "
    "RETURNING n, window_start + %(window)s - (SELECT ms FROM now)"
)
SWEEP = sql_text("DELETE FROM rate_buckets WHERE window_start < (extract(epoch FROM clock_timestamp()) * 1000)::bigint - %s")


class Counters:
    """Connections to one database for counting; at most ``size`` open, shared by threads."""

    def __init__(self, url: str, size: int = 4) -> None:
        self.url = url
        self._idle: queue.LifoQueue[psycopg.Connection[Any]] = queue.LifoQueue()
        self._slots = threading.Semaphore(size)

    def _connect(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self.url, autocommit=True)
        conn.execute(sql_text("SET synchronous_commit = off"))
        return conn

    @contextlib.contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        with self._slots:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = self._connect()
            else:
                if hung_up(conn):  # its server restarted while it waited here: a new one, before counting
                    conn.close()
                    conn = self._connect()
            try:
                yield conn
            except psycopg.OperationalError:
                conn.close()  # a broken connection is not put back; the next use opens a new one
                raise
            self._idle.put(conn)

    def hit(self, key: str, window_ms: int) -> tuple[int, int] | None:
        """Count one request against ``key``: its count in the current window, and ms left in that
        window; None when the connection was lost with the count out (it may or may not have been
        taken). A database that cannot be connected to at all raises, as any store call does."""
        # Not tried again on a lost connection: the count may have been taken, and a second would
        # refuse the client early. A connection its server closed while idle is replaced before
        # use (``_connection``), so a restart costs no failed request.
        sent = False
        try:
            with self._connection() as conn:
                sent = True
                row = conn.execute(HIT, {"key": key, "window": window_ms}).fetchone()
        except psycopg.OperationalError as exc:
            if sent and unreachable(exc):
                return None
            raise
        assert row is not None
        return int(row[0]), int(row[1])

    def sweep(self, older_than_ms: int) -> None:
        """Forget windows that started more than ``older_than_ms`` ago (they are over)."""
        with self._connection() as conn:
            conn.execute(SWEEP, [older_than_ms])

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
