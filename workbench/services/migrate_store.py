"""Moving a SQLite store into PostgreSQL: the copy, its per-table verification, and the dry run.

``workbench admin migrate-store`` is how a laptop's or a small team's store becomes a team
server's database. Every table PostgreSQL's schema has (``storage.pg_schema.target()``) is
copied with its ids and SQLite's rowid (into the ``rowid`` column the lists order by), then
the identity sequences are moved past the largest copied value (and past SQLite's AUTOINCREMENT
counter, so an id deleted in SQLite is never handed out again). The uploads directory's files
become ``blobs`` rows. Everything is written in one transaction, behind the writers' lock, with
the tables' own triggers off: the derived tables (status counts, change counters) are copied
as they are rather than counted a second time. A failure leaves the target as it was.

Verification reads both sides the same way: per table a row count and a checksum, the sum
(mod 2**256) of each row's SHA-256 over its values normalised to the column's type. A sum does
not depend on row order, which the two engines do not share for text (SQLite compares bytes,
PostgreSQL its collation), and a changed, missing or extra row changes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storage.db import DB_FILENAME, SCHEMA_VERSION, Store

if TYPE_CHECKING:
    import psycopg

BATCH_ROWS = 5_000
BLOBS = "blobs"  # the uploads, as PostgreSQL keeps them; reported beside the tables
# PostgreSQL-only tables a replaced target is emptied of too: queued work and rate buckets of
# the data being replaced would act on rows that are gone.
_SERVER_ONLY = ("jobs", "rate_buckets")
_MOD = 1 << 256

# (what, rows done, rows in all if known): called after each batch, so a caller can draw progress.
ProgressFn = Callable[[str, int, int | None], None]


class MigrateError(Exception):
    """The copy cannot start: the source is missing or outdated, or the target already holds data.

    ``code`` is what a ``--json`` caller reads, in the words every command uses (README, "Scripts")."""

    def __init__(self, message: str, code: str = "usage_error") -> None:
        super().__init__(message)
        self.code = code


@dataclass
class TableReport:
    """One table (or the blobs): rows on each side and the checksums that must agree."""

    name: str
    rows: int
    target_rows: int | None = None
    checksum: str | None = None
    target_checksum: str | None = None

    @property
    def ok(self) -> bool | None:
        """True when count and checksum agree; None when the target was not read (a dry run)."""
        if self.target_rows is None:
            return None
        return self.rows == self.target_rows and self.checksum == self.target_checksum

    def as_json(self) -> dict[str, Any]:
        return {
            "table": self.name, "rows": self.rows, "target_rows": self.target_rows,
            "checksum": self.checksum, "target_checksum": self.target_checksum, "ok": self.ok,
        }


@dataclass
class MigrateReport:
    """What a run copied or would copy, and whether each table verified."""

    source: str
    target: str
    mode: str  # "copy", "verify" or "dry-run"
    tables: list[TableReport] = field(default_factory=list)
    blob_bytes: int = 0
    # A dry run's word on the target: its schema is missing, it is empty, or what it holds.
    target_note: str = ""

    @property
    def ok(self) -> bool:
        return all(t.ok is not False for t in self.tables)

    @property
    def mismatched(self) -> list[str]:
        return [t.name for t in self.tables if t.ok is False]

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source, "target": self.target, "mode": self.mode, "ok": self.ok,
            "mismatched": self.mismatched, "blob_bytes": self.blob_bytes, "target_note": self.target_note,
            "tables": [t.as_json() for t in self.tables],
        }


# -- reading the source ----------------------------------------------------------------------


def open_source(data_dir: Path, *, upgrade: bool) -> Store:
    """The SQLite store of ``data_dir``, brought to this version's schema when ``upgrade``."""
    if not (data_dir / DB_FILENAME).is_file():
        raise MigrateError(f"no SQLite store at {data_dir} (expected {DB_FILENAME} there)", "store_unusable")
    store = Store(data_dir, migrate=False)
    version = store.db.execute("PRAGMA user_version").fetchone()[0]
    if version < SCHEMA_VERSION:
        if not upgrade:
            store.close()
            raise MigrateError(
                f"the store at {data_dir} is at schema {version}, this workbench's is {SCHEMA_VERSION}: "
                "open it once with any workbench command (or run without --dry-run/--verify) to upgrade it"
            )
        store.close()
        store = Store(data_dir)
    return store


