"""Whether a store changed: SQLite's ``PRAGMA data_version`` read on a connection of its own.

``data_version`` moves when another connection commits, never for the connection's own
commits, and its values mean nothing across connections. So each store file gets one
connection that never writes: every commit, from any thread or process, moves its value,
and a cache keyed by it (the inbox counts) stays valid exactly until the data changes.
"""

from __future__ import annotations

import itertools
import sqlite3
import threading
from pathlib import Path

_WATCHERS: dict[Path, tuple[sqlite3.Connection, threading.Lock, int]] = {}
_GUARD = threading.Lock()
# A new watcher's data_version starts over: its values are told apart from an earlier one's.
_GENERATIONS = itertools.count()


def data_version(path: Path) -> tuple[int, int]:
    """A value that changes whenever any connection commits to the store at ``path``."""
    # Read on every hot-path request: the common case takes no global lock (a dict read is atomic).
    watcher = _WATCHERS.get(path) or _open(path)
    conn, lock, generation = watcher
    with lock:
        return generation, conn.execute("PRAGMA data_version").fetchone()[0]


def latest(path: Path, sql: str) -> object:
    """The first column of ``sql``'s first row (None if it has none), read on the same connection:
    it never holds a transaction open, so it sees the latest commit, never an older snapshot
    that a caller's own connection may still be reading."""
    watcher = _WATCHERS.get(path) or _open(path)
    conn, lock, _ = watcher
    with lock:
        row = conn.execute(sql).fetchone()
    return None if row is None else row[0]


def _open(path: Path) -> tuple[sqlite3.Connection, threading.Lock, int]:
    with _GUARD:
        watcher = _WATCHERS.get(path)
        if watcher is None:
            # Read-only: the watcher can never hold a write lock or create a missing file.
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None)
            watcher = _WATCHERS[path] = (conn, threading.Lock(), next(_GENERATIONS))
        return watcher


def forget(path: Path) -> None:
    """Close the watcher of ``path`` (when its store closes)."""
    with _GUARD:
        watcher = _WATCHERS.pop(path, None)
    if watcher is not None:
        watcher[0].close()
