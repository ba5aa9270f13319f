"""PostgreSQL's rate limits counted from leases (storage/rate_leases.py): few round trips, the limit exact.

Each ``PgBuckets`` (or ``Leases``) here stands for one worker: its own leases and connection to
one database, as a worker process of `workbench serve --workers N` has.
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest

from storage.pg import PgStore
from storage.pg_conn import hung_up
from storage.rate_buckets import Counters
from storage.rate_leases import MAX_LEASE, TTL, Leases
from tests.session_helpers import wait_until, wait_until_async
from workbench.server.ratelimit import PgBuckets

WHY = "SQLite's counts live in the process (Buckets); leases are how workers share PostgreSQL's"
pytestmark = pytest.mark.postgresql_only(WHY)


@pytest.fixture
def url(engine: str) -> Iterator[str]:
    yield os.environ["WORKBENCH_DATABASE_URL"]  # the test's own database (tests/conftest.py on_engine)


def _worker(url: str, limit: int, window: int = 60) -> PgBuckets:
    return PgBuckets(Counters(url), "token", limit, window)


def _row(url: str, key: str) -> tuple[int, int, int] | None:
    """(window_start, n, held) of a key's bucket."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT window_start, n, held FROM rate_buckets WHERE key = %s", [key]).fetchone()
        return None if row is None else (int(row[0]), int(row[1]), int(row[2]))


def _window_over(url: str, key: str, window_ms: int) -> None:
    """Until the database's clock is past the key's window (the monotonic clock of a lease ends it no later)."""

    def over() -> bool:
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT window_start + %s <= (extract(epoch FROM clock_timestamp()) * 1000)::bigint FROM rate_buckets WHERE key = %s",
                [window_ms, key],
            ).fetchone()
            return bool(row and row[0])

    wait_until(over, bool, what="the window's end")


async def test_most_requests_make_no_round_trip(url: str):
    worker = _worker(url, 100_000)
    answers = []
    for _ in range(10):  # bursts, as a busy loop's requests come
        answers += await asyncio.gather(*(worker.hit_async("a") for _ in range(50)))
    for _ in range(100):  # and one at a time
        answers.append(await worker.hit_async("a"))
    trips = worker.leases().round_trips
    assert all(wait is None for wait, _ in answers)
    assert 1 <= trips <= len(answers) // 10, trips
    # A request served from a lease read no version; those that made a round trip did.
    assert 1 <= sum(version is not None for _, version in answers) <= trips
    row = _row(url, "token:100000/60:a")
    # Granted: what was used and a lease's worth at most; held: at least what is not used yet.
    assert row is not None and len(answers) <= row[1] <= len(answers) + MAX_LEASE
    assert row[1] - len(answers) <= row[2] <= 2 * MAX_LEASE


async def test_a_round_trip_reads_the_store_version_after_the_request_arrived(url: str):
    """The list's hot path takes the version from its count's round trip: a commit made before a
    request is counted is in the version that request gets; a request served from a lease has none."""
    store, leases = PgStore(url), Leases(url, ttl=60)
    try:
        wait, before = await leases.hit("v1", 60_000, 1000)
        assert wait is None and before == store.version()[1]
        with store.write() as db:
            db.execute("DELETE FROM rate_buckets WHERE key = 'nothing'")
        assert await leases.hit("v1", 60_000, 1000) == (None, None)
        wait, after = await leases.hit("v2", 60_000, 1000)
        assert wait is None and after == store.version()[1] and before is not None and after is not None and before < after
    finally:
        await leases.close()
        store.close()


async def test_units_one_worker_leaves_unused_are_not_refused_to_another(url: str):
    limit = 320
    a, b = _worker(url, limit), _worker(url, limit)
    started = time.monotonic()
    assert (await a.hit_async("k"))[0] is None  # A leases 20 units (a 16th of the limit) and uses one
    key = f"token:{limit}/60:k"
    assert _row(url, key)[1:] == (20, 20)  # pyright: ignore[reportOptionalSubscript]
    # B meets the limit while A still holds 19: it waits for A to give them back.
    waits = [(await b.hit_async("k"))[0] for _ in range(limit - 1)]
    assert waits == [None] * (limit - 1), waits.index(next(w for w in waits if w is not None))
    assert time.monotonic() - started >= TTL  # A's units came back no sooner than its lease's TTL
    wait, _ = await b.hit_async("k")
    assert wait is not None and 55 < wait <= 60  # the limit+1-th: refused until the window ends
    wait, _ = await a.hit_async("k")
    assert wait is not None and 55 < wait <= 60
    assert _row(url, key)[1:] == (limit, 0)  # pyright: ignore[reportOptionalSubscript]
    await a.aclose()
    await b.aclose()