def _table_order(db: sqlite3.Connection, tables: Sequence[str]) -> list[str]:
    """``tables`` with every table after the ones its foreign keys name (PostgreSQL checks them per row)."""
    wanted = set(tables)
    deps = {t: {row[2] for row in db.execute(f'PRAGMA foreign_key_list("{t}")') if row[2] in wanted and row[2] != t} for t in tables}
    out: list[str] = []
    placed: set[str] = set()
    while len(out) < len(tables):
        ready = [t for t in tables if t not in placed and deps[t] <= placed]
        if not ready:
            raise MigrateError(f"a foreign-key cycle among {sorted(wanted - placed)}")
        out.extend(ready)
        placed.update(ready)
    return out


def _has_rowid(db: sqlite3.Connection, table: str) -> bool:
    """Whether SQLite keeps a rowid for ``table`` (WITHOUT ROWID tables have none to preserve)."""
    try:
        db.execute(f'SELECT rowid FROM "{table}" LIMIT 0')
    except sqlite3.OperationalError:
        return False
    return True


def _autoincrement_floors(db: sqlite3.Connection) -> dict[str, int]:
    """SQLite's AUTOINCREMENT counters: ids it has handed out, even if their rows are gone."""
    try:
        return {name: int(seq) for name, seq in db.execute("SELECT name, seq FROM sqlite_sequence")}
    except sqlite3.OperationalError:
        return {}


def _blob_files(store: Store) -> list[tuple[str, Path]]:
    """The uploads directory's files as (key, path); a ``.part`` file is an upload that never finished."""
    root = store.uploads_dir
    if not root.is_dir():
        return []
    return sorted(
        (p.relative_to(root).as_posix(), p) for p in root.rglob("*") if p.is_file() and not p.name.endswith(".part")
    )


@dataclass
class _Plan:
    """Per table: the PostgreSQL column names and types, and whether SQLite's rowid comes along."""

    tables: list[str]
    columns: dict[str, dict[str, str]]
    rowid: dict[str, bool]


def _plan(db: sqlite3.Connection) -> _Plan:
    from storage.pg_schema import target

    want = target()
    names = _table_order(db, list(want.tables))
    return _Plan(names, {t: dict(want.columns[t]) for t in names}, {t: _has_rowid(db, t) for t in names})


def _select(plan: _Plan, table: str) -> str:
    cols = [f'"{c}"' for c in plan.columns[table]]
    if plan.rowid[table]:
        cols.append("rowid")
    return f'SELECT {", ".join(cols)} FROM "{table}"'


# -- values, the same on both sides -----------------------------------------------------------


def _types(plan: _Plan, table: str) -> list[str]:
    types = list(plan.columns[table].values())
    return [*types, "BIGINT"] if plan.rowid[table] else types


def _fit(value: Any, pg_type: str) -> Any:
    """A SQLite value as the PostgreSQL column takes it (SQLite may keep 3.0 in an integer column)."""
    if value is None:
        return None
    if pg_type == "BIGINT" and isinstance(value, float) and value.is_integer():
        return int(value)
    if pg_type == "DOUBLE PRECISION" and isinstance(value, int):
        return float(value)
    if pg_type == "BYTEA" and isinstance(value, str):
        return value.encode()
    return value


def _token(value: Any, pg_type: str) -> Any:
    """One value as the checksum sees it: equal values of the two engines give equal tokens."""
    value = _fit(value, pg_type)
    if value is None or (isinstance(value, str | int) and not isinstance(value, bool)):
        return value
    if isinstance(value, float):
        return ["f", repr(value)]
    if isinstance(value, bytes | bytearray | memoryview):
        return ["b", bytes(value).hex()]
    return ["?", type(value).__name__, repr(value)]


def row_digest(row: Sequence[Any], types: Sequence[str]) -> int:
    """One row's SHA-256 as a number, to be summed."""
    tokens = [_token(v, t) for v, t in zip(row, types, strict=True)]
    text = json.dumps(tokens, ensure_ascii=False, separators=(",", ":"))
    return int.from_bytes(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest(), "big")


