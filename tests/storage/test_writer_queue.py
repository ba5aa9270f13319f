"""Writers queue on the store's locks and start the moment the holder commits: a thread lock
within a process, the writer queue (storage/writer_queue.py, an flock) across processes.

Without them a waiter polls SQLite's busy handler, whose back-off sleeps between tries: after
228 ms of waiting its next try comes at 328 ms, so a commit at ~240 ms leaves the store idle for
~90 ms while a writer waits. Queued, the waiter wakes at the commit.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from storage import Store
from storage import db as sqlite_store
from storage.db import WriteWouldWait, without_waiting
from storage.failures import StoreBusy
from storage.writer_queue import SUFFIX

ROOT = Path(__file__).resolve().parents[2]

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


def refused_at_once(store: Store, n: int) -> None:
    """A write of ``n`` that must not wait is refused (WriteWouldWait)."""
    token = without_waiting.set(True)
    try:
        with pytest.raises(WriteWouldWait), store.write() as db:
            db.execute("INSERT INTO t VALUES (?)", [n])
    finally:
        without_waiting.reset(token)


def test_a_writer_that_must_not_wait_is_told_so_and_writes_nothing(tmp_path):
    store = Store(tmp_path)
    store.db.execute("CREATE TABLE t (n INTEGER)")
    other = sqlite3.connect(store.path, isolation_level=None)  # another process's writer
    other.execute("BEGIN IMMEDIATE")
    try:
        refused_at_once(store, 1)
        assert not store._write_lock.locked()
    finally:
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
    try:
        refused_at_once(store, 3)
    finally:
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


# Another process's writer: a Store's write transaction that holds until told (a line on its
# standard input), or for a given time; it says "holding" once inside, and its commit's
# time.monotonic() (one clock for every process of this machine) after.
OTHER_WRITER = """
import sys, time
from storage import Store
store = Store(sys.argv[1])
with store.write() as db:
    db.execute("INSERT INTO t VALUES (-1)")
    print("holding", flush=True)
    if sys.argv[2] == "until-told":
        sys.stdin.readline()
    else:
        time.sleep(float(sys.argv[2]))  # the work of a long transaction, not a wait for a condition
print(time.monotonic(), flush=True)
store.close()
"""


@contextmanager
def other_process_writing(data: Path, hold: str = "until-told") -> Iterator[subprocess.Popen[str]]:
    other = subprocess.Popen([sys.executable, "-c", OTHER_WRITER, str(data), hold], cwd=ROOT, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert other.stdout is not None and other.stdout.readline() == "holding\n"
        yield other
    finally:
        assert other.stdin is not None
        # A holder for a given time reads nothing, and may have ended by now: only the one that waits is told.
        with suppress(BrokenPipeError):
            if hold == "until-told" and other.poll() is None:
                other.stdin.write("go\n")
            other.stdin.close()
        assert other.wait(20) == 0


def queue_waiters() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "workbench-writer-queue"]


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, f"still not {what} after 10 s"
        time.sleep(0.005)


def store_with_table(data: Path) -> Store:
    store = Store(data)
    store.db.execute("CREATE TABLE t (n INTEGER)")
    return store


def test_a_writer_of_another_process_starts_right_after_that_writer_commits(tmp_path):
    """SQLite's busy handler alone woke the waiter ~90 ms after each commit (its tries at 228 and 328 ms)."""
    store = store_with_table(tmp_path)
    gaps = []
    for n in range(ROUNDS):
        with other_process_writing(tmp_path, str(HOLD_S)) as other:
            with store.write() as db:  # waits in the queue for the other process
                began = time.monotonic()
                db.execute("INSERT INTO t VALUES (?)", [n])
            assert other.stdout is not None
            gaps.append(began - float(other.stdout.readline()))
    assert store.db.execute("SELECT count(*) FROM t").fetchone()[0] == 2 * ROUNDS
    assert sum(gaps) < 0.05, [round(g * 1000, 1) for g in gaps]
    store.close()


def test_a_writer_kept_waiting_by_another_process_past_the_timeout_is_told_so_and_lets_go(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_store, "BUSY_TIMEOUT_MS", 200)
    store = store_with_table(tmp_path)
    with other_process_writing(tmp_path) as other:
        # Whose turn it was, from /proc/locks: a `workbench sync` stopped with ^Z mid-write is found by its pid.
        said = rf"another writer has held it for over 0\.2 s \(a writer of another process, pid {other.pid}\)"
        with pytest.raises(StoreBusy, match=said), store.write() as db:
            db.execute("INSERT INTO t VALUES (1)")
        assert not store._write_lock.locked()
        # The thread that waited for it still does, and takes the lock only to let go at once.
        assert queue_waiters()
    wait_for(lambda: not queue_waiters(), "let go by the writer that gave up")
    with store.write() as db:  # nothing left holding the queue
        db.execute("INSERT INTO t VALUES (2)")
    assert [r[0] for r in store.db.execute("SELECT n FROM t ORDER BY n")] == [-1, 2]
    store.close()


def test_a_writer_that_must_not_wait_is_refused_while_another_process_holds_the_queue(tmp_path):
    store = store_with_table(tmp_path)
    with other_process_writing(tmp_path):
        refused_at_once(store, 1)
        assert not store._write_lock.locked()
    with store.write() as db:
        db.execute("INSERT INTO t VALUES (2)")
    assert [r[0] for r in store.db.execute("SELECT n FROM t ORDER BY n")] == [-1, 2]
    store.close()


def test_without_a_queue_file_writers_still_write_behind_sqlites_lock(tmp_path):
    """A directory where the lock file cannot be made (here a directory in its place) loses only the queue."""
    (tmp_path / f"workbench.db{SUFFIX}").mkdir()
    store = store_with_table(tmp_path)
    with other_process_writing(tmp_path, "0.05"), store.write() as db:  # waits on SQLite's busy timeout instead
        db.execute("INSERT INTO t VALUES (1)")
    assert [r[0] for r in store.db.execute("SELECT n FROM t ORDER BY n")] == [-1, 1]
    store.close()


def test_closing_a_store_closes_its_queue_file(tmp_path):
    def open_descriptors() -> int:
        return len(os.listdir("/proc/self/fd"))

    store_with_table(tmp_path).close()
    before = open_descriptors()
    for n in range(20):
        store = Store(tmp_path)
        with store.write() as db:
            db.execute("INSERT INTO t VALUES (?)", [n])
        store.close()
    assert open_descriptors() == before


def test_a_queue_that_cannot_be_let_go_of_is_closed_and_writes_go_on(tmp_path, monkeypatch):
    """Unlocking failing (an I/O error, injected) left this process's lock held: no write of it would ever start
    again. Closing the descriptor lets go instead, and the next write opens the file again."""
    import errno
    import fcntl

    store = store_with_table(tmp_path)
    unlock = fcntl.flock

    def failing(fd: int, operation: int) -> None:
        if operation == fcntl.LOCK_UN:
            raise OSError(errno.EIO, "injected")
        unlock(fd, operation)

    monkeypatch.setattr(fcntl, "flock", failing)
    with store.write() as db:
        db.execute("INSERT INTO t VALUES (1)")
    monkeypatch.setattr(fcntl, "flock", unlock)
    assert not store._write_lock.locked()
    with other_process_writing(tmp_path, "0"):  # another process takes the queue: it was let go
        pass
    with store.write() as db:
        db.execute("INSERT INTO t VALUES (2)")
    assert [r[0] for r in store.db.execute("SELECT n FROM t ORDER BY n")] == [-1, 1, 2]
    store.close()