async def test_a_request_arriving_while_unused_units_go_back_gets_one(url: str):
    """The last unit of the limit, leased and not used, goes back after TTL. A request arriving while
    that settlement was out was refused (429) with no round trip: the lease read "full" from when
    the unit was granted, though the unit was on its way back. (Met under load: ip_limit=2, two
    requests more than TTL apart.)"""
    leases = Leases(url, ttl=0.01)
    real = leases._ask
    settling, go = asyncio.Event(), asyncio.Event()

    async def ask(bucket: tuple[str, int, int], lease: Any, seq: int, want: int, back: int) -> Any:
        if back:
            settling.set()
            await go.wait()  # the settlement held out while the next request arrives
        return await real(bucket, lease, seq, want, back)

    leases._ask = ask
    try:
        assert (await leases.hit("last", 60_000, 2))[0] is None  # one used, the refill leases the second
        await asyncio.wait_for(settling.wait(), 10)
        second = asyncio.ensure_future(leases.hit("last", 60_000, 2))
        await asyncio.sleep(0)  # it runs up to its first wait
        go.set()
        assert (await second)[0] is None
        assert (await leases.hit("last", 60_000, 2))[0] is not None  # the third is over the limit
    finally:
        go.set()
        await leases.close()


def test_never_more_than_the_limit_from_two_workers_at_once(url: str):
    limit, per_worker = 250, 300
    start = threading.Barrier(2)

    def worker() -> list[float | None]:
        async def run() -> list[float | None]:
            buckets = _worker(url, limit)
            start.wait()
            waits: list[float | None] = []
            for _ in range(per_worker // 30):
                waits += [w for w, _ in await asyncio.gather(*(buckets.hit_async("k") for _ in range(30)))]
            await buckets.aclose()
            return waits

        return asyncio.run(run())

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: worker(), range(2)))
    allowed = [sum(w is None for w in waits) for waits in results]
    assert sum(allowed) == limit and all(allowed), allowed
    assert all(0 < w <= 60 for waits in results for w in waits if w is not None)


async def test_a_lease_is_not_used_past_its_window(url: str):
    leases = Leases(url, ttl=60)  # nothing settles here: the window's end alone must void the lease
    assert (await leases.hit("k", 300, 1000))[0] is None  # 62 units leased, one used
    first = _row(url, "k")
    assert first is not None and first[1:] == (62, 62)
    _window_over(url, "k", 300)
    trips = leases.round_trips
    assert (await leases.hit("k", 300, 1000))[0] is None
    assert leases.round_trips == trips + 1  # the 61 left were not handed out: a new lease
    second = _row(url, "k")
    assert second is not None and second[0] > first[0] and second[1] == second[2] == 58  # in the new window, nothing of the last
    await leases.close()


class _SlowToReach(Leases):
    """A worker whose round trips reach the database ``delay`` seconds after they are sent (a busy
    network, a pool waiting for its connection)."""

    delay = 1.0

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        conn = await super()._connection()
        await asyncio.sleep(self.delay)
        return conn


async def test_the_wait_a_refused_request_is_told_lasts_until_the_database_admits_again(url: str):
    """A refusal's wait (its Retry-After) was measured from when the round trip was sent, the
    earliest the window can end: a round trip that took a second to reach the database told the
    client to come back a second before the database would take it, and that request was refused
    again. It is measured from the answer's arrival, the latest: the database's window is over by then."""
    leases = _SlowToReach(url)
    try:
        assert (await leases.hit("slow", 60_000, 1))[0] is None
        for _ in range(2):  # refused by a round trip, then by the lease with none
            wait, _ = await leases.hit("slow", 60_000, 1)
            assert wait is not None
            with psycopg.connect(url, autocommit=True) as conn:
                row = conn.execute(
                    "SELECT window_start + 60000 - (extract(epoch FROM clock_timestamp()) * 1000)::bigint FROM rate_buckets WHERE key = 'slow'"
                ).fetchone()
            assert row is not None
            assert wait * 1000 >= int(row[0]), (wait, row[0])
    finally:
        await leases.close()


async def test_a_spent_window_is_refused_with_no_round_trip_after_its_lease_is_settled(url: str):
    """README: once nothing remains and no other worker holds units, a worker refuses the key with
    no round trip until the window ends. It held only as long as the lease's own flag, which the
    lease's settlement and a new lease lost: refused requests of a flood went to the database
    again. ``left`` tells the same wait without counting (the other bucket's refusal reads it)."""
    leases = Leases(url)
    try:
        assert [(await leases.hit("spent", 60_000, 2))[0] for _ in range(2)] == [None, None]
        assert (await leases.hit("spent", 60_000, 2))[0] is not None
        held = leases._leases
        await wait_until_async(lambda: all(lease.busy is None and lease.timer is None for lease in held.values()), "the lease settled")
        await asyncio.sleep(0)
        trips = leases.round_trips
        waits = [(await leases.hit("spent", 60_000, 2))[0] for _ in range(5)]
        assert leases.round_trips == trips, "a spent window was asked of the database again"
        assert all(w is not None and 55 < w <= 60 for w in waits), waits
        left = leases.left("spent", 60_000, 2)
        assert left is not None and 55 < left <= 60 and leases.left("other", 60_000, 2) is None
    finally:
        await leases.close()


