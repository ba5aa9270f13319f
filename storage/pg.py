"""The Store on PostgreSQL: the same repositories, connections and transactions as storage/db.py.

A team server runs ``workbench serve --database postgresql://…`` with several workers, on
several hosts, over one database. The repositories take a connection and speak SQLite's SQL;
``PgConnection`` (storage/pg_conn.py) gives them psycopg underneath, with each statement rewritten once
(storage/pg_sql.py) and PostgreSQL's errors raised as the ``sqlite3`` ones they already handle.

Transactions keep the semantics every use case was written against: SQLite lets one writer
in at a time (``BEGIN IMMEDIATE``), so a use case may read, decide and write without losing a
race. Here each write transaction first takes one transaction-scoped advisory lock, so writers
from every process and host queue the same way, while readers never wait (MVCC). ``read()``
is a REPEATABLE READ snapshot, like a SQLite read transaction.

Every write also moves ``store_version``'s counter in its own transaction: ``version()`` is
what caches (page cache, token cache, counts) compare, across all processes, and it moves
exactly when a commit becomes visible.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import psycopg

from storage import db as sqlite_store
from storage import pg_versions
from storage.failures import StoreBusy, StoreWriteFailed
from storage.pg_conn import BoolAsInt, PgConnection, as_sqlite_errors, cause, hung_up, redact, sql_text, unreachable
from storage.pg_sql import translate

T = TypeVar("T")

log = logging.getLogger("workbench.server")

# Any constant names "the writers' lock"; both engines' stores of one database agree on it.
WRITERS_LOCK = 0x5742_5752  # "WBWR"
# A write waits this long for the writers' lock, as SQLite's busy timeout does.
LOCK_TIMEOUT_MS = sqlite_store.BUSY_TIMEOUT_MS
# The connections that hold serving processes' boots (``hold_boot``) go by this name in
# pg_stat_activity; each process checks this often that its own is still there.
BOOT_NAME = "workbench boot"
BOOT_CHECK_S = 1.0


def _boot_key(boot_id: str) -> int:
    """A server process's boot id as a 64-bit advisory-lock key."""
    return int.from_bytes(hashlib.sha256(b"workbench-boot:" + boot_id.encode()).digest()[:8], "big", signed=True)


def _close_quietly(raw: psycopg.Connection[Any]) -> None:
    """Close a connection its thread left behind; one its server already dropped has nothing to say."""
    with contextlib.suppress(psycopg.Error):
        raw.close()


