"""The search indexes merged in steps of their own (migration m038, ``storage.search_merge``), and
the store's upkeep that makes them (``storage.db.Store``): it lets waiting writers go first and
keeps the WAL starting over while it writes back to back.

A segment of an FTS5 index has at least one row in the index's ``_idx`` table, so counting
distinct ``segid`` there counts the segments without reading FTS5's own structure record.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Any

import pytest

from storage import annotations as repo
from storage import db as db_module
from storage import inbox, search_merge
from tests.storage.records import T0, annotation
from workbench.services import inbox as inbox_svc
from workbench.services.context import Workbench


def _stop_upkeep(wb: Workbench) -> None:
    """Stop the store's upkeep thread (as close() does), so only the code under test merges."""
    wb.store._stop.set()
    if wb.store._checkpointer is not None:
        wb.store._checkpointer.join()


def _segments(db: sqlite3.Connection, table: str) -> int:
    return db.execute(f"SELECT count(DISTINCT segid) FROM {table}_idx").fetchone()[0]


def _add_one_by_one(wb: Workbench, creds: dict, n: int, start: int = 0) -> None:
    """``n`` annotations, each in a write of its own and indexed in a batch of its own, as a
    store's writes and its upkeep make them: a segment each in every index."""
    for i in range(start, start + n):
        with wb.store.write() as db:
            repo.add_annotations(db, [annotation(creds["workspace_id"], creds["site_id"], f"a{i}", body=f"quokka number {i}",
                                                 created_at=T0 + i)])
        with wb.store.write() as db:
            repo.index_text_pending(db)


def test_writes_and_batches_merge_nothing_and_the_steps_merge_them(wb: Workbench, creds: dict):
    _stop_upkeep(wb)
    db = wb.store.db
    for t in search_merge.INDEXES:
        assert db.execute(f"SELECT v FROM {t}_config WHERE k = 'automerge'").fetchone() == (0,)
    before = {t: _segments(db, t) for t in ("inbox_fts", "annotations_fts")}
    _add_one_by_one(wb, creds, 20)
    # FTS5's default would have merged every four: each write and each batch left its segment.
    for t, n in before.items():
        assert _segments(db, t) >= n + 20, t
    steps = 0
    while wb.store.merge_search_step():
        steps += 1
        assert steps < 1000, "the merge steps never ran out of work"
    assert steps >= 2
    for t in ("inbox_fts", "annotations_fts"):
        # What FTS5 leaves merged: fewer than four (``usermerge``) segments on each level.
        assert _segments(db, t) <= 6, t
        db.execute(f"INSERT INTO {t}({t}, rank) VALUES ('integrity-check', 1)")
    assert db.execute("SELECT count(*) FROM inbox_fts WHERE inbox_fts MATCH 'quokka'").fetchone()[0] == 20
    assert db.execute("SELECT count(*) FROM annotations_fts WHERE annotations_fts MATCH 'quokka'").fetchone()[0] == 20


def test_a_step_with_nothing_to_merge_commits_nothing(wb: Workbench, creds: dict):
    _stop_upkeep(wb)
    _add_one_by_one(wb, creds, 5)
    while wb.store.merge_search_step():
        pass
    version, writes = wb.store.version(), wb.store._writes
    assert not wb.store.merge_search_step()
    assert not inbox_svc.merge_search_step(wb)
    # No commit: neither this process's upkeep nor another's readers are woken by nothing.
    assert (wb.store.version(), wb.store._writes) == (version, writes)


def test_a_store_nobody_merges_stays_bounded(wb: Workbench, creds: dict):
    """Without any step, a level merges itself once it holds CRISIS_MERGE segments, so a search
    never reads more than that many a level."""
    _stop_upkeep(wb)
    _add_one_by_one(wb, creds, search_merge.CRISIS_MERGE + 2)
    assert _segments(wb.store.db, "annotations_fts") < search_merge.CRISIS_MERGE


