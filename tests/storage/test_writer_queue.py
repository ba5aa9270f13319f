"""Writers of one process queue on the store's lock and start the moment the holder commits.

Without the lock a waiter polls SQLite's busy handler, whose back-off sleeps between tries:
after 228 ms of waiting its next try comes at 328 ms, so a commit at ~240 ms leaves the store
idle for ~90 ms while a writer waits. With the lock the waiter wakes at the commit.
"""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from storage import Store
from storage.db import WriteWouldWait, without_waiting

HOLD_S = 0.24  # just past one of the busy handler's tries (at 228 ms), far from the next (328 ms)
ROUNDS = 3


def test_a_waiting_writer_starts_right_after_the_holder_commits(tmp_path):
    store = Store(tmp_path)
    store.db.execute("CREATE TABLE t (n INTEGER)")
    gaps = []
    for n in range(ROUNDS):
        holding = threading.Event()
        committed_at: list[float] = []

        def holder(n: int = n, holding: threading.Event = holding, committed_at: list[float] = committed_at) -> None:
            with store.write() as db:
                db.execute("INSERT INTO t VALUES (?)", [n])
                holding.set()
                time.sleep(HOLD_S)  # the work of a long transaction, not a wait for a condition
            committed_at.append(time.perf_counter())

        t = threading.Thread(target=holder)
        t.start()
        assert holding.wait(10)
        with store.write() as db:  # waits for the holder
            began = time.perf_counter()
            db.execute("INSERT INTO t VALUES (?)", [-n])
        t.join(10)
        gaps.append(began - committed_at[0])
    assert store.db.execute("SELECT count(*) FROM t").fetchone()[0] == 2 * ROUNDS
    # A thread wake-up per round, not a busy-handler poll (~90 ms each without the lock).
    assert sum(gaps) < 0.05, [round(g * 1000, 1) for g in gaps]
    store.close()


def test_a_writer_that_must_not_wait_is_told_so_and_writes_nothing(tmp_path):
    store = Store(tmp_path)
    store.db.execute("CREATE TABLE t (n INTEGER)")
    other = sqlite3.connect(store.path, isolation_level=None)  # another process's writer
    other.execute("BEGIN IMMEDIATE")
    token = without_waiting.set(True)
    try:
        with pytest.raises(WriteWouldWait), store.write() as db:
            db.execute("INSERT INTO t VALUES (1)")
        assert not store._write_lock.locked()
    finally:
        without_waiting.reset(token)
        other.execute("COMMIT")
    holding = threading.Event()
    release = threading.Event()

    def holder() -> None:  # a writer of this process
        with store.write() as db:
            db.execute("INSERT INTO t VALUES (2)")
            holding.set()
            release.wait(10)

    t = threading.Thread(target=holder)
    t.start()
    assert holding.wait(10)
    token = without_waiting.set(True)
    try:
        with pytest.raises(WriteWouldWait), store.write() as db:
            db.execute("INSERT INTO t VALUES (3)")
    finally:
        without_waiting.reset(token)
        release.set()
        t.join(10)
    assert [r[0] for r in other.execute("SELECT n FROM t")] == [2]
    other.close()
    store.close()


def test_only_the_first_write_of_a_caller_that_must_not_wait_may_be_refused(tmp_path):
    # A refusal after a commit would make the caller run its use case again, committing twice.
    store = Store(tmp_path)
    store.db.execute("CREATE TABLE t (n INTEGER)")
    token = without_waiting.set(True)
    try:
        with store.write() as db:
            db.execute("INSERT INTO t VALUES (1)")
        assert without_waiting.get() is False
    finally:
        without_waiting.reset(token)
    store.close()


def test_a_writer_that_must_not_wait_is_refused_inside_a_read_it_did_not_start(tmp_path):
    store = Store(tmp_path)
    store.db.execute("CREATE TABLE t (n INTEGER)")
    token = without_waiting.set(True)
    try:
        with store.read(), pytest.raises(WriteWouldWait), store.write() as db:
            db.execute("INSERT INTO t VALUES (1)")
    finally:
        without_waiting.reset(token)
    assert store.db.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    store.close()
