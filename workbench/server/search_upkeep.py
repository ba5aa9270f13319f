"""The search indexes' upkeep in a serving process: pending documents indexed, and segments merged, on the event loop.

A write leaves a changed annotation's inbox document pending (migration m020, ``storage.inbox``),
and the rows it wrote pending for the annotation search's indexes (m023, ``storage.annotations``). In
other processes the store's upkeep thread indexes it. In the server, that thread's writes took
the writers' lock while the event loop was writing inline, so the loop's triage writes fell
back to the threadpool and waited for the GIL: under the mixed benchmark write p99 went from
11 to 52-65 ms and each request cost more CPU. Here the loop indexes a few at a time between
requests, the way it runs the triage writes (``writer.run_write``), and no other thread writes.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3

from storage.failures import StoreBusy, StoreWriteFailed
from workbench.server.writer import run_write
from workbench.services import annotations, inbox
from workbench.services.context import Workbench

log = logging.getLogger("workbench.search_upkeep")

EVERY_S = 0.5


async def keep_search_current(wb: Workbench) -> None:
    """Index what is pending every EVERY_S, a batch per write (``services.inbox.index_pending``,
    then ``services.annotations.index_text_pending``), each followed by the merges its segments
    call for, a short step per write (``services.inbox.merge_search_step``), until cancelled
    (SQLite's stores only)."""
    wb.store.index_in_upkeep = False
    disk_refused = False  # told once: on a full disk every round fails alike, twice a second
    merged_at = None  # the store's version when nothing was left to merge: no write since, no merge to look for
    try:
        while True:
            await asyncio.sleep(EVERY_S)
            try:
                for index_pending in (inbox.index_pending, annotations.index_text_pending):
                    while await run_write(index_pending, wb):
                        await asyncio.sleep(0)  # the requests waiting meanwhile go first
                        await _merge(wb)
                if wb.store.version() != merged_at:
                    await _merge(wb)  # the segments the requests' own writes added (a new annotation's document)
                    merged_at = wb.store.version()
            except StoreBusy as exc:  # words itself: the stack would point at no code to fix
                log.warning("search upkeep: %s; the documents stay pending for the next round", exc)
            except StoreWriteFailed as exc:
                if not disk_refused:
                    log.warning("search upkeep: %s; the documents stay pending until there is room", exc)
                disk_refused = True
            except sqlite3.Error:
                # The store busy past its timeout, say: the documents stay pending for the next round.
                log.warning("search upkeep: indexing pending documents failed", exc_info=True)
            else:
                if disk_refused:
                    log.warning("search upkeep: the store takes writes again; indexing what was pending")
                disk_refused = False
    finally:
        wb.store.index_in_upkeep = True


async def _merge(wb: Workbench) -> None:
    while await run_write(inbox.merge_search_step, wb):
        await asyncio.sleep(0)
