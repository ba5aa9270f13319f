"""A worker's leases of rate-limit units: the event loop counts most requests with no round trip.

A round trip (``rate_lease``, storage/pg_schema.py) reserves a block of units for a key in
the database, granted only from what remains of the limit in the key's window; the loop then
hands them out one per request. So the limit holds over every worker and host: never more
than ``limit`` units are granted in a window.

Units a worker holds must not refuse another worker early. The row's ``held`` counts the units
leased out and not yet settled; a worker settles its lease (gives its unused units back) ``TTL``
after the last round trip that granted it any, by a timer on its loop. A request the database
refuses while other workers hold units waits ``TTL + MARGIN`` (every unit out when it was
refused has by then been used or given back) and asks once more before it is answered 429.
Leases shrink as the limit nears (``SHARE``), so few units are out when a window ends, and a
refill goes out in the background while a quarter of a lease is still left, before a busy
worker runs dry. A lease never outlives its window: the window's end, from the round trip's
``left_ms`` and measured on this loop's monotonic clock from when the round trip was sent (no
later than the database's end), drops what is left of it. Once a round trip finds nothing
remaining and no other worker holding units, no unit can come back before the window ends: the
key is refused on this loop with no round trip until then.

A request that made a round trip gets the store's version it read (after the request arrived);
one served from a lease gets None, and the list's hot path reads the version its own way.

One ``Leases`` per event loop and bucket, on one asyncio connection; a key's round trips go one
at a time. A round trip that fails fails the requests that waited for it, as a count did before
leases, and the next opens a new connection. So does one whose connection was lost with it out,
though it may have granted units: those requests are not let through, as the widget's lost
counts are (workbench/server/ratelimit.py ``PgBuckets.hit``), because here every request let
through is a unit the limit counts exactly, and as many may wait on one round trip as arrive in
it. Nor answered 429: nothing says the limit was reached. What the lost round trip granted stays
counted in its window and is never handed out (the limit errs low, never high, until the window
ends); what it settled is not known to this worker, whose next settlement of that window may
then count its part of ``held`` wrong, so another worker may wait for units that never come back
or find none held when some are. A settlement that fails (the database out of reach) goes out
again ``RETRY_LOST_S`` later, not at once, until one goes through.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg

from storage.pg_conn import hung_up, sql_text

TTL = 0.1  # seconds a lease's unused units stay with a worker after its last grant
MARGIN = 0.05  # the settling round trip's time, on top of TTL, that a refused request waits
MAX_LEASE = 64
SHARE = 16  # a lease is at most 1/SHARE of what remains of the limit
REFILL_AT = 4  # a refill goes out when a lease has a 1/REFILL_AT of its units left
RETRY_LOST_S = 1.0  # a settlement that failed (the database out of reach) goes out again this much later

LEASE = sql_text(
    "SELECT granted, started, left_ms, remaining, others, version "
    "FROM rate_lease(%(key)s, %(window)s, %(limit)s, %(started)s, %(mine)s, %(back)s, %(keep)s, %(want)s)"
)


@dataclass
class Answer:
    """What one round trip learned, and when it was sent (``seq``: this key's round trips so far)."""

    seq: int
    granted: int
    remaining: int
    others: int
    ends_at: float  # the window's end on the monotonic clock
    admits_at: float  # the latest the window can end: a request sent after it meets the next one
    version: int


@dataclass
class _Lease:
    """One key's units on this loop."""

    started: int = -1  # the database's window (its start, ms) the units belong to; -1 before any
    ends_at: float = 0.0
    admits_at: float = 0.0  # the latest the database's window can end (``Answer.admits_at``)
    left: int = 0  # units not yet handed out
    mine: int = 0  # this worker's part of the row's ``held``
    size: int = 1  # the next refill's size
    full: bool = False  # nothing remains in the window and no other worker holds a unit to give back
    expires: float = 0.0  # when the unused units go back
    timer: asyncio.TimerHandle | None = None
    busy: asyncio.Future[Answer] | None = None  # the round trip out, if any
    sent: int = 0
    users: int = 0  # requests counting on this lease now
    short: int = 0  # of them, those that found no unit: a round trip asks for at least as many
    tasks: set[asyncio.Future[Any]] = field(default_factory=set[asyncio.Future[Any]])


class Leases:
    """``await hit(key, window_ms, limit)``: (None, version) when allowed, else (seconds until the
    window rolls over, version); the version is the store's, read by a round trip sent after the
    request arrived, or None when the request made none. ``round_trips`` counts them."""

    def __init__(self, url: str, *, ttl: float | None = None, margin: float | None = None) -> None:
        self.url = url
        # Read when built, not when defined, so a test can lengthen them for a whole app.
        self.ttl = TTL if ttl is None else ttl
        self.margin = MARGIN if margin is None else margin
        self.round_trips = 0
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._connecting = asyncio.Lock()
        self._closed = False
        self._leases: dict[tuple[str, int, int], _Lease] = {}
        # Keys whose window is spent (nothing remains, no other worker holds a unit): (its earliest
        # end, its latest). Apart from the leases, which are forgotten once settled: a spent key is
        # refused with no round trip until its window ends, however long after its last grant.
        self._spent: dict[tuple[str, int, int], tuple[float, float]] = {}

    async def hit(self, key: str, window_ms: int, limit: int) -> tuple[float | None, int | None]:
        bucket = (key, window_ms, limit)
        lease = self._leases.get(bucket)
        if lease is None:
            lease = self._leases[bucket] = _Lease(size=_size(limit))
        seen = lease.sent  # a round trip numbered above this was sent after the request arrived
        answer: Answer | None = None
        version: int | None = None
        waited = short = False
        lease.users += 1
        try:
            while True:
                now = time.monotonic()
                if now >= lease.ends_at:
                    lease.left, lease.full = 0, False  # the window is over: its units are void
                if lease.left:
                    lease.left -= 1
                    if lease.busy is None and lease.left <= lease.size // REFILL_AT:
                        self._send(bucket, lease, want=lease.size, give_back=False)  # not awaited
                    return None, version
                if (wait := self._spent_for(bucket, now)) is not None:
                    # No unit can come back before the window ends: refused with no round trip.
                    return wait, version
                if not short:
                    short = True
                    lease.short += 1
                if lease.busy is not None:
                    got = await asyncio.shield(lease.busy)
                    if got.seq > seen:
                        answer, version = got, got.version
                    continue
                if answer is not None and answer.remaining == 0:
                    # Refused by a round trip sent after this request arrived. Units other workers
                    # hold are used or given back within TTL of their grant: wait that long, once.
                    if answer.others > 0 and not waited:
                        waited = True
                        await asyncio.sleep(self.ttl + self.margin)
                        seen, answer = lease.sent, None
                        continue
                    return max(0.0, answer.admits_at - now), version
                self._send(bucket, lease, want=max(lease.size, lease.short), give_back=False)
        finally:
            lease.users -= 1
            lease.short -= short
            self._forget_if_idle(bucket, lease)

    def left(self, key: str, window_ms: int, limit: int) -> float | None:
        """Without counting or a round trip: seconds until ``key`` is admitted again, when this loop
        knows its window is spent; else None."""
        return self._spent_for((key, window_ms, limit), time.monotonic())

    def _spent_for(self, bucket: tuple[str, int, int], now: float) -> float | None:
        """Seconds until ``bucket``'s spent window admits again (measured to its latest end), or None."""
        spent = self._spent.get(bucket)
        if spent is None:
            return None
        if now >= spent[0]:
            del self._spent[bucket]
            return None
        return max(0.0, spent[1] - now)

    async def close(self) -> None:
        """Give back every unit still held (another worker may use them), then close the connection."""
        self._closed = True
        for bucket, lease in list(self._leases.items()):
            if lease.timer is not None:
                lease.timer.cancel()
                lease.timer = None
            with contextlib.suppress(psycopg.Error, OSError):
                if lease.busy is not None:
                    await asyncio.shield(lease.busy)
                if lease.left or lease.mine:
                    await asyncio.shield(self._send(bucket, lease, want=0, give_back=True))
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    def _send(self, bucket: tuple[str, int, int], lease: _Lease, *, want: int, give_back: bool) -> asyncio.Future[Answer]:
        """Start this key's next round trip: ask for ``want`` units, and give back the unused ones
        (settlement) or keep handing them out (refill)."""
        back = lease.left if give_back else 0
        if give_back:
            lease.left = 0  # decided now: no unit given back is handed out
            # What it gives back, the database has again: the last answer's "nothing can come back
            # this window" no longer holds (it refused a request arriving while this was out).
            lease.full = lease.full and back == 0
            if back:
                self._spent.pop(bucket, None)
        lease.sent += 1
        task = asyncio.ensure_future(self._round_trip(bucket, lease, lease.sent, want, back))
        lease.busy = task
        lease.tasks.add(task)
        task.add_done_callback(lambda done: self._sent(bucket, lease, done))
        return task

    async def _round_trip(self, bucket: tuple[str, int, int], lease: _Lease, seq: int, want: int, back: int) -> Answer:
        try:
            return await self._ask(bucket, lease, seq, want, back)
        finally:
            # Over as the task ends, not when its done callbacks run: a request arriving in between
            # would otherwise await the finished round trip again and again, never yielding the loop.
            if lease.busy is asyncio.current_task():
                lease.busy = None

    async def _ask(self, bucket: tuple[str, int, int], lease: _Lease, seq: int, want: int, back: int) -> Answer:
        key, window_ms, limit = bucket
        keep = lease.left
        sent_at = time.monotonic()
        conn = await self._connection()
        params = {
            "key": key, "window": window_ms, "limit": limit, "started": lease.started,
            "mine": lease.mine, "back": back, "keep": keep, "want": want,
        }
        try:
            self.round_trips += 1
            cur = await conn.execute(LEASE, params)
            row = await cur.fetchone()
            assert row is not None
        except BaseException:
            # A broken connection is not used again: the next round trip opens a new one.
            if self._conn is conn:
                self._conn = None
            with contextlib.suppress(psycopg.Error):
                await conn.close()
            raise
        granted, started, left_ms, remaining, others, version = (int(v) for v in row)
        if started == lease.started:
            lease.left += granted  # what was handed out while the round trip was out is already taken
            lease.mine = keep + granted
        else:
            lease.left, lease.mine = granted, granted  # a new window: nothing of the last one carries over
        now = time.monotonic()
        # The database's clock read ``left_ms`` between sending and now: its window ends in
        # [sent_at, now] + left_ms. Units are void from the earliest end (none is handed out past
        # the window); a refused client is told to wait until the latest, so a request sent when
        # its Retry-After has passed is admitted rather than refused again.
        lease.started, lease.ends_at, lease.admits_at = started, sent_at + left_ms / 1000, now + left_ms / 1000
        lease.size = _size(remaining)
        lease.full = remaining == 0 and others == 0 and started != -1
        if lease.full:
            self._spent[bucket] = (lease.ends_at, lease.admits_at)
            if len(self._spent) > 4096:  # keys that stopped asking: their ended windows go
                for ended in [b for b, (end, _) in self._spent.items() if now >= end]:
                    del self._spent[ended]
        else:
            self._spent.pop(bucket, None)
        if granted:
            lease.expires = now + self.ttl
            if lease.timer is not None:
                lease.timer.cancel()
                lease.timer = None
        return Answer(seq, granted, remaining, others, lease.ends_at, lease.admits_at, version)

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        async with self._connecting:  # the keys' round trips share one connection, opened once
            # A connection its server hung up on (a restart) is replaced before the lease is asked
            # for: asking is a write, never sent twice on the chance the first took effect.
            if self._conn is None or hung_up(self._conn):
                if self._conn is not None:
                    with contextlib.suppress(psycopg.Error):
                        await self._conn.close()
                conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
                await conn.execute(sql_text("SET synchronous_commit = off"))
                self._conn = conn
            return self._conn

    def _sent(self, bucket: tuple[str, int, int], lease: _Lease, done: asyncio.Future[Answer]) -> None:
        lease.tasks.discard(done)
        if lease.busy is done:
            lease.busy = None
        if not done.cancelled() and done.exception() is not None:
            # A refill nobody awaited fails quietly; the next request's own round trip reports it.
            # What the lease holds goes back a while later, not at once: its expiry has passed, and
            # with the database out of reach every settlement tried at once fails at once, a
            # connection attempt per turn of the loop for as long as the outage lasts.
            lease.expires = max(lease.expires, time.monotonic() + RETRY_LOST_S)
        self._arm(bucket, lease)

    def _arm(self, bucket: tuple[str, int, int], lease: _Lease) -> None:
        """The timer that settles the lease TTL after its last grant (none while a round trip is out:
        its end arms it again)."""
        if lease.timer is not None or lease.busy is not None or self._closed:
            return
        if lease.left or lease.mine:
            lease.timer = asyncio.get_running_loop().call_later(max(0.0, lease.expires - time.monotonic()), self._expired, bucket, lease)
        else:
            self._forget_if_idle(bucket, lease)

    def _expired(self, bucket: tuple[str, int, int], lease: _Lease) -> None:
        lease.timer = None
        if lease.busy is not None:
            return
        if time.monotonic() >= lease.ends_at:
            lease.left = 0  # the window ended: the database voids the lease itself
        if lease.left or lease.mine:
            self._send(bucket, lease, want=0, give_back=True)

    def _forget_if_idle(self, bucket: tuple[str, int, int], lease: _Lease) -> None:
        if not (lease.users or lease.left or lease.mine or lease.busy or lease.timer) and self._leases.get(bucket) is lease:
            del self._leases[bucket]


def _size(remaining: int) -> int:
    return max(1, min(MAX_LEASE, remaining // SHARE))
