"""The Store: one SQLite database per data directory, opened safely for many processes at once.

The TUI, the CLI and ``workbench serve`` may open the same file together. WAL lets readers run
beside one writer; every write transaction starts with ``BEGIN IMMEDIATE`` so two writers queue
on the busy timeout instead of deadlocking when a read lock would have to be upgraded. Within
one process, writers first queue on an in-process lock, and across processes on the writer queue
(storage/writer_queue.py), so they wait in line instead of polling; a caller that must not wait
(the server's event loop) can ask to be refused instead.
Each thread gets its own connection because sqlite3 connections must not be shared across
threads while a transaction is open.

Repositories take the plain ``sqlite3.Connection``: sqlite-utils is loaded only to apply
migrations, so opening an up-to-date store (every TUI start) costs no import beyond sqlite3.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Protocol

from storage import data_version
from storage.failures import DISK_ERRNOS, StoreBusy, StoreUnusable, StoreWriteFailed, busy_name, disk_refused, file_problem
from storage.writer_queue import WriterQueue

DB_FILENAME = "workbench.db"
BUSY_TIMEOUT_MS = 10_000
# SQLite's own checkpoint runs inside the commit that crosses the threshold, and its fsync
# made ~2% of triage actions take 13-17 ms. A background thread checkpoints instead; the
# automatic one stays as a bound (about 160 MB of WAL) for processes that stop early. SQLite
# starts the log over only in a write that began after a checkpoint copied all of it, which a
# busy store rarely has: an upkeep indexing a million pulled documents beside a triage action
# every few ms crossed 10,000 pages (40 MB) every half second, and each commit past it
# checkpointed inline until one started it over (during that drain, triage p99 6.7 to 12.6 ms
# against 3.3 to 3.8 at 40,000; under the server's mixed load the larger bound changed nothing
# measurable).
AUTOCHECKPOINT_PAGES = 40_000
CHECKPOINT_EVERY_S = 0.5
# ...and sooner after this many commits: writes back to back (a sync applying pages, a benchmark)
# filled the WAL past the bound within the half second, and the commit that crossed it checkpointed
# inline, fsync and all: 12 to 40 ms for a triage action, and as long for every writer queued behind it.
CHECKPOINT_EVERY_COMMITS = 256
# ...and, while the upkeep writes back to back (a batch of documents or a merge step each), after this
# many of the process's commits, its own and others' between them.
UPKEEP_CHECKPOINT_EVERY = 64
# ``PRAGMA user_version`` once every migration in storage/schema.py is applied. Bump it with each
# new migration (tests/storage/test_storage.py checks the two agree): a store already at this version
# opens without loading the migration machinery.
SCHEMA_VERSION = 31


class _NothingToMerge(Exception):
    """Rolls back a merge step's transaction when no index had a merge to make."""


class WriteHook(Protocol):
    """Work that must commit inside every outermost write transaction of one context."""

    def begin(self, db: sqlite3.Connection) -> None: ...

    def before_commit(self, db: sqlite3.Connection) -> None: ...


# Set by a unit of work whose own record must commit atomically with whatever the work writes:
# an HTTP request's Idempotency-Key claim (server/idempotency.py). A contextvar, so it follows
# the request into the worker thread that runs its use case and touches no other request.
write_hook: ContextVar[WriteHook | None] = ContextVar("workbench_write_hook", default=None)


class WriteWouldWait(Exception):
    """Raised on entering an outermost ``Store.write`` under ``without_waiting`` when another
    writer (of this process or another) holds the store: nothing was written."""


# Set by a caller that must not block (the server's event loop, server/writer.py): its next
# outermost write starts only if the store is free at once, else raises WriteWouldWait; any
# later write of that caller waits as usual.
without_waiting: ContextVar[bool] = ContextVar("workbench_write_without_waiting", default=False)