def _hex(total: int) -> str:
    return f"{total % _MOD:064x}"


def _blob_token(key: str, data: bytes) -> int:
    return row_digest([key, hashlib.sha256(data).hexdigest()], ["TEXT", "TEXT"])


def _batches(cur: sqlite3.Cursor, size: int) -> Iterator[list[Any]]:
    while batch := cur.fetchmany(size):
        yield batch


# -- the target -------------------------------------------------------------------------------


@dataclass
class _Opened:
    """One mode's two ends: the source store, the target's psycopg connection, the plan and the report."""

    source: Store
    raw: psycopg.Connection[Any]
    plan: _Plan
    report: MigrateReport


@contextlib.contextmanager
def _opened(data_dir: Path, url: str, mode: str, *, upgrade: bool) -> Iterator[_Opened]:
    """The store of ``data_dir`` and the database at ``url``, both closed at the end (the source
    too when the target cannot be opened). ``upgrade``: bring the source to this schema and
    create the target's (a copy); without it neither is changed (a dry run, a verify)."""
    from storage.pg import PgStore
    from storage.pg_conn import PgConnection, redact

    with contextlib.ExitStack() as stack:
        source = open_source(data_dir, upgrade=upgrade)
        stack.callback(source.close)
        store = PgStore(url, migrate=upgrade)
        stack.callback(store.close)
        conn: PgConnection = store.db  # pyright: ignore[reportAssignmentType]  # PgStore's connection is a PgConnection
        yield _Opened(source, conn.raw, _plan(source.db), MigrateReport(str(source.path), redact(url), mode))


def _ident(name: str) -> Any:
    from psycopg import sql

    return sql.Identifier(name)


def _existing_tables(raw: psycopg.Connection[Any]) -> set[str]:
    rows = raw.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()").fetchall()
    return {r[0] for r in rows}


def _target_counts(raw: psycopg.Connection[Any], tables: Iterable[str]) -> dict[str, int]:
    from psycopg import sql

    out: dict[str, int] = {}
    for t in tables:
        row = raw.execute(sql.SQL("SELECT count(*) FROM {}").format(_ident(t))).fetchone()
        out[t] = int(row[0]) if row else 0
    return out


def _occupied(raw: psycopg.Connection[Any], plan: _Plan) -> dict[str, int]:
    """The target's tables that already hold rows (the copy refuses them unless told to replace)."""
    have = _existing_tables(raw)
    counts = _target_counts(raw, [t for t in [*plan.tables, BLOBS] if t in have])
    return {t: n for t, n in counts.items() if n}


def _target_checksums(raw: psycopg.Connection[Any], plan: _Plan, progress: ProgressFn | None) -> dict[str, tuple[int, str]]:
    """Count and checksum of every planned table and of the blobs, from one snapshot of the target."""
    from psycopg import sql

    out: dict[str, tuple[int, str]] = {}
    with raw.transaction():
        raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        for t in plan.tables:
            cols = [_ident(c) for c in plan.columns[t]]
            if plan.rowid[t]:
                cols.append(_ident("rowid"))
            types = _types(plan, t)
            total = n = 0
            # A server-side cursor: a million rows stream through instead of landing in memory at once.
            with raw.cursor(name=f"verify_{t}") as cur:
                cur.itersize = BATCH_ROWS
                cur.execute(sql.SQL("SELECT {} FROM {}").format(sql.SQL(", ").join(cols), _ident(t)))
                for row in cur:
                    total += row_digest(row, types)
                    n += 1
                    # No total: the target's own count(*) is a second scan of each table, and the
                    # source's count would be the very thing this checks, not what it will find.
                    if progress is not None and n % BATCH_ROWS == 0:
                        progress(f"verify {t}", n, None)
            out[t] = (n, _hex(total))
        total = n = 0
        # Unlike a table's, the blobs' count is cheap beside the check: count(*) reads the rows'
        # keys and pointers, never the out-of-line bytes read back below, and in this snapshot it
        # is exactly what the check will find.
        blobs = _target_counts(raw, [BLOBS])[BLOBS] if progress is not None else None
        if progress is not None:
            progress(f"verify {BLOBS}", 0, blobs)
        with raw.cursor(name="verify_blobs") as cur:
            cur.itersize = 100
            cur.execute("SELECT key, data FROM blobs")
            for key, data in cur:
                total += _blob_token(key, bytes(data))
                n += 1
                if progress is not None:
                    progress(f"verify {BLOBS}", n, blobs)
        out[BLOBS] = (n, _hex(total))
    return out


