"""A test's store seen from outside its owner, on either engine: another connection, another writer, the uploads;
a store bootstrapped for a server process to open; and a store's upkeep thread stopped.

The conformance suite asserts the same things on SQLite and PostgreSQL (tests/conftest.py,
``engine``). What differs is only how a test reaches past the code under test: a second
SQLite connection to the file, or a second PostgreSQL session on the database.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

from storage.db import Store
from workbench.services.context import Workbench


def open_store(data_dir: Path) -> Store:
    """A new Store on the test's database: the data directory's file, or the engine fixture's PostgreSQL database."""
    url = os.environ.get("WORKBENCH_DATABASE_URL")
    if url:
        from storage.pg import PgStore

        return PgStore(url, data_dir, migrate=False)
    return Store(data_dir, migrate=False)


@contextlib.contextmanager
def reading(data_dir: Path) -> Iterator[sqlite3.Connection]:
    """What is committed, through a connection of its own (not what some connection of the code under test holds)."""
    store = open_store(data_dir)
    try:
        with store.read() as db:
            yield db
    finally:
        store.close()


@contextlib.contextmanager
def another_writer(store: Store) -> Iterator[None]:
    """Another process's write transaction holding ``store`` (as the TUI or a sync would) until the block ends."""
    if store.dialect == "postgresql":
        import psycopg

        from storage.pg import WRITERS_LOCK, PgStore
        from storage.pg_conn import sql_text

        assert isinstance(store, PgStore)
        with psycopg.connect(store.url) as other:  # a transaction until the block ends; committed on exit
            other.execute(sql_text(f"SELECT pg_advisory_xact_lock({WRITERS_LOCK})"))
            yield
        return
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("COMMIT")
        other.close()


def a_writer_waits(store: Store) -> bool:
    """Whether a write of this process is queued behind another writer of ``store``."""
    if store.dialect == "postgresql":
        from storage.pg import WRITERS_LOCK

        with reading(store.data_dir) as db:
            # An advisory lock's 64-bit key shows as classid (high half) and objid (low half).
            waiting = db.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = ?", [WRITERS_LOCK]
            ).fetchone()[0]
        return waiting > 0
    return store._write_lock.locked()


def stop_upkeep(store: Store) -> None:
    """Stop ``store``'s upkeep thread (as close() does), so only the code under test indexes and
    merges the search indexes. The thread must have started (a write has committed): a first write
    after this would start it again."""
    store._stop.set()
    if store._checkpointer is not None:
        store._checkpointer.join()


def blob_keys(store: Store) -> list[str]:
    """The keys of every upload's bytes the store keeps (files under uploads/, or rows of ``blobs``)."""
    if store.dialect == "postgresql":
        return [key for (key,) in store.db.execute("SELECT key FROM blobs ORDER BY key")]
    return sorted(str(p.relative_to(store.uploads_dir)) for p in store.uploads_dir.rglob("*") if p.is_file())


def stored_blob(data_dir: Path, key: str) -> bytes | None:
    """An upload's bytes as the store keeps them, read through a store of its own."""
    store = open_store(data_dir)
    try:
        return store.get_blob(key)
    finally:
        store.close()


def at_rest(data_dir: Path) -> dict[str, bytes]:
    """Every byte the store keeps at rest, by name: the data directory's files (SQLite's database, its
    -wal and -shm) and, on PostgreSQL, a plain ``pg_dump`` of the database (every table's rows)."""
    found = {str(p.relative_to(data_dir)): p.read_bytes() for p in data_dir.rglob("*") if p.is_file()}
    url = os.environ.get("WORKBENCH_DATABASE_URL")
    if url:
        from tests.pg_cluster import binaries

        dump = subprocess.run([str(binaries() / "pg_dump"), "--no-owner", url], check=True, capture_output=True)
        found["pg_dump"] = dump.stdout
    return found


def columns(store: Store) -> list[tuple[str, str]]:
    """(table, column) of every column of the store's own tables."""
    db = store.db
    if store.dialect == "postgresql":
        sql = "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY 1, 2"
        return [(t, c) for t, c in db.execute(sql)]
    tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return [(t, r[1]) for t in tables for r in db.execute(f"PRAGMA table_info('{t}')")]  # names from the schema


def postgresql_plan(store: Store, sql: str, params: list[object]) -> str:
    """PostgreSQL's plan for ``sql`` with sequential scans priced out: what the indexes can serve.

    A test's tables hold a few rows, where a sequential scan is cheapest whatever the indexes;
    with it priced out the plan shows whether an index fits the statement (a missing index, or
    one in the wrong order, still shows a Seq Scan or a Sort)."""
    with store.read() as db:
        db.execute("SET LOCAL enable_seqscan = off")
        return "\n".join(row[0] for row in db.execute("EXPLAIN " + sql, params))


def local_workbench(data_dir: Path) -> Workbench:
    """A person's own store (the TUI's, a replica's): SQLite on every engine, as the product keeps it,
    while the engine fixture points the server's stores at PostgreSQL."""
    return Workbench(Store(data_dir), mailer=None)


def bootstrapped(data_dir: Path) -> dict:
    """The credentials of a store bootstrapped through the services (what `workbench admin bootstrap`
    runs), closed again before a server process opens it: a CLI process of its own was a second or
    two of setup per test."""
    from workbench.services.bootstrap import bootstrap

    wb = Workbench.open(str(data_dir), mailer=None)
    try:
        return bootstrap(wb)
    finally:
        wb.store.close()
