"""psycopg connections speaking the part of ``sqlite3.Connection`` the repositories use, and what a
failure of theirs means and says: PostgreSQL's errors as SQLite's types (a duplicate id, a lock not
had in time, the disk full), the database out of reach, and a database URL in a message with its
password masked. The store built on them is storage/pg.py.
"""

from __future__ import annotations

import contextlib
import re
import select
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, LiteralString, TypeVar, cast
from urllib.parse import unquote

import psycopg
from psycopg import pq
from psycopg.adapt import Dumper

from storage.pg_sql import translate

T = TypeVar("T")

def sql_text(sql: str) -> LiteralString:
    """Our own statement text, for psycopg's signature that asks for a literal: these statements are
    built from the repositories' constants and generated names, never from a request's text."""
    return cast(LiteralString, sql)


class BoolAsInt(Dumper):
    """True/False as 1/0: the schema keeps SQLite's integer flags, which a boolean would not fit."""

    oid = psycopg.adapters.types["int8"].oid

    def dump(self, obj: bool) -> bytes:
        return b"1" if obj else b"0"


def _integrity_error(exc: psycopg.errors.IntegrityError) -> sqlite3.IntegrityError:
    """PostgreSQL's constraint error in SQLite's words (``UNIQUE constraint failed: table.column``),
    PostgreSQL's own after them: callers and logs read one family of messages on both engines."""
    diag = exc.diag
    table = diag.table_name or "?"
    if isinstance(exc, psycopg.errors.UniqueViolation):
        # DETAIL reads "Key (a, b)=(…) already exists."; SQLite names each column as table.column.
        found = re.match(r"Key \((.*?)\)=", diag.message_detail or "")
        columns = [c.strip() for c in found.group(1).split(",")] if found else [diag.constraint_name or "?"]
        words = "UNIQUE constraint failed: " + ", ".join(f"{table}.{c}" for c in columns)
    elif isinstance(exc, psycopg.errors.ForeignKeyViolation):
        words = "FOREIGN KEY constraint failed"
    elif isinstance(exc, psycopg.errors.NotNullViolation):
        words = f"NOT NULL constraint failed: {table}.{diag.column_name or '?'}"
    elif isinstance(exc, psycopg.errors.CheckViolation):
        words = f"CHECK constraint failed: {diag.constraint_name or '?'}"
    else:
        words = "constraint failed"
    return sqlite3.IntegrityError(f"{words} ({diag.message_primary or exc})")


class _Cursor:
    """What the repositories read from ``execute``: rows as tuples, ``rowcount``, iteration."""

    __slots__ = ("_cur",)

    def __init__(self, cur: psycopg.Cursor[Any]) -> None:
        self._cur = cur

    def fetchone(self) -> Any:
        return self._cur.fetchone() if self._cur.description is not None else None

    def fetchall(self) -> list[Any]:
        return self._cur.fetchall() if self._cur.description is not None else []

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount


def disk_error(exc: psycopg.Error) -> sqlite3.OperationalError | None:
    """The database server's disk refusing a write, as SQLite's own (SQLITE_FULL, SQLITE_IOERR),
    which ``Store.write`` turns into StoreWriteFailed; None for any other error.

    Only the disk: 53100 ``disk_full`` (PostgreSQL's ENOSPC, on a table, its WAL or a temporary
    file) and 58030 ``io_error``. The rest of class 53 is not a write the disk refused: out of
    memory (53200) and too many connections (53300) refuse any statement, a read as much as a
    write, and freeing disk space would not help; they stay the driver's errors."""
    if isinstance(exc, psycopg.errors.DiskFull):
        full, words = True, "database or disk is full"
    elif isinstance(exc, psycopg.errors.IoError):
        full, words = False, "disk I/O error"
    else:
        return None
    error = sqlite3.OperationalError(f"{words} ({exc})")
    error.sqlite_errorcode = sqlite3.SQLITE_FULL if full else sqlite3.SQLITE_IOERR
    # What reported it, as StoreWriteFailed quotes it: the SQLSTATE, and PostgreSQL's words (which file).
    error.sqlite_errorname = f"SQLSTATE {exc.sqlstate}: {exc.diag.message_primary or exc}"
    return error


# The server going away: its shutdown or crash ending the session (57P01-57P03), the connection
# lost or refused (class 08), or psycopg's own word for it, an OperationalError with no SQLSTATE.
_GONE = ("57P01", "57P02", "57P03")


