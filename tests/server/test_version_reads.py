"""Shared version reads (workbench/server/version_reads.py): a request is answered only by a read sent after it arrived."""

from __future__ import annotations

import asyncio

import pytest

from storage.pg import PgStore
from tests.session_helpers import wait_until_async
from workbench.server.version_reads import SharedVersionReads


class Gated:
    """A real PostgreSQL version reader whose reads, once made, wait for the test to let them return."""

    def __init__(self, store: PgStore) -> None:
        self.reader = store.version_reader()
        self.gate = asyncio.Semaphore(0)
        self.reads = 0

    async def read(self) -> tuple[int, int]:
        value = await self.reader.read()
        self.reads += 1
        await self.gate.acquire()
        return value


@pytest.mark.postgresql_only("shared reads serve PostgreSQL's stores (SQLite's version is a PRAGMA in the process)")
async def test_a_request_arriving_during_a_read_waits_for_the_next_one(pg_store: PgStore):
    gated = Gated(pg_store)
    reads = SharedVersionReads(gated.read)
    first = asyncio.ensure_future(reads.read())
    await wait_until_async(lambda: gated.reads == 1, "the first read was made")
    with pg_store.write() as db:  # commits after the first read saw the store
        db.execute("INSERT INTO meta (key, value) VALUES ('moved', '1')")
    late = [asyncio.ensure_future(reads.read()) for _ in range(3)]
    gated.gate.release()
    before = await first
    await wait_until_async(lambda: gated.reads == 2, "one more read, for the three that came late")
    gated.gate.release()
    after = await asyncio.gather(*late)
    assert after == [after[0]] * 3 and after[0] != before, "a late request was answered with a read older than it"
    assert gated.reads == 2
    await gated.reader.close()


@pytest.mark.postgresql_only("shared reads serve PostgreSQL's stores (SQLite's version is a PRAGMA in the process)")
async def test_a_failed_read_fails_its_requests_and_the_next_read_is_made(pg_store: PgStore):
    reader = pg_store.version_reader()
    reads = SharedVersionReads(reader.read)
    good = await reads.read()
    reader.url = "postgresql://postgres@127.0.0.1:1/nowhere"  # the database is now unreachable
    await reader.close()
    with pytest.raises(Exception, match=r"connect|Connection|refused"):
        await asyncio.wait_for(reads.read(), 30)
    reader.url = pg_store.url
    assert await asyncio.wait_for(reads.read(), 30) == good, "a read after a failure must be made afresh"
    await reader.close()
