"""The store's version on PostgreSQL pushed to each server process: LISTEN/NOTIFY, on the event loop.

Every write moves ``store_version``'s counter and, in the same transaction, notifies
``workbench_version`` with the new value (``PgStore.write``). A serving process listens on a
connection of its own (``VersionWatch.run``, a task of the server's event loop), so the page
cache and the token cache learn of a commit without asking. With the rate limits counted from
leases (storage/rate_leases.py), a cached page then costs no round trip at all: the counter's
read, shared with the count, was the round trip that held PostgreSQL's cached first page at
0.68x SQLite's, against 1.38x for a hot path that made none.

What that trades: another process's commit is seen when its notification arrives (PostgreSQL
signals listeners as the commit completes; the listener is a socket on the same loop as the
requests), not on the very next request whatever happens. This process's own commits are seen
at once: ``PgStore.write`` hands the value it committed to ``saw`` before it returns. A change
to who may do what (``auth_changes`` moved: a token revoked, a workspace changed) is not left to
that race: its writer waits until every watch answers that it heard it (``settle``), so a token
reported revoked is refused by every serving process from then on.

The watch answers only while it is sure: from the moment it listens and has read the counter,
and while it hears from the database (a notification, or a heartbeat read every ``HEARTBEAT``
seconds). Otherwise ``current`` is None and callers read the counter themselves, as before: a
lost connection never serves a stale page for longer than it takes to notice, and on
reconnecting the watch reads the counter again, so a notification sent while it was away is
not missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from typing import Any

import psycopg

CHANNEL = "workbench_version"
HEARD = "workbench_version_heard"  # each watch's answer to a notification that asks for one
WATCH_NAME = "workbench version watch"  # the watches' application_name, which a settling writer counts
# The counter moves, listeners are told its new value when the transaction commits, and the
# writer learns it too.
BUMP = f"WITH v AS (UPDATE store_version SET n = n + 1 RETURNING n) SELECT n, pg_notify('{CHANNEL}', n::text) FROM v"
HEARTBEAT = 1.0  # seconds between reads of the counter when no notification came
# Silence for this many heartbeats (the loop stalled, the connection silently gone) and the
# watch no longer answers.
TRUSTED_HEARTBEATS = 3
RECONNECT_AFTER = (0.05, 0.2, 1.0, 5.0)  # seconds before each further attempt; the last repeats
# Read with the writers' lock, in the same round trip: where auth_changes stood as the write began.
AUTH_BEFORE = "coalesce((SELECT n FROM auth_changes), 0)"
SETTLE_SECONDS = 2.0  # at most this long a settling writer waits for the watches' answers

log = logging.getLogger("workbench.server")
clock = time.monotonic


def bump_and_commit(auth_before: int) -> str:
    """What a write runs as it ends, in one round trip as every other writer waits for the lock.

    When the transaction moved ``auth_changes`` (a token or a workspace changed: who may do what)
    since it read ``auth_before``, the notification asks every watch to answer once it has heard
    it (``!``), the writer listens for the answers, and the statement's third column says how
    many watches there are to wait for (``settle`` waits; NULL: nothing to settle, nothing
    listened to): a revocation returns once every serving process will refuse the token, so a
    client told "revoked" finds it refused on any worker. Other writes wait for no one.
    """
    changed = f"{AUTH_BEFORE} <> {int(auth_before)}"
    return (
        "WITH v AS (UPDATE store_version SET n = n + 1 RETURNING n) "
        f"SELECT n, pg_notify('{CHANNEL}', n::text || CASE WHEN {changed} THEN '!' ELSE '' END), "
        f"CASE WHEN {changed} THEN (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        f"AND application_name = '{WATCH_NAME}') END FROM v; "
        f"DO $$ BEGIN IF {changed} THEN EXECUTE 'LISTEN {HEARD}'; END IF; END $$; COMMIT"
    )


def settle(conn: psycopg.Connection[Any], n: int, watches: int) -> int:
    """Wait (at most SETTLE_SECONDS) until ``watches`` distinct watches answered that they heard
    ``n`` or later, on ``conn``, which listens to their answers since its commit; stop listening.
    Returns how many answered: a watch that does not (a stalled process) stops vouching for its
    version within TRUSTED_HEARTBEATS of silence, and its process then reads the counter itself."""
    answered: set[int] = set()
    deadline = clock() + SETTLE_SECONDS
    try:
        while len(answered) < watches and (left := deadline - clock()) > 0:
            for note in conn.notifies(timeout=left, stop_after=1):
                if note.channel == HEARD and int(note.payload) >= n:
                    answered.add(note.pid)
        conn.execute(f"UNLISTEN {HEARD}")
    except psycopg.Error as exc:
        # The write has committed: its caller is told it succeeded, whatever happens to the wait.
        log.warning("could not wait for the serving processes to hear a change to API tokens or workspaces (%s); "
                    "they refuse it once they read the version again", type(exc).__name__)
        return len(answered)
    if len(answered) < watches:
        log.warning("a change to API tokens or workspaces was heard by %d of %d serving processes within %.0f s; "
                    "the others refuse it once they read the version again", len(answered), watches, SETTLE_SECONDS)
    return len(answered)


_WATCHES: dict[str, VersionWatch] = {}
_WATCHES_LOCK = threading.Lock()


def watch_for(url: str) -> VersionWatch:
    """The process's watch of the database at ``url`` (one, whatever the number of stores open on it)."""
    with _WATCHES_LOCK:
        watch = _WATCHES.get(url)
        if watch is None:
            watch = _WATCHES[url] = VersionWatch(url)
        return watch


