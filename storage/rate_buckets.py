"""Rate-limit counts every worker of a PostgreSQL database shares: one row per bucket key and window.

A check is one autocommit ``INSERT … ON CONFLICT DO UPDATE … RETURNING n`` on a small pool of
connections of its own: never inside a use case's transaction, never behind the writers'
lock, so a throttled flood does not queue behind (or hold up) the writes it is throttling.
The table is UNLOGGED and these connections commit asynchronously: a count lost in a
database crash lets a client a few more requests in one window, which is cheaper than a
WAL flush per request.
"""

from __future__ import annotations

import collections
import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import Any

import psycopg

from storage.batches import Batches
from storage.pg import sql_text

# A key's window starts at its first request and lasts ``window`` ms; a request after that starts
# the next one. SET reads the old row in both expressions. The database's clock is the one clock
# every host shares.
HIT = sql_text(
    "WITH now AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms) "
    "INSERT INTO rate_buckets AS b (key, window_start, n) SELECT %(key)s, now.ms, 1 FROM now "
    "ON CONFLICT (key) DO UPDATE SET "
    "window_start = CASE WHEN b.window_start <= excluded.window_start - %(window)s THEN excluded.window_start ELSE b.window_start END, "
    "n = CASE WHEN b.window_start <= excluded.window_start - %(window)s THEN 1 ELSE b.n + 1 END "
    "RETURNING n, window_start + %(window)s - (SELECT ms FROM now)"
)
# HIT for ``n`` requests at once (the event loop's batches, ``BatchedCounters``): the same window
# rule. It also reads the store's version (storage/pg.py), read after every request of the batch
# arrived: the list's hot path takes it instead of a round trip of its own.
HIT_MANY = sql_text(
    "WITH now AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms) "
    "INSERT INTO rate_buckets AS b (key, window_start, n) SELECT %(key)s, now.ms, %(n)s FROM now "
    "ON CONFLICT (key) DO UPDATE SET "
    "window_start = CASE WHEN b.window_start <= excluded.window_start - %(window)s THEN excluded.window_start ELSE b.window_start END, "
    "n = CASE WHEN b.window_start <= excluded.window_start - %(window)s THEN %(n)s ELSE b.n + %(n)s END "
    "RETURNING n, window_start + %(window)s - (SELECT ms FROM now), (SELECT n FROM store_version)"
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
            try:
                yield conn
            except psycopg.OperationalError:
                conn.close()  # a broken connection is not put back; the next use opens a new one
                raise
            self._idle.put(conn)

    def hit(self, key: str, window_ms: int) -> tuple[int, int]:
        """Count one request against ``key``: its count in the current window, and ms left in that window."""
        for attempt in (1, 2):
            try:
                with self._connection() as conn:
                    row = conn.execute(HIT, {"key": key, "window": window_ms}).fetchone()
                    assert row is not None
                    return int(row[0]), int(row[1])
            except psycopg.OperationalError:
                # A connection the server closed (restart, idle timeout): one retry on a fresh one.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

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


class BatchedCounters:
    """``await hit(key, window_ms)`` on the event loop: the requests that arrive while a count is out
    are counted together by the next one (one upsert per key, adding how many came), and each gets
    its own place in the window, as if counted alone. Counting on the loop over an asyncio
    connection: a thread per request waited for the GIL behind the busy loop (cached list pages
    served 1,600 requests/s against 3,500 before counts were shared). One per event loop."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._batches: Batches[tuple[str, int], tuple[int, int, int]] = Batches(self._count)

    async def hit(self, key: str, window_ms: int) -> tuple[int, int, int]:
        """This request's count in ``key``'s current window, the ms left in that window, and the
        store's version read after the request arrived (``PgStore.version``'s second part)."""
        return await self._batches.submit((key, window_ms))

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _count(self, buckets: list[tuple[str, int]]) -> list[tuple[int, int, int]]:
        """One upsert per bucket of the batch, adding how many of its requests came; each request
        gets the next place in arrival order."""
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
            await self._conn.execute(sql_text("SET synchronous_commit = off"))
        came = collections.Counter(buckets)
        last: dict[tuple[str, int], tuple[int, int, int]] = {}
        try:
            for (key, window_ms), n in came.items():
                cur = await self._conn.execute(HIT_MANY, {"key": key, "window": window_ms, "n": n})
                row = await cur.fetchone()
                assert row is not None
                last[key, window_ms] = int(row[0]), int(row[1]), int(row[2])
        except BaseException:
            # A broken connection is not used again: the next count opens a new one.
            conn, self._conn = self._conn, None
            with contextlib.suppress(psycopg.Error):
                await conn.close()
            raise
        places = {bucket: total - came[bucket] for bucket, (total, _left, _version) in last.items()}
        out: list[tuple[int, int, int]] = []
        for bucket in buckets:
            places[bucket] += 1
            out.append((places[bucket], last[bucket][1], last[bucket][2]))
        return out
