"""The Store: one SQLite database per data directory, opened safely for many processes at once.

The TUI, the CLI and ``workbench serve`` may open the same file together. WAL lets readers run
beside one writer; every write transaction starts with ``BEGIN IMMEDIATE`` so two writers queue
on the busy timeout instead of deadlocking when a read lock would have to be upgraded. Each
thread gets its own connection because sqlite3 connections must not be shared across threads
while a transaction is open.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from sqlite_utils import Database

DB_FILENAME = "workbench.db"
BUSY_TIMEOUT_MS = 10_000
# SQLite's own checkpoint runs inside the commit that crosses the threshold, and its fsync
# made ~2% of triage actions take 13-17 ms. A background thread checkpoints instead; the
# automatic one stays as a bound (about 40 MB of WAL) for processes that stop early.
AUTOCHECKPOINT_PAGES = 10_000
CHECKPOINT_EVERY_S = 0.5


class Store:
    """Connections, transactions and file locations of one data directory."""

    def __init__(self, data_dir: Path | str, *, migrate: bool = True) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / DB_FILENAME
        self.uploads_dir = self.data_dir / "uploads"
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._writes = 0
        self._checkpointer: threading.Thread | None = None
        self._stop = threading.Event()
        if migrate:
            from storage.schema import migrate as _migrate

            _migrate(self)

    # -- connections -----------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves; the driver's implicit
        # transactions would otherwise start deferred and could deadlock on upgrade.
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        # NORMAL is durable against process crashes in WAL mode; only power loss can lose
        # the last commits, and it is much faster than FULL for one-commit-per-action use.
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(f"PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT_PAGES}")
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if mode != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        return conn

    @property
    def db(self) -> Database:
        """This thread's sqlite-utils Database (created on first use)."""
        db = getattr(self._local, "db", None)
        if db is None:
            conn = self._connect()
            db = Database(conn, execute_plugins=False)
            self._local.db = db
            with self._lock:
                self._connections.append(conn)
        return db

    def close(self) -> None:
        """Close every connection this Store opened (all threads)."""
        self._stop.set()
        if self._checkpointer is not None:
            self._checkpointer.join(5)
            self._checkpointer = None
        with self._lock:
            for conn in self._connections:
                with contextlib.suppress(sqlite3.ProgrammingError):
                    conn.close()
            self._connections.clear()
        self._local = threading.local()

    # -- transactions ----------------------------------------------------------------------
    @contextlib.contextmanager
    def write(self) -> Iterator[Database]:
        """One write transaction: everything inside commits together or not at all."""
        db = self.db
        if db.conn.in_transaction:
            # Nested use (a service calling another): join the outer transaction.
            with db.atomic():
                yield db
            return
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            if db.conn.in_transaction:
                db.conn.execute("ROLLBACK")
            raise
        else:
            db.conn.execute("COMMIT")
            self._writes += 1
            if self._checkpointer is None:
                self._start_checkpointer()

    def _start_checkpointer(self) -> None:
        with self._lock:
            if self._checkpointer is not None:
                return
            self._stop.clear()
            self._checkpointer = threading.Thread(target=self._checkpoint_loop, name="workbench-checkpoint", daemon=True)
            self._checkpointer.start()

    def _checkpoint_loop(self) -> None:
        """PASSIVE checkpoints off the write path: never waits for readers or blocks writers."""
        conn = self._connect()
        seen = 0
        try:
            while not self._stop.wait(CHECKPOINT_EVERY_S):
                if self._writes != seen:
                    seen = self._writes
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()

    @contextlib.contextmanager
    def read(self) -> Iterator[Database]:
        """A consistent snapshot for several SELECTs (WAL readers never block the writer)."""
        db = self.db
        if db.conn.in_transaction:
            yield db
            return
        db.conn.execute("BEGIN")
        try:
            yield db
        finally:
            if db.conn.in_transaction:
                db.conn.execute("COMMIT")

    def upload_path(self, key: str) -> Path:
        """Where the bytes of an uploaded object live; refuses keys that would escape the dir."""
        target = (self.uploads_dir / key).resolve()
        if not str(target).startswith(str(self.uploads_dir.resolve()) + os.sep):
            raise ValueError("upload key escapes the uploads directory")
        return target
