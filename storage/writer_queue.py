"""The writer queue: every process's writers to one SQLite file wait in the kernel, not by polling.

SQLite's write lock keeps no queue. A writer that finds it held sleeps in the busy handler (1, 2,
5, 10 ms and on) and tries again, so a process that writes back to back (a sync applying pages, a
server under load) could keep another process's writer waiting through that whole schedule: a
triage action beside such a writer waited 130 ms at p99 (bench/bench_triage.py's "other
process"). Writers take an flock(2) on a file beside the database (``workbench.db-writers``)
before ``BEGIN IMMEDIATE`` instead; the kernel wakes a waiter as the holder lets go.

The lock only orders workbench's own writers. SQLite's lock still keeps the data safe, so a
writer that does not take it (the sqlite3 shell) is waited for on the busy timeout as before, and
a file system without flock(2) just goes without the queue.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from pathlib import Path

SUFFIX = "-writers"


class WriterQueue:
    """One Store's hold on the cross-process lock of its database file. Only the thread holding
    the file's in-process write lock calls it (two Stores of one file in a process queue there
    first), so its own state needs no lock."""

    def __init__(self, db_path: Path) -> None:
        self.path = db_path.with_name(db_path.name + SUFFIX)
        self._fd: int | None = None  # opened on the first write, so reading never creates the file
        self._usable = True
        self._held: int | None = None  # the descriptor whose lock is held now

    def try_take(self) -> bool:
        """Take the lock if no other process holds it; True when taken (or there is no queue)."""
        fd = self._descriptor()
        if fd is None:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError:
            self._usable = False
            return True
        self._held = fd
        return True

    def take(self, timeout_s: float) -> bool:
        """Take the lock, waiting up to ``timeout_s`` for other processes' writers; False when
        the time ran out (nothing is held then)."""
        if self.try_take():
            return True
        # flock(2) has no timeout: a thread waits on a descriptor of its own, and lets go at once
        # if the writer stopped waiting before the lock came.
        try:
            fd = self._open()
        except OSError:
            self._usable = False
            return True
        done = threading.Event()
        guard = threading.Lock()
        outcome: list[str] = []  # "taken", "failed" (no queue then) or "gave up"

        def wait() -> None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError:
                said = "failed"
            else:
                said = "taken"
            with guard:
                if not outcome:
                    outcome.append(said)
                    done.set()
                    if said == "taken":
                        return
            os.close(fd)

        threading.Thread(target=wait, name="workbench-writer-queue", daemon=True).start()
        done.wait(timeout_s)
        with guard:
            if not outcome:
                outcome.append("gave up")
                return False
        if outcome[0] == "failed":
            self._usable = False
            return True
        self._held = fd
        return True

    def holder(self) -> int | None:
        """The process holding the lock, where the system says (Linux's /proc/locks): a writer
        told it waited too long can be told whose turn it was. None elsewhere, or when none holds it."""
        try:
            st = os.stat(self.path)
            with open("/proc/locks") as locks:
                lines = locks.read().splitlines()
        except OSError:
            return None
        # "1: FLOCK  ADVISORY  WRITE 4242 fe:00:2146490 0 EOF"; a waiter's line has "->" after the number.
        file = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
        for line in lines:
            parts = line.split()
            if len(parts) >= 6 and parts[1] == "FLOCK" and parts[5] == file and parts[4].isdigit():
                return int(parts[4])
        return None

    def let_go(self) -> None:
        """Release the lock taken by ``take`` or ``try_take`` (nothing when none is held)."""
        fd, self._held = self._held, None
        if fd is None:
            return
        if fd != self._fd:
            os.close(fd)  # a waiting thread's own descriptor: closing it lets go
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        except OSError:
            # Closing lets go too; the next write opens the file again.
            self._fd = None
            with contextlib.suppress(OSError):
                os.close(fd)

    def close(self) -> None:
        """Close the descriptor (releasing any lock still held)."""
        self.let_go()
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def _open(self) -> int:
        """A new descriptor of the lock file (made if missing): each holds its own lock."""
        return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)

    def _descriptor(self) -> int | None:
        if self._fd is None and self._usable:
            try:
                self._fd = self._open()
            except OSError:
                self._usable = False  # a directory the lock file cannot be made in: SQLite's lock alone
        return self._fd if self._usable else None
