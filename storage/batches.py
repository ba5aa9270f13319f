"""Requests that arrive while a round trip is out go together in the next one (the event loop's batching).

Used where each request of a busy event loop would otherwise make its own round trip to
PostgreSQL: the store's version read by the list's hot path (workbench/server/version_reads.py)
(the rate-limit counts lease units instead, storage/rate_leases.py). One batch is out at a time;
what arrives meanwhile waits for the next, which is sent when the first returns. So every
request is served by a round trip sent after it arrived, as its own would have been.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

I = TypeVar("I")  # noqa: E741 - the item a request brings
R = TypeVar("R")


class Batches(Generic[I, R]):
    """``await submit(item)``: ``run`` answers a batch's items in order, one answer per item."""

    def __init__(self, run: Callable[[list[I]], Awaitable[list[R]]]) -> None:
        self._run = run
        self._waiting: list[tuple[I, asyncio.Future[R]]] = []
        self._out = False
        # Kept: the loop holds tasks only weakly.
        self._task: asyncio.Future[list[R]] | None = None

    async def submit(self, item: I) -> R:
        answer: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, answer))
        if not self._out:
            self._send()
        # Shielded: a request whose client left must not cancel the round trip the others wait for.
        return await asyncio.shield(answer)

    def _send(self) -> None:
        batch, self._waiting = self._waiting, []
        self._out = True
        self._task = asyncio.ensure_future(self._run([item for item, _ in batch]))  # noqa: RUF006 - kept in self._task
        self._task.add_done_callback(lambda done: self._returned(batch, done))

    def _returned(self, batch: list[tuple[I, asyncio.Future[R]]], done: asyncio.Future[list[R]]) -> None:
        self._out = False
        failure = asyncio.CancelledError() if done.cancelled() else done.exception()
        answers = done.result() if failure is None else [None] * len(batch)
        for (_, waiter), value in zip(batch, answers, strict=True):
            if waiter.done():
                continue
            if failure is not None:
                waiter.set_exception(failure)
            else:
                waiter.set_result(value)  # pyright: ignore[reportArgumentType]  # a result list, when nothing failed
        if self._waiting:
            self._send()
