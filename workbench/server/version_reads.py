"""The store's version for the event loop, read once for every request that arrived before the read.

On SQLite ``store.version()`` is a PRAGMA in this process, cheaper than any coordination, and the
hot path calls it directly. On PostgreSQL it is a round trip: made on the event loop it would
stall every connection for the time another process needs to answer, and made per request it
is most of what a cached page costs. Here requests share reads instead, without giving up
exactness: a read answers only the requests that arrived before it was sent, so each one gets
a version read after it arrived, as a read of its own would. While a read is out, newcomers
wait for the next, which is sent when it returns. Reads go out on an asyncio connection
(``PgStore.version_reader``): in the threadpool, each waited up to the GIL's switch interval
behind the busy loop, and cached pages served 0.12x SQLite's instead of 0.61x.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class SharedVersionReads:
    """``await read()``: the store's version, read after the caller arrived."""

    def __init__(self, read: Callable[[], Awaitable[tuple[int, int]]]) -> None:
        self._read = read
        self._waiting: asyncio.Future[tuple[int, int]] | None = None
        self._out = False
        self._task: asyncio.Future[tuple[int, int]] | None = None

    async def read(self) -> tuple[int, int]:
        answer = self._waiting
        if answer is None:
            answer = self._waiting = asyncio.get_running_loop().create_future()
            if not self._out:
                self._send()
        # Shielded: one caller cancelled (its client left) must not cancel the others' read.
        return await asyncio.shield(answer)

    def _send(self) -> None:
        answers, self._waiting = self._waiting, None
        assert answers is not None
        self._out = True
        # Kept: the loop holds tasks only weakly.
        self._task = asyncio.ensure_future(self._read())
        self._task.add_done_callback(lambda done: self._returned(answers, done))

    def _returned(self, answers: asyncio.Future[tuple[int, int]], done: asyncio.Future[tuple[int, int]]) -> None:
        self._out = False
        if done.cancelled():
            answers.cancel()
        elif (exc := done.exception()) is not None:
            answers.set_exception(exc)
        else:
            answers.set_result(done.result())
        if self._waiting is not None:
            self._send()