# -- the three modes --------------------------------------------------------------------------


def dry_run(data_dir: Path, url: str) -> MigrateReport:
    """What a copy would do: the source's tables, row counts and blobs, and the target's state. Writes nothing."""
    with _opened(data_dir, url, "dry-run", upgrade=False) as o:
        db, plan, report = o.source.db, o.plan, o.report
        with o.source.read():
            for t in plan.tables:
                n = db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
                report.tables.append(TableReport(t, int(n)))
        files = _blob_files(o.source)
        report.tables.append(TableReport(BLOBS, len(files)))
        report.blob_bytes = sum(p.stat().st_size for _k, p in files)
        have = _existing_tables(o.raw)
        missing = [t for t in plan.tables if t not in have]
        occupied = _occupied(o.raw, plan)
        if occupied:
            held = ", ".join(f"{t} {n:,}" for t, n in sorted(occupied.items()))
            report.target_note = f"holds rows ({held}): the copy would refuse it without --replace"
        elif missing:
            report.target_note = f"its schema would be created ({len(missing)} tables missing)"
        else:
            report.target_note = "empty: the copy would fill it"
        return report


def verify(data_dir: Path, url: str, progress: ProgressFn | None = None) -> MigrateReport:
    """Compare an earlier copy with its source, table by table. Writes nothing."""
    with _opened(data_dir, url, "verify", upgrade=False) as o:
        missing = [t for t in o.plan.tables if t not in _existing_tables(o.raw)]
        if missing:
            raise MigrateError(f"the target has no {', '.join(missing[:3])} table: nothing was copied there")
        o.report.tables = _source_checksums(o.source, o.plan, progress)
        _compare(o.report, _target_checksums(o.raw, o.plan, progress))
        return o.report


def _source_checksums(source: Store, plan: _Plan, progress: ProgressFn | None) -> list[TableReport]:
    db = source.db
    out: list[TableReport] = []
    with source.read():
        for t in plan.tables:
            types = _types(plan, t)
            total = n = 0
            # The count, in the same read transaction as the rows, is the phase's true total; a
            # count(*) walks SQLite's smallest index, a fraction of reading and digesting each row.
            rows = int(db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]) if progress is not None else None
            for batch in _batches(db.execute(_select(plan, t)), BATCH_ROWS):
                total += sum(row_digest(r, types) for r in batch)
                n += len(batch)
                if progress is not None:
                    progress(f"read {t}", n, rows)
            out.append(TableReport(t, n, checksum=_hex(total)))
    total, files = 0, _blob_files(source)
    if progress is not None:
        progress(f"read {BLOBS}", 0, len(files))
    for i, (key, path) in enumerate(files, 1):
        total += _blob_token(key, path.read_bytes())
        if progress is not None:
            progress(f"read {BLOBS}", i, len(files))
    out.append(TableReport(BLOBS, len(files), checksum=_hex(total)))
    return out


def _compare(report: MigrateReport, target: dict[str, tuple[int, str]]) -> None:
    for t in report.tables:
        t.target_rows, t.target_checksum = target[t.name]


