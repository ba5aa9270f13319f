"""A full disk for tests, as root or not, with nothing mounted: for another process, for a store in this one, or for a PostgreSQL database (``pg_disk_full``).

``limited(argv, limit)`` is ``argv`` started under ``RLIMIT_FSIZE = limit`` (the soft limit; the
hard one is left, so ``lift`` can give the space back to the running process), with SIGXFSZ
ignored so a write past the limit fails with EFBIG instead of killing the process. The limit
holds at any offset of any regular file: SQLite's WAL, the database, an upload's bytes.

Why this and not another full disk:
- a small file system (tmpfs, a loop device) needs mounting, which CI's root could do but a
  developer's account cannot;
- ``PRAGMA max_page_count`` is per connection, and the process under test opens its own;
- a file-size limit is the kernel refusing the process's own writes, so SQLite, Python's file
  writes and the code above them take their real error paths. The one difference from a full
  disk is the errno: EFBIG, which SQLite's unix VFS reports as SQLITE_IOERR_WRITE ("disk I/O
  error") where ENOSPC gives SQLITE_FULL. The front ends treat both as a write the disk refused;
  SQLITE_FULL itself is met with ``pages_capped``, in process.

The limit must leave room for what the process writes before the write under test: SQLite's
shared-memory index (``workbench.db-shm``, 32 KiB) is made on the first read.
"""

from __future__ import annotations

import resource
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from storage.db import Store

SHM_BYTES = 32 * 1024  # workbench.db-shm: the least a limit may allow for the store to be read at all

# Runs in the child: the limit and the signal disposition survive exec, and so does the pid,
# written first (when a file is named) for ``lift``.
_WRAPPER = (
    "import os, resource, signal, sys\n"
    "if sys.argv[2]:\n"
    "    open(sys.argv[2], 'w').write(str(os.getpid()))\n"
    "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
    "hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]\n"
    "resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), hard))\n"
    "os.execv(sys.argv[3], sys.argv[3:])\n"
)


def limited(argv: list[str], limit: int, pid_file: Path | None = None) -> list[str]:
    """``argv`` (an executable path first) run with every file write stopped at ``limit`` bytes;
    its pid goes to ``pid_file`` when one is named."""
    return [sys.executable, "-c", _WRAPPER, str(limit), str(pid_file or ""), *argv]


def lift(pid: int) -> None:
    """Space freed: the running process ``pid`` may write files of any size again."""
    hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)[1]
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (hard, hard))


@contextmanager
def pages_capped(store: Store) -> Iterator[Callable[[], None]]:
    """``store``'s disk full for this process's writes, until the ``free`` it gives is called (or the block ends).

    No connection of the store may grow the database beyond its pages of the moment: SQLite's
    ``max_page_count``, which is per connection, so it is set on those open (worker threads are
    pooled and keep theirs) and on each one opened meanwhile. A write that needs new pages then
    fails in SQLite's pager with SQLITE_FULL, the code a full disk gives, after which SQLite rolls
    the whole transaction back itself. (A file-size limit would stop the whole test process's
    writes.) A small write may still find room in pages the store has, so tests write a few
    dozen KB."""
    connect = store._connect
    full = True

    def cap(conn: sqlite3.Connection) -> sqlite3.Connection:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        return conn

    def capped() -> sqlite3.Connection:
        return cap(connect()) if full else connect()

    def free() -> None:
        nonlocal full
        full = False
        for conn in list(store._connections):
            conn.execute("PRAGMA max_page_count = 1073741823")

    for conn in list(store._connections):
        cap(conn)
    store._connect = capped
    try:
        yield free
    finally:
        free()
        del store._connect


def unlimited(argv: list[str], pid_file: Path | None = None) -> list[str]:
    """``limited`` with no limit yet: ``fill`` gives the running process its full disk when a test wants it."""
    return limited(argv, resource.RLIM_INFINITY, pid_file)


def fill(pid: int, limit: int = SHM_BYTES) -> None:
    """The running process ``pid`` (started through ``limited`` or ``unlimited``, so SIGXFSZ is ignored)
    may write no file past ``limit`` bytes from now on, until ``lift``."""
    hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)[1]
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (limit, hard))


def pg_disk_full(url: str, *, room_for_a_claim: bool = False) -> None:
    """The PostgreSQL database at ``url`` refuses writes as its server would on a full disk, until
    ``pg_disk_freed``: a trigger on every table raises SQLSTATE 53100 ``disk_full`` with the
    server's own words, so the code under test meets it from the real driver. (Filling a real
    tablespace needs a small mounted file system, which only root can make.)

    Not the rate limit's counts, which update rows in place. ``room_for_a_claim``: an
    Idempotency-Key's claim (a small row, and the store's version counter, updated in place) still
    fits, its release (a row deleted) no longer does."""
    import psycopg

    from storage.pg_conn import sql_text

    with psycopg.connect(url, autocommit=True) as db:
        db.execute(
            "CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'could not extend file \"base/16384/16385\": No space left on device' "
            "USING ERRCODE = 'disk_full', HINT = 'Check free disk space.'; END $$"
        )
        for (table,) in db.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'rate_buckets'"
        ).fetchall():
            if room_for_a_claim and table == "store_version":
                continue
            # Row by row for the claim's release: the sweep before a claim deletes none, so passes.
            claims = room_for_a_claim and table == "idempotency"
            refused, each = ("DELETE", "ROW") if claims else ("INSERT OR UPDATE OR DELETE", "STATEMENT")
            db.execute(sql_text(f'CREATE TRIGGER disk_full BEFORE {refused} ON "{table}" FOR EACH {each} EXECUTE FUNCTION disk_full()'))


def pg_disk_freed(url: str) -> None:
    """Room again on ``url``'s database (``pg_disk_full`` undone)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        db.execute("DROP FUNCTION disk_full() CASCADE")
