"""The search indexes merged in steps of their own (migration m038, ``storage.search_merge``), and
the store's upkeep that makes them (``storage.db.Store``): it lets waiting writers go first and
checkpoints as it writes back to back.

A segment of an FTS5 index has at least one row in the index's ``_idx`` table, so counting
distinct ``segid`` there counts the segments without reading FTS5's own structure record.
"""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from storage import annotations as repo
from storage import db as db_module
from storage import inbox, search_merge
from tests.storage.records import T0, annotation
from tests.stores import stop_upkeep
from workbench.services import inbox as inbox_svc
from workbench.services.context import Workbench


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
    stop_upkeep(wb.store)
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
    stop_upkeep(wb.store)
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
    stop_upkeep(wb.store)
    _add_one_by_one(wb, creds, search_merge.CRISIS_MERGE + 2)
    assert _segments(wb.store.db, "annotations_fts") < search_merge.CRISIS_MERGE


def test_the_upkeep_lets_a_waiting_writer_go_first(wb: Workbench, creds: dict):
    """A writer of this process waiting for the lock writes before the upkeep's next write: the
    upkeep's turn ends only once the waiting writer holds the lock."""
    stop_upkeep(wb.store)
    store = wb.store
    holding, release, letting_go, second_in, checked = (threading.Event() for _ in range(5))

    def first() -> None:
        with store.write():
            holding.set()
            release.wait(30)
            letting_go.set()

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
            # Only once the first writer has let go and the second holds the lock.
            seen["first let go"] = letting_go.is_set()
            seen["second writer holds the lock"] = store._write_lock.locked()
        finally:
            checked.set()
            conn.close()

    turn = threading.Thread(target=upkeep_turn)
    turn.start()
    turn.join(0.05)  # a turn that does not wait for the writer ends within this
    assert turn.is_alive(), "the upkeep's turn came while a writer was waiting"
    release.set()
    turn.join(30)
    for t in threads:
        t.join(30)
    assert seen == {"first let go": True, "second writer holds the lock": True}
    assert second_in.is_set()


@pytest.mark.parametrize("checkpoint_every", [db_module.UPKEEP_CHECKPOINT_EVERY, None])
def test_the_upkeep_checkpoints_as_it_writes(wb: Workbench, creds: dict, monkeypatch: pytest.MonkeyPatch, checkpoint_every):
    """The upkeep thread is the store's checkpointer: indexing a pulled store, it checkpoints
    every UPKEEP_CHECKPOINT_EVERY of its writes, so the log starts over instead of growing to
    SQLite's bound, past which every commit checkpoints inline."""
    stop_upkeep(wb.store)
    store = wb.store
    store._stop.clear()  # the thread is gone; this test runs its indexing itself
    if checkpoint_every is None:  # the oracle: no checkpoint while it writes
        monkeypatch.setattr(db_module, "UPKEEP_CHECKPOINT_EVERY", 10**9)
    monkeypatch.setattr(repo, "TEXT_INDEX_BATCH", 1)  # a write per document: 300 upkeep writes, and their merges
    with store.write() as db:
        repo.add_annotations(db, [annotation(creds["workspace_id"], creds["site_id"], f"p{i}", body=f"numbat {i}", created_at=T0 + i)
                                  for i in range(300)])
    conn = store._connect()
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        store._wake.clear()
        store._index_pending(conn)
        assert not repo.text_pending(conn)
        wal = store.path.with_name(store.path.name + "-wal").stat().st_size
    finally:
        conn.close()
    page = store.db.execute("PRAGMA page_size").fetchone()[0]
    if checkpoint_every is None:
        assert wal > 600 * page  # every write's frames, one after another (about 860 pages)
    else:
        assert wal < 450 * page  # about 64 writes of frames: the log starts over after each checkpoint


def test_the_index_batches_write_no_merge(wb: Workbench, creds: dict):
    """An upkeep batch's cost is its own documents': with 40 segments waiting at level 0 (more
    than FTS5's default merges at), a batch adds one segment and merges none."""
    stop_upkeep(wb.store)
    _add_one_by_one(wb, creds, 40)
    with wb.store.write() as db:
        repo.add_annotations(db, [annotation(creds["workspace_id"], creds["site_id"], "late", body="late quokka", created_at=T0 + 99)])
    n = _segments(wb.store.db, "annotations_fts")
    assert n >= 40
    with wb.store.write() as db:
        assert repo.index_text_pending(db) == 1
        assert not inbox.search_pending(db)
    assert _segments(wb.store.db, "annotations_fts") == n + 1
