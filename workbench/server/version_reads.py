"""The store's version for the event loop, read once for every request that arrived before the read.

On SQLite ``store.version()`` is a PRAGMA in this process, cheaper than any coordination, and the
hot path calls it directly. On PostgreSQL it is a round trip: made on the event loop it would
stall every connection for the time another process needs to answer, and made per request it
is most of what a cached page costs. Here requests share reads instead, without giving up
exactness: a read answers only the requests that arrived before it was sent, so each one gets
a version read after it arrived, as a read of its own would. While a read is out, newcomers
wait for the next, which is sent when it returns. Reads go out on an asyncio connection
(``PgStore.version_reader``): in the threadpool, each waited up to the GIL's switch interval
behind the busy loop, and cached pages served 0.12x SQLite's instead of 0.61x. A request the
rate limits counted needs none of these: its count's round trip read the version too
(``RateLimiter.counted``), which took the cached page from ~0.6x to ~0.78x SQLite's.

Since the version is pushed to each serving process (storage/pg_versions.py), these reads are
the fallback: made only while the watch cannot vouch for what it holds (starting, reconnecting).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from storage.batches import Batches


class SharedVersionReads:
    """``await read()``: the store's version, read after the caller arrived."""

    def __init__(self, read: Callable[[], Awaitable[tuple[int, int]]]) -> None:
        async def one_read_for_all(waiting: list[None]) -> list[tuple[int, int]]:
            version = await read()
            return [version] * len(waiting)

        self._batches: Batches[None, tuple[int, int]] = Batches(one_read_for_all)

    async def read(self) -> tuple[int, int]:
        return await self._batches.submit(None)