class PgStore(sqlite_store.Store):
    """Connections, transactions and blobs of one PostgreSQL database (the ``Store`` interface)."""

    dialect = "postgresql"
    # ``read()``'s snapshot: SQLite's read transaction sees one state of the store, so does this.
    _BEGIN_READ = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

    def __init__(self, url: str, data_dir: Path | str | None = None, *, migrate: bool = True) -> None:
        # A different engine: nothing of SQLite's setup in Store.__init__ applies.
        self.url = url
        self.label = redact(url)
        # Local files only: a lock for `workbench sync` and the like. Shared data lives in the database.
        self.data_dir = Path(data_dir).expanduser().resolve() if data_dir is not None else Path.cwd()
        # A cache key naming this database (the server's caches are keyed by a store's path).
        self.path = Path("/postgresql") / self.label.replace("/", "_")
        self.uploads_dir = self.data_dir / "uploads"
        self._local = threading.local()
        self._lock = threading.Lock()
        # This process's writers queue here, as SQLite's do (Store._write_lock), and only the one
        # at the head asks for the writers' lock: the others wait without a round trip, a
        # database session or a wake-up each time the lock changes hands.
        self._write_lock = threading.Lock()
        self._connections: weakref.WeakSet[PgConnection] = weakref.WeakSet()  # pyright: ignore[reportIncompatibleVariableOverride]  # this engine's connections
        self._savepoints = 0
        # (boot id, the connection holding its lock), and what keeps them held (``hold_boot``).
        self._boots: list[tuple[str, PgConnection]] = []
        self._boots_kept: threading.Event | None = None
        if migrate:
            from storage.pg_schema import migrate as _migrate

            _migrate(self)

    def _connect_pg(self, application_name: str | None = None) -> PgConnection:
        if application_name is None:
            raw = psycopg.connect(self.url, autocommit=True)
        else:
            raw = psycopg.connect(self.url, autocommit=True, application_name=application_name)
        raw.adapters.register_dumper(bool, BoolAsInt)
        raw.execute(sql_text(f"SET lock_timeout = {LOCK_TIMEOUT_MS}"))
        return PgConnection(raw)

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use, and again once its server hung up)."""
        conn = getattr(self._local, "db", None)
        if conn is None or hung_up(conn.raw):
            if conn is not None:
                # A restarted server closed it while it sat idle: replaced before anything is
                # sent, so the request that finds it costs a connect instead of failing with a 503.
                with contextlib.suppress(psycopg.Error):
                    conn.close()
            conn = self._connect_pg()
            self._local.db = conn
            # A thread's locals go when it ends (a threadpool worker idle too long, any short-lived
            # thread), and its connection with them: closed then, not left to psycopg's finaliser,
            # which warns (ResourceWarning) and drops the session unannounced. Not at exit: a forked
            # child would close its parent's sessions.
            weakref.finalize(conn, _close_quietly, conn.raw).atexit = False
            with self._lock:
                self._connections.add(conn)
        # The repositories are typed against sqlite3's connection; PgConnection answers the part they use.
        return cast(sqlite3.Connection, conn)

    def close(self) -> None:
        with self._lock:
            # Set under the lock: a keeper that has just taken a boot again closes it rather than keep it.
            if self._boots_kept is not None:
                self._boots_kept.set()
                self._boots_kept = None
            boots, self._boots = self._boots, []
        for _, conn in boots:
            with contextlib.suppress(psycopg.Error):
                conn.close()
        with self._lock:
            for conn in list(self._connections):
                with contextlib.suppress(psycopg.Error):
                    conn.close()
            self._connections.clear()
        self._local = threading.local()

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, behind the writers' lock of every process on this database."""
        db = self.db
        if sqlite_store.without_waiting.get():
            # The event loop must never wait on the network or another host's lock: the caller
            # runs its write in the threadpool instead (server/writer.py).
            sqlite_store.without_waiting.set(False)
            raise sqlite_store.WriteWouldWait
        if db.in_transaction:
            with self._nested(db):
                yield db
            return
        hook = sqlite_store.write_hook.get()
        pg = cast(PgConnection, db)
        if not self._write_lock.acquire(timeout=LOCK_TIMEOUT_MS / 1000):
            raise self._busy("a writer of this process")
        try:
            # Each round trip between taking the lock and committing is time every other writer
            # waits: the start and the end go in one each.
            # The lock, and where auth_changes stood (a revocation waits for every process to hear it).
            pg, auth_before = self._begin(pg, lambda c: c.together_last(
                f"BEGIN; SELECT {pg_versions.AUTH_BEFORE}, pg_advisory_xact_lock({WRITERS_LOCK})")[0])
            db = cast(sqlite3.Connection, pg)
            if hook is not None:
                hook.begin(db)
            yield db
            if hook is not None:
                hook.before_commit(db)
            try:
                committed = pg.together_first(pg_versions.bump_and_commit(auth_before))
            except psycopg.OperationalError as exc:
                if unreachable(exc):
                    # The COMMIT may have reached the server before the connection was lost: the
                    # write's fate is unknown, and whoever answers for it must not say it failed.
                    exc.commit_unknown = True  # pyright: ignore[reportAttributeAccessIssue]  # read by commit_unknown()
                raise
        except BaseException as exc:
            if db.in_transaction:
                with contextlib.suppress(psycopg.Error, sqlite3.Error):
                    db.execute("ROLLBACK")
            self._raise_disk_refusal(exc)
            if isinstance(exc.__cause__, psycopg.errors.LockNotAvailable):  # as_sqlite_errors' "database is locked"
                raise self._busy(f"SQLSTATE {exc.__cause__.sqlstate}") from exc
            raise
        finally:
            self._write_lock.release()
        self._local.commits = self._thread_commits() + 1
        pg_versions.committed(self.url, int(committed[0]))
        if committed[2] is not None:
            pg_versions.settle(pg.raw, int(committed[0]), int(committed[2]))

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A REPEATABLE READ snapshot (Store.read), its BEGIN tried again once on a fresh connection
        when the connection turns out lost."""
        db = self.db
        if db.in_transaction:
            yield db
            return
        pg, _ = self._begin(cast(PgConnection, db), lambda c: c.execute(self._BEGIN_READ))
        db = cast(sqlite3.Connection, pg)
        try:
            yield db
        finally:
            if db.in_transaction:
                db.execute("COMMIT")

    def _begin(self, pg: PgConnection, start: Callable[[PgConnection], T]) -> tuple[PgConnection, T]:
        """``start(pg)``, a transaction's first round trip, and once more on a new connection if
        ``pg`` turned out lost (a server gone without a word, which ``hung_up`` cannot see). Safe
        to repeat because it is the first: the lost connection had no transaction open, so
        nothing on it can have committed. Never a later statement, nor a COMMIT, whose fate is unknown."""
        try:
            return pg, start(pg)
        except psycopg.OperationalError as exc:
            if not unreachable(exc):
                raise
            with contextlib.suppress(psycopg.Error):
                pg.close()
            fresh = cast(PgConnection, self.db)
            return fresh, start(fresh)

    def hold_boot(self, boot_id: str) -> None:
        """Hold a session advisory lock named by ``boot_id`` on a connection of its own for the
        process's life: PostgreSQL lets it go when the process dies, however it dies. And when the
        connection does (a database restart, an administrator's kill), with the process alive:
        a thread takes it again once the database answers, or every other process would take this
        one's claims in flight for a dead process's, free to run again while they still run."""
        conn = self._lock_boot(boot_id)
        with self._lock:
            self._boots.append((boot_id, conn))
            if self._boots_kept is None:
                self._boots_kept = threading.Event()
                threading.Thread(target=self._keep_boots, args=(self._boots_kept,), name="workbench-boot-keeper",
                                 daemon=True).start()

    def _lock_boot(self, boot_id: str) -> PgConnection:
        conn = self._connect_pg(application_name=BOOT_NAME)
        try:
            conn.execute(f"SELECT pg_advisory_lock({_boot_key(boot_id)})")
        except BaseException:
            conn.close()
            raise
        return conn

    def _keep_boots(self, closed: threading.Event) -> None:
        """Until the store closes, take again each boot whose connection the server hung up on. No
        line of its own while the database is out of reach: the job claimer and the version watch
        say so; another failure is said once per boot until it is held again."""
        said: set[str] = set()
        while not closed.wait(BOOT_CHECK_S):
            with self._lock:
                boots = list(self._boots)
            for boot_id, conn in boots:
                try:
                    lost = hung_up(conn.raw)
                except psycopg.Error:  # closed by ``close`` between its two looks: taken for lost, then dropped below
                    lost = True
                if not lost or closed.is_set():
                    continue
                try:
                    fresh = self._lock_boot(boot_id)
                except (psycopg.Error, sqlite3.Error) as exc:  # a lock timeout is sqlite3's (as_sqlite_errors)
                    if not unreachable(exc) and boot_id not in said:
                        said.add(boot_id)
                        log.error("cannot hold this serving process's liveness lock on the database %s again (%s); "
                                  "trying every %s s", self.label, cause(exc, self.url), BOOT_CHECK_S)
                    continue
                said.discard(boot_id)
                with self._lock:
                    kept = not closed.is_set() and (boot_id, conn) in self._boots
                    if kept:
                        self._boots[self._boots.index((boot_id, conn))] = (boot_id, fresh)
                for gone in (conn,) if kept else (conn, fresh):
                    with contextlib.suppress(psycopg.Error):
                        gone.close()

    def boot_alive(self, boot_id: str) -> bool:
        """Whether the process holding ``boot_id``'s lock still runs (the lock is free once it died)."""
        key = _boot_key(boot_id)
        free = self.db.execute(f"SELECT pg_try_advisory_lock({key})").fetchone()[0]
        if free:
            self.db.execute(f"SELECT pg_advisory_unlock({key})")
        return not free

    def version(self) -> tuple[int, int]:
        """A value that moves whenever any process commits a write to this database: what this
        process's version watch holds when it runs and vouches for it (storage/pg_versions.py),
        else read."""
        known = pg_versions.known(self.url)
        if known is not None:
            return known
        row = self.db.execute("SELECT n FROM store_version").fetchone()
        return 0, int(row[0])

    def known_version(self) -> tuple[int, int] | None:
        """``version()`` when it needs no round trip (the watch vouches for it), else None."""
        return pg_versions.known(self.url)

    def version_watch(self) -> pg_versions.VersionWatch:
        """The process's watch of this database's version, for the server's event loop to ``run``."""
        return pg_versions.watch_for(self.url)

    def auth_version(self, version: tuple[int, int]) -> object:
        """``version`` itself: PostgreSQL's counter already moves with every commit, and reading
        ``auth_changes`` would be a round trip where callers run on the event loop."""
        return version

    def version_reader(self) -> VersionReader:
        """An awaitable ``version()`` for one event loop, on a connection of its own (see VersionReader)."""
        return VersionReader(self.url)

    def loop_reads(self) -> LoopReads:
        """Awaitable reads for one event loop, on a few connections of their own (see LoopReads)."""
        return LoopReads(self.url)

    def put_blob(self, key: str, data: bytes) -> None:
        """Keep an upload's bytes in the database, where every host can read them.

        No connection lost here is marked ``commit_unknown``: what a client sees is the ``uploads``
        row that names the blob, never the blob. Inside a write (an upload's PUT) the INSERT is
        that transaction's, whose COMMIT is marked. Outside one (a widget's screenshot, a file
        attached offline) it commits alone before the row's transaction, and its caller raises
        before that transaction begins: the client's change was not saved, as the 503 says, and
        bytes it may have left are a blob no row names, as a process killed between the two
        leaves: swept once an hour old (storage/upload_sweep.py), by ``stored_at``."""
        try:
            self.db.execute(
                "INSERT INTO blobs(key, data) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET data = excluded.data, stored_at = excluded.stored_at",
                [key, data],
            )
        except sqlite3.Error as exc:
            self._raise_disk_refusal(exc)
            raise

    def _write_failed(self, detail: str, *, full: bool) -> StoreWriteFailed:
        """This store's StoreWriteFailed: the disk is the database server's, named by the URL without its password."""
        return StoreWriteFailed(self.label, detail, full=full, earlier_commits=self._thread_commits(), database_server=True)

    def _busy(self, detail: str) -> StoreBusy:
        """This store's StoreBusy, naming the database by its URL without its password."""
        return StoreBusy(self.label, detail, earlier_commits=self._thread_commits())

    def get_blob(self, key: str) -> bytes | None:
        row = self.db.execute("SELECT data FROM blobs WHERE key = ?", [key]).fetchone()
        return None if row is None else bytes(row[0])


class VersionReader:
    """``await read()``: what ``PgStore.version()`` answers, on an asyncio connection, so the event
    loop serves other requests while the database answers instead of stalling on the round trip
    (a thread would wait for the GIL behind the busy loop). One per event loop, on a connection
    of its own (``LoopReads`` of one), so a version read never waits behind a page."""

    def __init__(self, url: str) -> None:
        self._reads = LoopReads(url, size=1)

    @property
    def url(self) -> str:
        """The database its next connection goes to."""
        return self._reads.url

    @url.setter
    def url(self, url: str) -> None:
        self._reads.url = url

    async def read(self) -> tuple[int, int]:
        rows = await self._reads.fetchall("SELECT n FROM store_version")
        return 0, int(rows[0][0])

    async def close(self) -> None:
        await self._reads.close()


class LoopReads:
    """``await fetchall(sql, params)``: a repository's statement (SQLite's SQL, rewritten as
    ``PgConnection`` rewrites it) read on the event loop over asyncio connections, so the loop
    serves other requests meanwhile and no thread waits for the GIL behind it. The hot list's
    uncached pages go here. At most ``size`` statements are out at once (a connection holds
    one); the rest wait their turn. One per event loop."""

    def __init__(self, url: str, size: int = 4) -> None:
        self.url = url
        self.size = size
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._slots: asyncio.Semaphore | None = None

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.size)  # made on the loop that uses it
        async with self._slots:
            for attempt in (1, 2):
                conn = await self._checkout()
                try:
                    with as_sqlite_errors():
                        rows = await (await conn.execute(sql_text(translate(sql)), params)).fetchall()
                except psycopg.OperationalError:
                    await conn.close()
                    if attempt == 2:
                        raise
                    continue  # a connection the server closed (a restart): one retry on a fresh one
                except BaseException:
                    # Whatever else stopped the statement (an error, a cancelled request) may have
                    # left the connection mid-statement: it is not handed out again.
                    await conn.close()
                    raise
                self._idle.append(conn)
                return rows
        raise AssertionError("unreachable")

    async def _checkout(self) -> psycopg.AsyncConnection[Any]:
        """An idle connection its server has not hung up on, else a new one: after a restart every
        idle one is dead, and a retry taking the next would fail as the first did."""
        while self._idle:
            conn = self._idle.pop()
            if not hung_up(conn):
                return conn
            with contextlib.suppress(psycopg.Error):
                await conn.close()
        return await self._connect()

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True, application_name="workbench loop reads")
        conn.adapters.register_dumper(bool, BoolAsInt)
        return conn

    async def close(self) -> None:
        while self._idle:
            await self._idle.pop().close()
