"""Rate-limit counts in PostgreSQL (storage/rate_buckets.py): batched on the event loop, each request still gets its own place."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from storage.pg import PgStore
from storage.rate_buckets import BatchedCounters, Counters
from tests.pg_cluster import Cluster


@pytest.fixture
def url(pg_cluster: Cluster) -> Iterator[str]:
    url = pg_cluster.create()
    PgStore(url).close()
    yield url
    pg_cluster.drop(url)


async def test_requests_counted_together_each_get_their_own_count(url: str):
    batched, plain = BatchedCounters(url), Counters(url)
    try:
        first = await asyncio.gather(*(batched.hit("token:a", 60_000) for _ in range(40)))
        assert sorted(n for n, _, _ in first) == list(range(1, 41))
        assert all(0 < left <= 60_000 for _, left, _ in first)
        # Another worker (or host) counting the same key in between shares the window.
        assert plain.hit("token:a", 60_000)[0] == 41
        second = await asyncio.gather(*(batched.hit(key, 60_000) for key in ["token:a", "token:b"] * 5))
        assert sorted(n for n, _, _ in second[0::2]) == list(range(42, 47))
        assert sorted(n for n, _, _ in second[1::2]) == list(range(1, 6))
    finally:
        plain.close()


async def test_a_window_that_ended_starts_again_for_the_whole_batch(url: str):
    batched = BatchedCounters(url)
    await asyncio.gather(*(batched.hit("ip:x", 1) for _ in range(5)))
    # A 1 ms window is over by the next round trip: the next batch counts from 1 again.
    for _ in range(100):
        again = await asyncio.gather(*(batched.hit("ip:x", 1) for _ in range(3)))
        if sorted(n for n, _, _ in again) == [1, 2, 3]:
            return
    raise AssertionError("the window never started again")


async def test_a_count_reads_the_store_version_after_the_request_arrived(url: str):
    """The list's hot path takes the version from its count's round trip: a commit made before a
    request is counted is in the version that request gets."""
    store, batched = PgStore(url), BatchedCounters(url)
    try:
        _, _, before = await batched.hit("token:v", 60_000)
        assert before == store.version()[1]
        with store.write() as db:
            db.execute("DELETE FROM rate_buckets WHERE key = 'nothing'")
        counts = await asyncio.gather(*(batched.hit("token:v", 60_000) for _ in range(5)))
        assert {version for _, _, version in counts} == {store.version()[1]} and before < store.version()[1]
    finally:
        await batched.close()
        store.close()