def test_the_upkeep_lets_a_waiting_writer_go_first(wb: Workbench, creds: dict):
    """A writer of this process waiting for the lock writes before the upkeep's next write: the
    upkeep's turn ends only once the waiting writer holds the lock."""
    _stop_upkeep(wb)
    store = wb.store
    holding, release, second_in, checked = threading.Event(), threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with store.write():
            holding.set()
            release.wait(30)

    def second() -> None:
        with store.write():
            second_in.set()
            checked.wait(30)  # holds the lock until the turn has looked

    threads = [threading.Thread(target=first)]
    threads[0].start()
    assert holding.wait(30)
    threads.append(threading.Thread(target=second))
    threads[1].start()
    deadline = time.monotonic() + 30
    while store._waiting == 0:  # the condition this test needs: the second writer waits
        assert time.monotonic() < deadline, "the second writer never waited for the lock"
        time.sleep(0.005)
    seen: dict[str, bool] = {}

    def upkeep_turn() -> None:
        conn = store._connect()
        try:
            store._upkeep_turn(conn)
            # The first writer has let go by now: a lock held is the second writer's.
            seen["second writer holds the lock"] = store._write_lock.locked()
        finally:
            checked.set()
            conn.close()

    turn = threading.Thread(target=upkeep_turn)
    turn.start()
    time.sleep(0.05)  # long enough for a turn that did not wait to have ended
    assert turn.is_alive(), "the upkeep's turn came while a writer was waiting"
    release.set()
    turn.join(30)
    for t in threads:
        t.join(30)
    assert seen == {"second writer holds the lock": True}
    assert second_in.is_set()


class _WriteDuringCheckpoint:
    """The checkpointer's connection, with another writer committing as its first checkpoint
    ends: the race that kept a busy store's WAL from starting over."""

    def __init__(self, conn: sqlite3.Connection, other: sqlite3.Connection) -> None:
        self.conn, self.other, self.checkpoints, self.first_log = conn, other, 0, 0

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if "wal_checkpoint" not in sql:
            return self.conn.execute(sql, *args)
        self.checkpoints += 1
        if self.checkpoints > 1:
            return self.conn.execute(sql, *args)
        # A write that began before the checkpoint ended and commits after it.
        self.other.execute("BEGIN IMMEDIATE")
        self.other.execute("INSERT INTO meta (key, value) VALUES ('raced', 'yes')")
        row = self.conn.execute(sql, *args).fetchone()
        self.first_log = row[1]
        self.other.execute("COMMIT")
        return self.conn.execute("SELECT ?, ?, ?", row)


@pytest.mark.parametrize("restart_at", [1, None])
def test_a_long_log_starts_over_though_a_write_came_during_the_checkpoint(wb: Workbench, creds: dict,
                                                                           monkeypatch: pytest.MonkeyPatch, restart_at):
    _stop_upkeep(wb)
    store = wb.store
    if restart_at is not None:
        monkeypatch.setattr(db_module, "RESTART_LOG_FRAMES", restart_at)
    else:
        monkeypatch.setattr(db_module, "RESTART_LOG_FRAMES", 10**9)
    _add_one_by_one(wb, creds, 20)
    conn, other = store._connect(), store._connect()
    try:
        racing = _WriteDuringCheckpoint(conn, other)
        store._checkpoint(racing)  # pyright: ignore[reportArgumentType]  # a connection's execute
        log_before = racing.first_log
        assert log_before > 20
        with store.write() as db:
            db.execute("INSERT INTO meta (key, value) VALUES ('after', 'yes')")
        log_after = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
    finally:
        conn.close()
        other.close()
    if restart_at is not None:
        assert log_after < 10, "the write after the checkpoints did not start the log over"
    else:
        # The race as it was: the log only grows (the oracle the case above is read against).
        assert log_after > log_before


def test_the_index_batches_write_no_merge(wb: Workbench, creds: dict):
    """An upkeep batch's cost is its own documents': with 40 segments waiting at level 0 (more
    than FTS5's default merges at), a batch adds one segment and merges none."""
    _stop_upkeep(wb)
    _add_one_by_one(wb, creds, 40)
    with wb.store.write() as db:
        repo.add_annotations(db, [annotation(creds["workspace_id"], creds["site_id"], "late", body="late quokka", created_at=T0 + 99)])
    n = _segments(wb.store.db, "annotations_fts")
    assert n >= 40
    with wb.store.write() as db:
        assert repo.index_text_pending(db) == 1
        assert not inbox.search_pending(db)
    assert _segments(wb.store.db, "annotations_fts") == n + 1