# One lock per database file for every Store of this process. Writers queue on it before
# BEGIN IMMEDIATE and wake the moment the holder commits; without it they all poll SQLite's
# busy handler, whose back-off sleeps up to 100 ms at a time (PATCH p99 868 ms under load).
# Other processes' writers queue with them on the writer queue (storage/writer_queue.py).
_WRITE_LOCKS: dict[Path, threading.Lock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock(path: Path) -> threading.Lock:
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(path, threading.Lock())


def _unwritable(path: Path) -> str | None:
    """Why ``path`` cannot be written, or None. access(2) reports EROFS even to root, so a
    read-only mount is caught here; root passes permission bits, which SQLite ignores for it too."""
    if not path.exists() or os.access(path, os.W_OK):
        return None
    try:
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            return "read-only file system"
    except OSError:
        pass
    return "permission denied"


def _fsync_dir(path: Path) -> None:
    """Make the names in directory ``path`` durable (a rename into it, a file created there)."""
    if not hasattr(os, "O_DIRECTORY"):
        return  # Windows opens no directory; NTFS journals the rename itself
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Connection(sqlite3.Connection):
    """sqlite3's connection, weakly referenceable (the base class is not)."""


class Store:
    """Connections, transactions and file locations of one data directory."""

    # Which SQL the store speaks ("sqlite" or "postgresql"), for the few places they differ.
    dialect = "sqlite"
    # Whether the upkeep thread indexes pending search documents; a server does it on its event
    # loop instead (workbench/server/search_upkeep.py), where the writes run.
    index_in_upkeep = True
    # How ``read()`` starts its snapshot (a WAL read transaction here).
    _BEGIN_READ = "BEGIN"

    def __init__(self, data_dir: Path | str, *, migrate: bool = True) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / DB_FILENAME
        # Even reading writes beside the database (WAL's -shm index; migrations, the undo history
        # and sync state on first use), so an unwritable directory is refused here, in one sentence,
        # instead of failing at some later statement.
        for place, what in ((self.data_dir, "the directory"), (self.path, DB_FILENAME)):
            if (why := _unwritable(place)) is not None:
                raise StoreUnusable(self.data_dir, f"{what} cannot be written ({why})")
        if self.path.is_dir():
            raise StoreUnusable(self.data_dir, f"{DB_FILENAME} is a directory, not a database file")
        # What a person is told the store is (a PostgreSQL store names its URL, without the password).
        self.label = str(self.path)
        self.uploads_dir = self.data_dir / "uploads"
        self._local = threading.local()
        self._lock = threading.Lock()
        self._write_lock = _write_lock(self.path)
        self._queue = WriterQueue(self.path)
        # Weak: a worker thread's connection closes when the thread ends (its thread-local goes),
        # instead of staying open with its page cache until the store is closed.
        self._connections: weakref.WeakSet[sqlite3.Connection] = weakref.WeakSet()
        self._writes = 0
        self._savepoints = 0
        self._checkpointer: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by the commits that make a checkpoint due early
        # This process's writers waiting for the write lock, and whether there are none: the
        # upkeep lets them go first (``_upkeep_turn``).
        self._waiting = 0
        self._checkpointed = 0  # ``_writes`` at the last checkpoint
        self._none_waiting = threading.Event()
        self._none_waiting.set()
        try:
            if migrate and self.db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                from storage.schema import migrate as _migrate

                _migrate(self)
        except StoreWriteFailed:
            self.close()  # a migration the disk refused: rolled back, and said as such
            raise
        except sqlite3.Error as exc:
            if (problem := file_problem(exc)) is None:
                raise
            self.close()
            raise StoreUnusable(self.data_dir, f"{DB_FILENAME}: {problem}") from exc

    # -- connections -----------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves; the driver's implicit
        # transactions would otherwise start deferred and could deadlock on upgrade.
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000, factory=_Connection
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        # A REPLACE that deletes a row must fire its DELETE triggers, or the FTS index keeps
        # the replaced text (sync's mirror upserts annotations with INSERT OR REPLACE).
        conn.execute("PRAGMA recursive_triggers = ON")
        # NORMAL is durable against process crashes in WAL mode; only power loss can lose
        # the last commits, and it is much faster than FULL for one-commit-per-action use.
        conn.execute("PRAGMA synchronous = NORMAL")
        # A statement that may fail halfway inside a larger transaction (an UPDATE with triggers:
        # a status change moves a dozen index entries and counts) keeps a statement journal, and
        # past 64 KiB SQLite spilled it to a temp file in /var/tmp, a write call per page and
        # 4-byte record: a tenth of a slow triage action. Temp tables and sorts live in memory
        # too, bounded by what one statement sorts (an index built by a migration, at most).
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute(f"PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT_PAGES}")
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if mode != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        return conn

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._connect()
            self._local.db = db
            with self._lock:
                self._connections.add(db)
        return db

    def close(self) -> None:
        """Close every connection this Store opened (all threads)."""
        self._stop.set()
        self._wake.set()
        self._none_waiting.set()  # an upkeep letting writers go first stops now, not after them
        if self._checkpointer is not None:
            self._checkpointer.join(5)
            self._checkpointer = None
        with self._lock:
            for conn in list(self._connections):
                with contextlib.suppress(sqlite3.ProgrammingError):
                    conn.close()
            self._connections.clear()
        self._local = threading.local()
        data_version.forget(self.path)
        # Its descriptor is used only under the write lock; closing never waits for a writer, and
        # one still writing leaves it open (it closes with the process).
        if self._write_lock.acquire(blocking=False):
            try:
                self._queue.close()
            finally:
                self._write_lock.release()

    # -- transactions ----------------------------------------------------------------------
    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: everything inside commits together or not at all."""
        db = self.db
        if db.in_transaction and without_waiting.get():
            # A transaction this caller's write did not start (a read left open): upgrading it
            # could wait, so the caller is refused as if the store were busy.
            raise WriteWouldWait
        if db.in_transaction:
            with self._nested(db):
                yield db
            return
        hook = write_hook.get()
        if without_waiting.get():
            # Only the first write: once one has committed, a WriteWouldWait from a second
            # would make the caller's retry apply the first one twice.
            without_waiting.set(False)
            if not self._write_lock.acquire(blocking=False):
                raise WriteWouldWait
            try:
                if not self._queue.try_take():
                    raise WriteWouldWait
                self._begin_without_waiting(db)
            except BaseException as exc:
                self._let_go()
                self._raise_disk_refusal(exc)
                raise
        elif not self._wait_for_lock():
            raise self._busy("a writer of this process")
        else:
            try:
                if not self._queue.take(BUSY_TIMEOUT_MS / 1000):
                    holder = self._queue.holder()
                    raise self._busy("a writer of another process" + (f", pid {holder}" if holder else ""))
                db.execute("BEGIN IMMEDIATE")
            except BaseException as exc:
                self._let_go()
                self._raise_disk_refusal(exc)
                if (name := busy_name(exc)) is not None:
                    raise self._busy(name) from exc
                raise
        try:
            try:
                if hook is not None:
                    hook.begin(db)
                yield db
                if hook is not None:
                    hook.before_commit(db)
                # Inside the try: a COMMIT the disk refuses (or a deferred constraint) may leave the
                # transaction open, and it must end here, rolled back, not on this connection's next use.
                db.execute("COMMIT")
            except BaseException as exc:
                self._roll_back(db)
                self._raise_disk_refusal(exc)
                raise
            self._writes += 1
            if self._writes % CHECKPOINT_EVERY_COMMITS == 0:
                self._wake.set()
            self._local.commits = self._thread_commits() + 1
        finally:
            self._let_go()
        if self._checkpointer is None:
            self._start_checkpointer()

    def _wait_for_lock(self) -> bool:
        """Take this process's write lock, waiting up to the busy timeout, counted among the
        writers waiting meanwhile; whether it was taken."""
        with self._lock:
            self._waiting += 1
            self._none_waiting.clear()
        try:
            return self._write_lock.acquire(timeout=BUSY_TIMEOUT_MS / 1000)
        finally:
            with self._lock:
                self._waiting -= 1
                if not self._waiting:
                    self._none_waiting.set()

    def _let_go(self) -> None:
        """End a writer's turn: the writer queue, then this process's lock, released whatever the
        first met (else no write of this process would ever start again)."""
        try:
            self._queue.let_go()
        finally:
            self._write_lock.release()

    def begin_unit_of_work(self) -> None:
        """Count this thread's commits from here: a later StoreWriteFailed on this thread then
        says whether the work begun here had saved anything before the write that failed.
        A CLI command needs no call (its thread counts from the store's opening); a front end
        that runs many actions on one store (the TUI's write queue, stdio MCP's tool calls)
        calls it as each action starts, on the thread that runs it."""
        self._local.commits = 0

    def _thread_commits(self) -> int:
        return getattr(self._local, "commits", 0)

    def _roll_back(self, db: sqlite3.Connection) -> None:
        """End a failed write's transaction. SQLite may have rolled it back already (a full disk
        does); a ROLLBACK the disk refuses too closes the connection, which discards the
        transaction, and this thread opens a new one on its next use."""
        if not db.in_transaction:
            return
        try:
            db.execute("ROLLBACK")
        except sqlite3.Error:
            with self._lock:
                self._connections.discard(db)
            if getattr(self._local, "db", None) is db:
                self._local.db = None
            db.close()

    def _raise_disk_refusal(self, exc: BaseException) -> None:
        """Raise StoreWriteFailed, from ``exc``, when the disk refused the write (else return)."""
        failed = self.disk_refusal(exc)
        if failed is not None:
            raise failed from exc

    def disk_refusal(self, exc: BaseException) -> StoreWriteFailed | None:
        """``exc`` as this store's StoreWriteFailed when it is the disk refusing a write, else None."""
        if not isinstance(exc, sqlite3.Error) or (full := disk_refused(exc)) is None:
            return None
        return self._write_failed(exc.sqlite_errorname, full=full)

    def _write_failed(self, detail: str, *, full: bool) -> StoreWriteFailed:
        """This store's StoreWriteFailed: the data directory is where its disk is."""
        return StoreWriteFailed(self.data_dir, detail, full=full, earlier_commits=self._thread_commits())

    def _busy(self, detail: str) -> StoreBusy:
        """This store's StoreBusy: the write lock of the data directory's database."""
        return StoreBusy(self.data_dir, detail, earlier_commits=self._thread_commits())

    @contextlib.contextmanager
    def _nested(self, db: sqlite3.Connection) -> Iterator[None]:
        """Nested use (a service calling another): a savepoint inside the outer transaction, so a
        refused inner step undoes only its own writes."""
        name = f"nested_{id(db):x}_{self._savepoints}"
        self._savepoints += 1
        db.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            # A failure that already ended the transaction has no savepoint to return to.
            if db.in_transaction:
                db.execute(f"ROLLBACK TO SAVEPOINT {name}")
                db.execute(f"RELEASE SAVEPOINT {name}")
            raise
        else:
            db.execute(f"RELEASE SAVEPOINT {name}")

    @staticmethod
    def _begin_without_waiting(db: sqlite3.Connection) -> None:
        """BEGIN IMMEDIATE that fails at once (WriteWouldWait) if another process holds the store."""
        db.execute("PRAGMA busy_timeout = 0")
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY:
                raise WriteWouldWait from exc
            raise
        finally:
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    def _start_checkpointer(self) -> None:
        with self._lock:
            if self._checkpointer is not None:
                return
            self._stop.clear()
            self._checkpointer = threading.Thread(target=self._checkpoint_loop, name="workbench-checkpoint", daemon=True)
            self._checkpointer.start()

    def _checkpoint_loop(self) -> None:
        """Upkeep off the write path, soon after this process's writes: PASSIVE checkpoints (never
        wait for readers or block writers), and the search index's documents that writes left
        waiting (``_index_pending``)."""
        conn = self._connect()
        seen = 0
        try:
            while True:
                self._wake.wait(CHECKPOINT_EVERY_S)
                self._wake.clear()
                if self._stop.is_set():
                    break
                if self._writes != seen:
                    seen = self._writes
                    self._checkpoint(conn)
                    if self.index_in_upkeep:
                        self._index_pending(conn)
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        """A PASSIVE checkpoint: it never waits for readers or blocks writers."""
        self._checkpointed = self._writes
        with contextlib.suppress(sqlite3.Error):
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _upkeep_turn(self, conn: sqlite3.Connection) -> None:
        """Before each of the upkeep's writes: this process's writers waiting for the lock go
        first, and the WAL those writes grow is checkpointed as they grow it.

        The lock is not fair: the upkeep writing back to back took it again before a waiting
        writer's thread woke, and a triage action waited through 20 to 40 of its writes (75 ms).
        And this thread is the checkpointer: while it indexed a pulled store nothing else
        checkpointed, so every ~500th commit ran SQLite's own checkpoint inline (40-60 ms, and a
        writer queued behind it waited as long)."""
        self._none_waiting.wait(BUSY_TIMEOUT_MS / 1000)
        if self._wake.is_set() or self._writes - self._checkpointed >= UPKEEP_CHECKPOINT_EVERY:
            self._wake.clear()
            self._checkpoint(conn)

    def _index_pending(self, conn: sqlite3.Connection) -> None:
        """Re-index what writes left waiting (``storage.inbox.index_pending``, then
        ``storage.annotations.index_text_pending``), a batch per write transaction, so the
        writers it queues ahead of wait little, and after each batch merge what the segments call
        for (``merge_search_step``). A write that adds a segment itself leaves rows for a batch too (a
        new annotation's inbox document comes with its row for the text index), so a round with
        nothing to index has nothing to merge, and takes no write lock. A failure (the store busy
        past the timeout) leaves them waiting for the next round or the next search."""
        from storage import annotations, inbox

        kinds = (
            (inbox.search_pending, inbox.index_pending, inbox.INDEX_BATCH),
            (annotations.text_pending, annotations.index_text_pending, annotations.TEXT_INDEX_BATCH),
        )
        with contextlib.suppress(sqlite3.Error):
            for pending, index, batch in kinds:
                while not self._stop.is_set() and pending(conn):
                    self._upkeep_turn(conn)
                    with self.write() as db:
                        index(db, batch)
                    self._merge_search(conn)

    def _merge_search(self, conn: sqlite3.Connection) -> None:
        while not self._stop.is_set():
            self._upkeep_turn(conn)
            if not self.merge_search_step():
                break

    def merge_search_step(self) -> bool:
        """One step of the search indexes' merging (``storage.search_merge.step``) in a write
        transaction of its own: whether it had one to make. When none has, the transaction rolls
        back, so it commits nothing that would wake this process's upkeep or another's readers."""
        from storage import search_merge

        try:
            with self.write() as db:
                if not search_merge.step(db):
                    raise _NothingToMerge
        except _NothingToMerge:
            return False
        return True

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for several SELECTs (WAL readers never block the writer)."""
        db = self.db
        if db.in_transaction:
            yield db
            return
        db.execute(self._BEGIN_READ)
        try:
            yield db
        finally:
            if db.in_transaction:
                db.execute("COMMIT")

    def hold_boot(self, boot_id: str) -> None:
        """Mark the serving process ``boot_id`` alive for as long as it runs (see ``boot_alive``)."""

    def boot_alive(self, boot_id: str) -> bool:
        """Whether the server process that started as ``boot_id`` still runs. One SQLite file has
        one server: any boot but the caller's own is a process that has stopped."""
        return False

    def version(self) -> tuple[int, int]:
        """A value that moves whenever any connection, of any process, commits to this store."""
        return data_version.data_version(self.path)

    def auth_version(self, version: tuple[int, int]) -> object:
        """A value that moves whenever what an API token's authentication reads changes (its
        token, its workspace: storage/schema.py ``m021_auth_changes``), read after ``version``."""
        return data_version.latest(self.path, "SELECT n FROM auth_changes") or 0

    def known_version(self) -> tuple[int, int] | None:
        """``version()`` when it needs no round trip: always, on SQLite (a PRAGMA in this process)."""
        return self.version()

    def version_watch(self) -> Any:
        """What keeps PostgreSQL's version pushed to this process (storage/pg_versions.py); SQLite's needs none."""
        return None

    def version_reader(self) -> Any:
        """PostgreSQL's awaitable version (storage/pg.py); SQLite's ``version()`` needs none."""
        raise NotImplementedError("SQLite's version is read in the process: call version()")

    def loop_reads(self) -> Any:
        """PostgreSQL's awaitable reads (storage/pg.py); SQLite reads in the process, on the loop."""
        raise NotImplementedError("SQLite's reads are local: read on the loop")

    def put_blob(self, key: str, data: bytes) -> None:
        """Keep an upload's bytes as a file under the data directory; a crash leaves the old or the new.

        Durable before it returns: the row naming the file commits next, and the checkpointer
        fsyncs that within half a second, while the kernel may hold the file's data for 30 s; a
        power loss in between left a resolution or screenshot whose file was empty."""
        path = self.upload_path(key)
        tmp = path.with_name(path.name + ".part")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            _fsync_dir(path.parent)  # the new name, or the file is whole but unnamed after a power loss
        except OSError as exc:
            tmp.unlink(missing_ok=True)  # a part written up to a full disk is no upload, and holds space
            if exc.errno not in DISK_ERRNOS:
                raise
            raise self._write_failed(exc.strerror or str(exc), full=exc.errno in (errno.ENOSPC, errno.EDQUOT)) from exc

    def get_blob(self, key: str) -> bytes | None:
        """An upload's bytes, or None if there are none under ``key``."""
        try:
            return self.upload_path(key).read_bytes()
        except (FileNotFoundError, ValueError):
            return None

    def upload_path(self, key: str) -> Path:
        """Where the bytes of an uploaded object live; refuses keys that would escape the dir."""
        target = (self.uploads_dir / key).resolve()
        if not str(target).startswith(str(self.uploads_dir.resolve()) + os.sep):
            raise ValueError("upload key escapes the uploads directory")
        return target