def hung_up(raw: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> bool:
    """Whether an idle connection is already known dead: the server closed it (a restart, a crash,
    an administrator's kill), or it spoke unasked, which an idle session only does to say goodbye.
    One poll of its socket, no round trip, so a request is never the one that finds out by failing.
    A connection in a transaction or mid-statement answers False: what arrives there is a reply."""
    if raw.closed:
        return True
    if raw.pgconn.transaction_status != pq.TransactionStatus.IDLE:
        return False
    poller = select.poll()
    poller.register(raw.pgconn.socket, select.POLLIN)
    return bool(poller.poll(0))


def unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database server cannot be reached now (stopped, restarting, the
    network), not that a statement failed: the request may be tried again, and the store's next
    round trip opens a new connection."""
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate
    return state is None or state.startswith("08") or state in _GONE


def when_reachable(attempt: Callable[[], T], stop: threading.Event, every: float, *,
                   lost: Callable[[BaseException], None], back: Callable[[], None]) -> T | None:
    """``attempt()``, tried again every ``every`` seconds while the database cannot be reached (any
    other error is raised), until ``stop`` is set (then None). ``lost`` hears the first failure and
    ``back`` the success after one: an outage is two lines in a log, not one a try."""
    said = False
    while True:
        try:
            result = attempt()
        except Exception as exc:
            if not unreachable(exc):
                raise
            if not said:
                lost(exc)
                said = True
            if stop.wait(every):
                return None
            continue
        if said:
            back()
        return result


def commit_unknown(exc: BaseException) -> bool:
    """Whether ``exc`` lost the connection while a write's COMMIT was out: it may have been saved."""
    return bool(getattr(exc, "commit_unknown", False))


@contextlib.contextmanager
def as_sqlite_errors() -> Iterator[None]:
    """PostgreSQL's errors as the sqlite3 types the use cases catch (a duplicate id, a foreign key,
    a lock not had in time, the disk full): one family for both engines."""
    try:
        yield
    except psycopg.errors.IntegrityError as exc:
        raise _integrity_error(exc) from exc
    except psycopg.errors.LockNotAvailable as exc:
        raise sqlite3.OperationalError(f"database is locked ({exc})") from exc
    except (psycopg.errors.DiskFull, psycopg.errors.IoError) as exc:
        raise cast(sqlite3.OperationalError, disk_error(exc)) from exc


class PgConnection:
    """One psycopg connection, answering the part of ``sqlite3.Connection`` the repositories use."""

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> _Cursor:
        with as_sqlite_errors():
            return _Cursor(self.raw.execute(sql_text(translate(sql)), params))

    def together_first(self, script: str) -> tuple[Any, ...]:
        """``together``, answering the first statement's first row."""
        with as_sqlite_errors():
            row = self.raw.execute(sql_text(script)).fetchone()
        assert row is not None
        return tuple(row)

    def together_last(self, script: str) -> tuple[Any, ...]:
        """``together``, answering the last statement's first row."""
        with as_sqlite_errors():
            cur = self.raw.execute(sql_text(script))
            while cur.nextset():
                pass
            row = cur.fetchone()
        assert row is not None
        return tuple(row)

    def together(self, script: str) -> None:
        """Statements of PostgreSQL's own, without parameters, sent in one round trip (the simple
        query protocol): what a write does at its start and end, while other writers wait."""
        with as_sqlite_errors():
            self.raw.execute(sql_text(script))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> _Cursor:
        cur = self.raw.cursor()
        with as_sqlite_errors():
            cur.executemany(sql_text(translate(sql)), rows)
        return _Cursor(cur)

    def executescript(self, script: str) -> None:
        """Statements in PostgreSQL's own dialect (the schema), run as they are."""
        self.raw.execute(sql_text(script))

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != pq.TransactionStatus.IDLE

    def close(self) -> None:
        self.raw.close()


def redact(url: str) -> str:
    """The URL with any password replaced, for messages and cache keys: the user's (``***``) and a
    ``?password=`` parameter (dropped), each on its own; the host is kept as written (an IPv6 one
    in brackets). Read as text, never refused: the user's part runs to the last ``@``, so a
    password with an unencoded ``@``, ``/``, ``?`` or ``#`` (where URL parsers and libpq each cut
    it elsewhere) is masked whole, and a URL no parser reads (an unclosed bracket) is masked too."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    userinfo, at, after = rest.rpartition("@")
    if at and ":" in userinfo:
        rest = f"{userinfo.split(':', 1)[0]}:***@{after}"
    head, question, query = rest.partition("?")
    kept = "&".join(p for p in query.split("&") if not p.lower().startswith("password="))
    return f"{scheme}{sep}{head}{question if kept else ''}{kept}"


def _secrets(url: str) -> list[str]:
    """What of ``url`` no message may show: its password as written and decoded, and the pieces a
    parser may cut it into at the URL's delimiters (libpq quotes a "host" that is a password's
    tail), longest first; pieces shorter than 3 characters would mask ordinary words."""
    _, _, rest = url.partition("://")
    userinfo, at, _ = rest.rpartition("@")
    whole = [userinfo.split(":", 1)[1]] if at and ":" in userinfo else []
    whole += [p.split("=", 1)[1] for p in rest.partition("?")[2].split("&") if p.lower().startswith("password=")]
    pieces = {piece for secret in whole for form in (secret, unquote(secret)) for piece in (form, *re.split(r"[@/?#:&]", form))}
    return sorted((p for p in pieces if len(p) >= 3), key=len, reverse=True)


def cause(exc: BaseException, url: str) -> str:
    """What one log or error line says of a database failure: the first line of the driver's
    message (the error's type if it has none), ``url`` in it redacted, since it may quote it, and
    the password masked wherever else it appears (libpq quotes the part of a URL it could not read)."""
    line = (str(exc).replace(url, redact(url)).strip().splitlines() or [type(exc).__name__])[0]
    for secret in _secrets(url):
        line = line.replace(secret, "***")
    return line