def copy(data_dir: Path, url: str, *, replace: bool = False, batch_rows: int = BATCH_ROWS, progress: ProgressFn | None = None) -> MigrateReport:
    """Copy the store of ``data_dir`` into the database at ``url``, then verify it table by table.

    Refuses a target that already holds rows unless ``replace``, which empties it first (in
    the same transaction, so a failed copy leaves the old contents)."""
    from storage import pg_versions
    from storage.pg import WRITERS_LOCK
    from storage.pg_conn import sql_text

    with _opened(data_dir, url, "copy", upgrade=True) as o:
        source, raw, plan, report = o.source, o.raw, o.plan, o.report
        db = source.db
        with source.read(), raw.transaction():
            # Writers of any server on this database queue behind the copy, as behind any write.
            raw.execute("SELECT pg_advisory_xact_lock(%s)", [WRITERS_LOCK])
            occupied = _occupied(raw, plan)
            if occupied and not replace:
                biggest = sorted(occupied.items(), key=lambda kv: -kv[1])[:4]
                held = ", ".join(f"{t} {n:,}" for t, n in biggest) + (", …" if len(occupied) > len(biggest) else "")
                raise MigrateError(
                    f"the target database already holds data ({len(occupied)} tables: {held}); pass --replace to empty it first",
                    "conflict",
                )
            if replace:
                _empty(raw, plan)
            counts = {t: int(db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]) for t in plan.tables}
            for t in plan.tables:
                report.tables.append(_copy_table(db, raw, plan, t, counts[t], batch_rows, progress))
            files = _blob_files(source)
            blobs, report.blob_bytes = _copy_blobs(raw, files, progress)
            report.tables.append(blobs)
            _move_sequences(raw, plan, _autoincrement_floors(db))
            # Every server's caches compare this counter: what they held of this database is stale now.
            raw.execute(sql_text(pg_versions.BUMP))
        _compare(report, _target_checksums(raw, plan, progress))
        return report


def _empty(raw: psycopg.Connection[Any], plan: _Plan) -> None:
    from psycopg import sql

    names = [*plan.tables, BLOBS, *(t for t in _SERVER_ONLY if t in _existing_tables(raw))]
    raw.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY").format(sql.SQL(", ").join(_ident(t) for t in names)))


def _copy_table(
    db: sqlite3.Connection, raw: psycopg.Connection[Any], plan: _Plan, table: str, count: int, batch_rows: int,
    progress: ProgressFn | None,
) -> TableReport:
    """Stream one table with COPY, checksumming each row as it passes (the source's side of the check)."""
    from psycopg import sql

    types = _types(plan, table)
    names = [*plan.columns[table], *(["rowid"] if plan.rowid[table] else [])]
    # Triggers derive rows (status counts, change counters) that are being copied as they are.
    raw.execute(sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(_ident(table)))
    total = done = 0
    if progress is not None:
        progress(f"copy {table}", 0, count)
    with raw.cursor() as cur, cur.copy(
        sql.SQL("COPY {} ({}) FROM STDIN").format(_ident(table), sql.SQL(", ").join(_ident(c) for c in names))
    ) as cp:
        for batch in _batches(db.execute(_select(plan, table)), batch_rows):
            for row in batch:
                cp.write_row([_fit(v, t) for v, t in zip(row, types, strict=True)])
                total += row_digest(row, types)
            done += len(batch)
            if progress is not None:
                progress(f"copy {table}", done, count)
    raw.execute(sql.SQL("ALTER TABLE {} ENABLE TRIGGER USER").format(_ident(table)))
    return TableReport(table, done, checksum=_hex(total))


def _copy_blobs(raw: psycopg.Connection[Any], files: list[tuple[str, Path]], progress: ProgressFn | None) -> tuple[TableReport, int]:
    total = size = 0
    if progress is not None:
        progress(f"copy {BLOBS}", 0, len(files))
    with raw.cursor() as cur, cur.copy("COPY blobs (key, data) FROM STDIN") as cp:
        for i, (key, path) in enumerate(files, 1):
            data = path.read_bytes()
            cp.write_row([key, data])
            total += _blob_token(key, data)
            size += len(data)
            if progress is not None:
                progress(f"copy {BLOBS}", i, len(files))
    return TableReport(BLOBS, len(files), checksum=_hex(total)), size


def _move_sequences(raw: psycopg.Connection[Any], plan: _Plan, floors: dict[str, int]) -> None:
    """Each identity's next value past the copied ones (and past SQLite's AUTOINCREMENT counter)."""
    from psycopg import sql

    wanted = set(plan.tables)
    rows = raw.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() AND is_identity = 'YES'"
    ).fetchall()
    for table, column in rows:
        if table not in wanted:
            continue
        raw.execute(
            sql.SQL("SELECT setval(pg_get_serial_sequence(%s, %s), GREATEST(coalesce(max({col}), 0), %s) + 1, false) FROM {table}").format(
                col=_ident(column), table=_ident(table)
            ),
            [table, column, floors.get(table, 0)],
        )