def known(url: str) -> tuple[int, int] | None:
    """The version the watch of ``url`` holds, if one runs in this process and is sure of it."""
    watch = _WATCHES.get(url)
    return None if watch is None else watch.current()


def committed(url: str, n: int) -> None:
    """A write of this process committed ``n``: the watch (if any) knows it before the write returns."""
    watch = _WATCHES.get(url)
    if watch is not None:
        watch.saw(n)


class VersionWatch:
    """The latest ``store_version`` this process knows of, kept by ``run`` on an event loop."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._n: int | None = None  # None: not listening, nothing to vouch for
        self._trusted_until = 0.0
        # Writers' threads (``saw``) and the loop (notifications) both move the value: only forward.
        self._lock = threading.Lock()
        self.connects = 0  # how many times it (re)started listening, for tests and logs
        self._failures = 0  # connections lost in a row, for the back-off and to log a loss once

    def current(self) -> tuple[int, int] | None:
        """``PgStore.version()``'s value without a round trip, or None when the watch cannot vouch for it."""
        n = self._n
        if n is None or clock() > self._trusted_until:
            return None
        return 0, n

    def saw(self, n: int) -> None:
        with self._lock:
            if self._n is not None and n > self._n:
                self._n = n

    def _heard(self, n: int) -> None:
        with self._lock:
            self._n = n if self._n is None else max(self._n, n)
            self._trusted_until = clock() + TRUSTED_HEARTBEATS * HEARTBEAT

    def _lost(self) -> None:
        with self._lock:
            self._n = None

    async def run(self) -> None:
        """Listen until cancelled, reconnecting after a loss; ``current`` answers None meanwhile."""
        self._failures = 0
        try:
            while True:
                try:
                    await self._listen()
                except (psycopg.Error, OSError) as exc:
                    self._lost()
                    delay = RECONNECT_AFTER[min(self._failures, len(RECONNECT_AFTER) - 1)]
                    if self._failures == 0:  # once per loss, not per try: a restart's retries would fill the log
                        from storage.pg_conn import cause  # imported here: storage.pg imports this module

                        # The driver's reason, as the job claimer's line gives it: the type alone
                        # ("OperationalError") does not tell a restart from a refused login.
                        log.warning("store version watch lost its connection (%s); every request reads the version until it is back",
                                    cause(exc, self.url))
                    self._failures += 1
                    await asyncio.sleep(delay)
        finally:
            self._lost()

    async def _listen(self) -> None:
        conn: psycopg.AsyncConnection[Any] = await psycopg.AsyncConnection.connect(
            self.url, autocommit=True, application_name=WATCH_NAME
        )
        try:
            # LISTEN before reading the counter: a commit in between is then either in the read
            # or in a notification, never in neither.
            await conn.execute(f"LISTEN {CHANNEL}")
            self.connects += 1
            if self._failures:
                log.warning("store version watch is listening again")
                # Reset here, not when _listen returns (it never does): the next loss starts its back-off afresh.
                self._failures = 0
            beat = 0.0
            while True:
                if clock() >= beat:
                    row = await (await conn.execute("SELECT n FROM store_version")).fetchone()
                    assert row is not None
                    self._heard(int(row[0]))
                    beat = clock() + HEARTBEAT
                # One packet of notifications at a time, so an answer asked for goes out at once
                # (the connection is the generator's while it runs).
                answer = 0
                async for note in conn.notifies(timeout=max(0.0, beat - clock()), stop_after=1):
                    n, asked = int(note.payload.rstrip("!")), note.payload.endswith("!")
                    self._heard(n)
                    if asked:
                        answer = max(answer, n)
                if answer:
                    await conn.execute("SELECT pg_notify(%s, %s)", [HEARD, str(answer)])
        finally:
            with contextlib.suppress(psycopg.Error):
                await conn.close()
