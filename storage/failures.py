"""What a store's failure is, in words: the errors every front end says in one line (a store that
cannot open, a write the disk refused, a write another writer kept out), and what a driver's error
means (the disk, the busy timeout, the database file, a PostgreSQL server out of reach). Raised by
the stores (storage/db.py, storage/pg.py); worded by the CLI, the TUI, MCP and the server.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path


class StoreUnusable(OSError):
    """The data directory cannot hold a store: read-only, unwritable, or ``workbench.db`` is not
    a usable SQLite database. ``reason`` says which in words; front ends print it as one line."""

    def __init__(self, data_dir: Path, reason: str) -> None:
        super().__init__(f"cannot open the store in {data_dir}: {reason}")
        self.data_dir = data_dir
        self.reason = reason


class StoreWriteFailed(sqlite3.OperationalError):
    """A write the disk refused after the store opened: full (SQLITE_FULL, ENOSPC; PostgreSQL's
    SQLSTATE 53100), or an I/O error (SQLITE_IOERR, a file-size limit gives this too; PostgreSQL's
    58030). Its transaction was rolled back, so the store holds what it held before that write.
    ``earlier_commits`` is how many writes the failing thread had committed since its unit of
    work began (``Store.begin_unit_of_work``): a command that wrote in several transactions keeps those.

    A subclass of sqlite3's error, so code that steps over a failed write (the search upkeep,
    the checkpointer) still does. Its message is the one line front ends print: what happened,
    where, what to do, and what is left. ``public`` is what a server tells a client instead:
    the same problem without the place (the data directory, the database's URL), which is the
    operator's to know. ``StoreBusy`` is the same for a write another writer kept out."""

    def __init__(self, where: Path | str, detail: str, *, full: bool, earlier_commits: int, database_server: bool = False) -> None:
        """``where``: the data directory, or a PostgreSQL store's label; ``detail``: what reported it
        (SQLite's error name, the OS's words for an upload, PostgreSQL's SQLSTATE and message);
        ``database_server``: the disk is the database server's, not this machine's."""
        self.where = where
        self.full = full
        self.earlier_commits = earlier_commits
        disk = "the database server's disk" if database_server else "the disk"
        self.problem = f"{disk} is full ({detail})" if full else f"a disk I/O error{' on the database server' if database_server else ''} ({detail})"
        # What to do about it (said before "and try again"; the operator's log line ends with it).
        if database_server:
            self.todo = "free space on the database server's disk" if full else "free space on the database server's disk, or check it"
        else:
            self.todo = "free space there" if full else "free space there, or check the disk"
        self.public = (
            f"The server cannot store this now: its {'storage is full' if full else 'storage reported an I/O error'}. "
            "The write was rolled back; try again later."
        )
        super().__init__(self._line(" and" if full else ", and"))

    def _line(self, joint: str) -> str:
        """The front ends' one line: ``cause; todo and try again: what is left``."""
        kept = "nothing was changed" if self.earlier_commits == 0 else "that write was rolled back; what was saved before it stays"
        return f"{self.cause}; {self.todo}{joint} try again: {kept}"

    @property
    def cause(self) -> str:
        """What happened and where, without what to do: ``cannot write to the store in DIR: the disk is full (…)``."""
        return f"cannot write to the store in {self.where}: {self.problem}"

    def for_operator(self, outcome: str) -> str:
        """A server log's one line for it: what happened, where, what to do, then ``outcome``, what
        the server did about the request (``answered POST /api/… with 503``)."""
        return f"{self.cause}; {self.todo}: {outcome}"


class StoreBusy(StoreWriteFailed):
    """A write that waited the whole busy timeout for the store's write lock, held by another
    writer (another process's sync, TUI or command; a PostgreSQL lock past ``lock_timeout``).
    Nothing of that write was made. A StoreWriteFailed, so every front end that words a refused
    write (the CLI's line, MCP's tool error, the server's 503 with ``Retry-After``, the TUI's
    notice) words this one too instead of a traceback; its words say to wait, not to free space."""

    def __init__(self, where: Path | str, detail: str, *, earlier_commits: int) -> None:
        """``where``: the data directory, or a PostgreSQL store's label; ``detail``: what reported it
        (SQLite's error name, PostgreSQL's SQLSTATE, a writer of this process)."""
        self.where = where
        self.full = False
        self.earlier_commits = earlier_commits
        from storage import db  # the store's setting, read when raised (tests shorten it), and db imports this module

        waited = f"{db.BUSY_TIMEOUT_MS / 1000:g} s"
        self.problem = f"another writer has held it for over {waited} ({detail})"
        self.todo = "wait for that writer to finish"
        self.public = (
            f"The server cannot store this now: another write has held its store for over {waited}. "
            "The write was rolled back; try again shortly."
        )
        sqlite3.OperationalError.__init__(self, self._line(" and"))


# What a file write returns when the disk, a quota or a file-size limit refuses it; SQLite's unix
# VFS reports ENOSPC as SQLITE_FULL and the others as SQLITE_IOERR.
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})


def disk_refused(exc: sqlite3.Error) -> bool | None:
    """For an SQLite error the disk caused: True if full, False for an I/O error; else None."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(exc, StoreWriteFailed) or code is None:
        return None
    primary = code & 0xFF  # an extended code (SQLITE_IOERR_WRITE, ...) keeps its primary in the low byte
    return True if primary == sqlite3.SQLITE_FULL else False if primary == sqlite3.SQLITE_IOERR else None


def busy_name(exc: BaseException) -> str | None:
    """SQLite's name for ``exc`` when it is the busy timeout running out (SQLITE_BUSY or an extended
    code of it), else None."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(exc, sqlite3.Error) and code is not None and code & 0xFF == sqlite3.SQLITE_BUSY:
        return exc.sqlite_errorname
    return None


def server_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says a PostgreSQL store's server cannot be reached now (``storage.pg_conn.unreachable``),
    imported only for a psycopg error: a SQLite store has no server, and its front ends need not load psycopg."""
    if not type(exc).__module__.startswith("psycopg"):
        return False
    from storage.pg_conn import unreachable

    return unreachable(exc)


def file_problem(exc: sqlite3.Error) -> str | None:
    """What an SQLite error says about the database file itself, in words, or None for any other
    error (a bug, a constraint): the former is the user's to fix, the latter is not."""
    text = str(exc)
    words = {
        "unable to open database file": "SQLite cannot open it",
        "file is not a database": "not a workbench database",
        "database disk image is malformed": "the database file is damaged",
        "attempt to write a readonly database": "read-only",
        "database or disk is full": "the disk is full",
        "disk I/O error": "a disk I/O error",
    }
    for marker, said in words.items():
        if marker in text:
            return f"{said} ({text})"
    return None
