"""Annotation writes (PATCH, replies) run on the event loop when the store is free at once.

Under mixed load a write sent to the threadpool waited for the GIL at every SQLite call (the
loop serving reads holds it for a switch interval, 5 ms, at a time), so a write whose work is
~0.3 ms took ~12 ms at the median; and its commit, from another connection, emptied the
loop's SQLite page cache, so the list page rebuilt after it read every page from the file
again. Run inline, the write costs the loop its own CPU and nothing else. When another writer
(this process's threads, or another process: the TUI, a sync) holds the store, nothing has
been written and the same call runs in the threadpool, where it may wait.

Reads from the event loop (``run_read``) follow the engine: on SQLite a WAL read is local and
never waits, cheaper inline than a thread hop; on PostgreSQL it is a round trip, during which
the loop would serve no one, so it goes to the threadpool.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from storage.db import WriteWouldWait, without_waiting
from workbench.services.context import Workbench

T = TypeVar("T")


async def run_write(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)``: a use case making exactly one write transaction (a retry in the
    threadpool runs it again from the start, which is safe only if nothing committed)."""
    token = without_waiting.set(True)
    try:
        return fn(*args, **kwargs)
    except WriteWouldWait:
        pass
    finally:
        without_waiting.reset(token)
    return await run_in_threadpool(fn, *args, **kwargs)


async def run_read(wb: Workbench, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)``, a read of ``wb``'s store made for the event loop: inline on SQLite,
    in the threadpool on PostgreSQL (see above)."""
    if wb.store.dialect == "postgresql":
        return await run_in_threadpool(fn, *args, **kwargs)
    return fn(*args, **kwargs)
