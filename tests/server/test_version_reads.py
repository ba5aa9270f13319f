"""Shared version reads (workbench/server/version_reads.py): a request is answered only by a read sent after it arrived."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from storage.pg import PgStore
from tests.pg_cluster import Cluster
from workbench.server.version_reads import SharedVersionReads


class GatedStore(PgStore):
    """A real PostgreSQL store whose version reads, once made, wait for the test to let them return."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.gate = threading.Semaphore(0)
        self.reads = 0

    def version(self) -> tuple[int, int]:
        value = super().version()
        self.reads += 1
        self.gate.acquire()
        return value


@pytest.fixture
def store(pg_cluster: Cluster) -> Iterator[GatedStore]:
    url = pg_cluster.create()
    s = GatedStore(url)
    yield s
    s.close()
    pg_cluster.drop(url)


async def _until(condition, what: str) -> None:
    for _ in range(5000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"never: {what}")


@pytest.mark.postgresql_only("shared reads serve PostgreSQL's stores (SQLite's version is a PRAGMA in the process)")
async def test_a_request_arriving_during_a_read_waits_for_the_next_one(store: GatedStore):
    reads = SharedVersionReads(store)
    first = asyncio.ensure_future(reads.read())
    await _until(lambda: store.reads == 1, "the first read was made")
    with store.write() as db:  # commits after the first read saw the store
        db.execute("INSERT INTO meta (key, value) VALUES ('moved', '1')")
    late = [asyncio.ensure_future(reads.read()) for _ in range(3)]
    store.gate.release()
    before = await first
    await _until(lambda: store.reads == 2, "one more read, for the three that came late")
    store.gate.release()
    after = await asyncio.gather(*late)
    assert after == [after[0]] * 3 and after[0] != before, "a late request was answered with a read older than it"
    assert store.reads == 2


@pytest.mark.postgresql_only("shared reads serve PostgreSQL's stores (SQLite's version is a PRAGMA in the process)")
async def test_a_failed_read_fails_its_requests_and_the_next_read_is_made(store: GatedStore):
    reads = SharedVersionReads(store)
    store.close()
    store.url = "postgresql://postgres@127.0.0.1:1/nowhere"  # the database is unreachable
    with pytest.raises(Exception, match=r"connect|Connection|refused"):
        await asyncio.wait_for(reads.read(), 30)