async def test_a_settlement_does_not_touch_the_next_window(url: str):
    a, b = Leases(url, ttl=60), Leases(url, ttl=60)
    assert (await a.hit("next", 300, 1000))[0] is None
    assert (await a.hit("none", 300, 1000))[0] is None
    _window_over(url, "next", 300)
    _window_over(url, "none", 300)
    assert (await b.hit("next", 300, 1000))[0] is None  # B starts the next window
    after_b, ended = _row(url, "next"), _row(url, "none")
    await a.close()  # A gives back what it holds of the windows that ended
    assert _row(url, "next") == after_b  # B's window keeps its count and what B holds
    assert _row(url, "none") == ended  # and a settlement starts no window
    await b.close()


async def _cut(url: str, leases: Leases) -> psycopg.AsyncConnection[Any]:
    """Terminate the lease worker's own connection from another session, as a restart does."""
    conn = leases._conn
    assert conn is not None
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [conn.info.backend_pid])
    return conn


async def test_a_connection_known_lost_is_replaced_before_the_round_trip_that_needs_it(url: str):
    leases = Leases(url, ttl=60)
    assert (await leases.hit("a", 60_000, 1000))[0] is None
    conn = await _cut(url, leases)
    assert await leases.hit("a", 60_000, 1000) == (None, None)  # from the lease: no round trip, nothing fails
    # Once the server's goodbye has arrived, the connection is replaced before a lease is asked
    # for (storage.pg_conn.hung_up): a restart costs no failed request.
    await wait_until_async(lambda: hung_up(conn), "the server's goodbye on the cut connection")
    assert (await leases.hit("b", 60_000, 1000))[0] is None
    assert leases._conn is not conn
    await leases.close()


async def test_a_loss_not_yet_seen_fails_the_request_that_needed_it_and_the_next_reconnects(url: str, monkeypatch: pytest.MonkeyPatch):
    import storage.rate_leases

    leases = Leases(url, ttl=60)
    assert (await leases.hit("a", 60_000, 1000))[0] is None
    conn = await _cut(url, leases)
    # As if the goodbye were still on its way: asking for a lease is a write, never sent twice.
    monkeypatch.setattr(storage.rate_leases, "hung_up", lambda c: c.closed)
    with pytest.raises(psycopg.OperationalError):
        await leases.hit("b", 60_000, 1000)  # a round trip: fails, as a count did before leases
    assert (await leases.hit("b", 60_000, 1000))[0] is None
    assert leases._conn is not conn
    await leases.close()


def test_requests_arriving_as_a_round_trip_ends_do_not_stall_the_loop(url: str, monkeypatch: pytest.MonkeyPatch):
    """A request arriving between a round trip's end and its done callbacks once awaited the
    finished round trip over and over without yielding: the worker's loop hung. One-unit leases
    make a round trip end with requests waiting, arrivals spread over time land in that moment."""
    import storage.rate_leases

    monkeypatch.setattr(storage.rate_leases, "MAX_LEASE", 1)
    rng = random.Random(7)
    delays = [rng.random() * 0.5 for _ in range(600)]

    async def run() -> list[float | None]:
        leases = Leases(url)

        async def one(delay: float) -> float | None:
            await asyncio.sleep(delay)
            return (await leases.hit("k", 60_000, 1_000_000))[0]

        waits = await asyncio.gather(*(one(d) for d in delays))
        await leases.close()
        return waits

    done: list[list[float | None]] = []
    loop = threading.Thread(target=lambda: done.append(asyncio.run(run())), daemon=True)
    loop.start()
    loop.join(60)
    assert done and done[0] == [None] * len(delays), "the loop stalled"


async def test_a_settlement_the_database_refuses_is_tried_again_a_second_later_and_goes_through_once_it_is_back(
        url: str, monkeypatch: pytest.MonkeyPatch):
    """A lease due to go back as the database went away: each failed settlement armed the next at
    once (the lease's expiry long past), so the loop tried to connect again and again without a
    pause, a connection attempt per turn of the loop while the outage lasted."""
    import storage.rate_leases

    leases = Leases(url)
    assert (await leases.hit("out", 60_000, 1000))[0] is None
    key = "out", 60_000, 1000
    assert leases._leases[key].mine > 0
    tries: list[float] = []
    connect = Leases._connection

    async def counted(self: Leases) -> psycopg.AsyncConnection[Any]:
        tries.append(time.monotonic())
        return await connect(self)

    monkeypatch.setattr(Leases, "_connection", counted)
    monkeypatch.setattr(storage.rate_leases, "hung_up", lambda c: True)  # the goodbye seen: a new connection each time
    leases.url = "postgresql://postgres@127.0.0.1:1/gone"  # and refused, as by a server that is down
    await wait_until_async(lambda: len(tries) >= 2, "the settlement tried twice", timeout=10)
    assert tries[1] - tries[0] >= storage.rate_leases.RETRY_LOST_S * 0.9, tries[:5]
    leases.url = url
    await wait_until_async(lambda: key not in leases._leases, "the lease settled once the database answered", timeout=10)
    row = _row(url, "out")
    assert row is not None and row[2] == 0, row  # nothing held for this worker any more
    await leases.close()
