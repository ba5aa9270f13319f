"""PostgreSQL's schema comes from the SQLite migrations: same tables and columns, triggers that count, additive upgrades."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from storage.db import Store
from storage.pg import BOOT_NAME, PgStore
from storage.pg_conn import sql_text
from storage.pg_schema import SQLITE_ONLY, target
from tests.pg_cluster import Cluster


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> Iterator[str]:
    url = pg_cluster.create()
    yield url
    pg_cluster.drop(url)


def _sqlite_columns(tmp_path: Path) -> dict[str, set[str]]:
    store = Store(tmp_path / "lite")
    try:
        names = [
            r[0]
            for r in store.db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%' "
                "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_sqlite%' ESCAPE '\\' AND name NOT LIKE '%\\_fts%' ESCAPE '\\'"
            )
        ]
        return {n: {r[1] for r in store.db.execute(f"PRAGMA table_info({n})")} for n in names}
    finally:
        store.close()


def _pg_columns(url: str) -> dict[str, set[str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'").fetchall()
    out: dict[str, set[str]] = {}
    for table, column in rows:
        out.setdefault(table, set()).add(column)
    return out


def test_every_table_and_column_of_the_migrations_exists_on_postgresql(tmp_path: Path, pg_url: str):
    lite = _sqlite_columns(tmp_path)
    pg = _pg_columns(pg_url)
    assert "annotations" in lite and "undo_steps" in lite
    for table, columns in lite.items():
        if table in SQLITE_ONLY:  # kept for SQLite's in-process readers only
            assert table not in pg, table
            continue
        assert table in pg, table
        # rowid (SQLite's implicit key, kept for ordering) and the full-text column are PostgreSQL's additions.
        assert columns == pg[table] - {"rowid", "search"}, table


def test_the_status_counts_and_change_counter_triggers_count_on_postgresql(pg_url: str):
    store = PgStore(pg_url)
    try:
        with store.write() as db:
            db.execute("INSERT INTO workspaces (id, name, created_at) VALUES ('w1', 'W', 1)")
            db.execute("INSERT INTO users (id, email, name, created_at) VALUES ('u1', 'a@b', 'A', 1)")
            db.execute(
                "INSERT INTO sites (id, workspace_id, name, url, widget_token, mcp_token, mcp_token_hash, loader_secret_id, "
                "created_at, updated_at) VALUES ('s1', 'w1', 'S', 'https://s', 'wt', 'mt', 'mh', 'l', 1, 1)"
            )
            for i, status in enumerate(["open", "open", "resolved"]):
                db.execute(
                    "INSERT INTO annotations (id, workspace_id, site_id, page_url, kind, body, status, created_at, updated_at) "
                    "VALUES (?, 'w1', 's1', '/', 'bug', 'b', ?, ?, ?)",
                    [f"a{i}", status, i, i],
                )
            db.execute("UPDATE annotations SET status = 'resolved' WHERE id = 'a0'")
            db.execute("UPDATE annotations SET body = 'no status change' WHERE id = 'a1'")
        counts = dict(store.db.execute("SELECT status, n FROM annotation_status_counts WHERE workspace_id = 'w1'").fetchall())
        assert counts == {"open": 1, "resolved": 2}
        # 3 inserts + 2 updates of annotations, each one change.
        assert store.db.execute("SELECT n FROM annotation_changes WHERE workspace_id = 'w1'").fetchone()[0] == 5
    finally:
        store.close()


def test_every_write_moves_the_version_that_caches_compare(pg_url: str):
    store = PgStore(pg_url)
    other = PgStore(pg_url, migrate=False)
    try:
        before = other.version()
        with store.write() as db:
            db.execute("INSERT INTO meta (key, value) VALUES ('k', 'v')")
        assert other.version() != before
        seen = other.version()
        with pytest.raises(RuntimeError), store.write() as db:
            db.execute("INSERT INTO meta (key, value) VALUES ('k2', 'v')")
            raise RuntimeError("rolled back")
        assert other.version() == seen
        assert other.db.execute("SELECT count(*) FROM meta WHERE key = 'k2'").fetchone()[0] == 0
    finally:
        store.close()
        other.close()


def test_an_older_database_is_brought_forward_additively(pg_url: str):
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE annotations DROP COLUMN capture")
        conn.execute("DROP INDEX annotations_submitter")
        conn.execute("DROP TABLE undo_steps")
        conn.execute("CREATE INDEX audit_actor ON audit (actor_id, id)")  # made before m024 dropped it
        conn.execute("CREATE INDEX sites_ws ON sites (workspace_id, created_at, rowid)")  # made before m025 replaced it
        conn.execute("DROP FUNCTION rate_lease")  # made before rate-limit leases
        conn.execute("ALTER TABLE rate_buckets DROP COLUMN held")
        conn.execute("INSERT INTO rate_buckets (key, window_start, n) VALUES ('token:k', 0, 3)")
        conn.execute("UPDATE workbench_schema SET digest = 'an older schema'")
    PgStore(pg_url).close()
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT n, held FROM rate_buckets WHERE key = 'token:k'").fetchone() == (3, 0)
        assert conn.execute("SELECT granted FROM rate_lease('token:k', 60000, 10, -1, 0, 0, 0, 4)").fetchone() == (4,)
    columns = _pg_columns(pg_url)
    assert "capture" in columns["annotations"] and "undo_steps" in columns
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'annotations_submitter'").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'audit_actor'").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname IN ('sites_ws', 'sites_ws_order')").fetchone() == (1,)
        assert conn.execute("SELECT digest FROM workbench_schema").fetchone() == (target().digest(),)


def test_threads_made_before_m037_get_their_annotations_site(pg_url: str):
    """A database made before replies and resolutions carried their site: migrate adds the column,
    fills it from each row's annotation (the thread feed reads rows by it) and drops the
    store-wide time indexes it replaced."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for table in ("replies", "resolutions"):
            conn.execute(f"DROP TRIGGER {table}_site_filled ON {table}")
            conn.execute(f"ALTER TABLE {table} DROP COLUMN site_id")
        conn.execute("CREATE INDEX replies_created ON replies (created_at)")
        conn.execute("CREATE INDEX resolutions_notified_since ON resolutions (notified_at, created_at)")
        conn.execute("SET session_replication_role = replica")  # rows alone, no sites or workspaces behind them
        conn.execute("INSERT INTO annotations (id, workspace_id, site_id, page_url, kind, body, status, created_at, updated_at) "
                     "VALUES ('a1', 'w', 'site-1', '/', 'bug', 'b', 'new', 1, 1), ('a2', 'w', 'site-2', '/', 'bug', 'b', 'new', 2, 2)")
        conn.execute("INSERT INTO replies (id, annotation_id, workspace_id, author_kind, author_name, body, created_at) "
                     "VALUES ('r1', 'a1', 'w', 'visitor', 'V', 'r', 3), ('r2', 'a2', 'w', 'visitor', 'V', 'r', 4)")
        conn.execute("INSERT INTO resolutions (id, annotation_id, workspace_id, created_by, created_at, notification_status) "
                     "VALUES ('s1', 'a2', 'w', 'u', 5, 'pending')")
        conn.execute("UPDATE workbench_schema SET digest = 'before m037'")
    PgStore(pg_url).close()
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT id, site_id FROM replies ORDER BY id").fetchall() == [("r1", "site-1"), ("r2", "site-2")]
        assert conn.execute("SELECT site_id FROM resolutions").fetchall() == [("site-2",)]
        assert conn.execute(
            "SELECT count(*) FROM pg_indexes WHERE indexname IN ('replies_created', 'resolutions_notified_since')"
        ).fetchone() == (0,)
        conn.execute("INSERT INTO replies (id, annotation_id, workspace_id, author_kind, author_name, body, created_at) "
                     "VALUES ('r3', 'a1', 'w', 'visitor', 'V', 'r', 6)")
        assert conn.execute("SELECT site_id FROM replies WHERE id = 'r3'").fetchone() == ("site-1",), "the trigger fills a row made without one"
        conn.rollback()


def test_workers_starting_together_migrate_once(pg_cluster: Cluster):
    url = pg_cluster.url("fresh_" + threading.current_thread().name.lower().replace("-", "_")[:20])
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(pg_cluster.admin_url, autocommit=True) as conn:
        conn.execute(sql_text(f"CREATE DATABASE {name}"))
    try:
        errors: list[BaseException] = []

        def open_store() -> None:
            try:
                PgStore(url).close()
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=open_store) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM workbench_schema").fetchone() == (1,)
            assert conn.execute("SELECT count(*) FROM store_version").fetchone() == (1,)
    finally:
        pg_cluster.drop(url)


def test_a_duplicate_key_is_sqlites_integrity_error_on_both_engines(pg_url: str, tmp_path: Path):
    for store in (PgStore(pg_url), Store(tmp_path / "lite")):
        try:
            with store.write() as db:
                db.execute("INSERT INTO meta (key, value) VALUES ('dup', '1')")
            with pytest.raises(sqlite3.IntegrityError), store.write() as db:
                db.execute("INSERT INTO meta (key, value) VALUES ('dup', '2')")
            assert store.db.execute("SELECT value FROM meta WHERE key = 'dup'").fetchone()[0] == "1"
        finally:
            store.close()


def test_a_server_process_is_alive_exactly_while_it_holds_its_boot(pg_url: str, tmp_path: Path):
    """Idempotency claims in flight belong to a live process (409 to a retry) or a dead one (claimable)."""
    serving, other = PgStore(pg_url), PgStore(pg_url, migrate=False)
    try:
        serving.hold_boot("boot-a")
        assert other.boot_alive("boot-a")
        assert other.boot_alive("boot-a"), "asking must not take the lock over"
        assert not other.boot_alive("boot-never-started")
        serving.close()  # as a killed process's connections close
        # PostgreSQL lets the lock go when the closed connection's backend has ended, a moment after.
        deadline = time.monotonic() + 10
        while other.boot_alive("boot-a"):
            assert time.monotonic() < deadline, "the boot of a closed store stayed alive"
            time.sleep(0.01)
    finally:
        serving.close()
        other.close()
    lite = Store(tmp_path / "lite")
    try:
        lite.hold_boot("boot-a")
        # One SQLite file has one server: any other boot has stopped.
        assert not lite.boot_alive("boot-a")
    finally:
        lite.close()


def test_a_boot_whose_connection_was_cut_is_held_again_once_the_database_answers(pg_url: str):
    """A database restart (or an administrator's kill) ended the connection holding a serving
    process's boot, and with it the lock: the process, alive, was dead to every other from then
    on, and a retry it was still answering, sent to another, ran there a second time."""
    serving, other = PgStore(pg_url), PgStore(pg_url, migrate=False)
    try:
        serving.hold_boot("boot-cut")
        with psycopg.connect(pg_url, autocommit=True) as admin:
            found = admin.execute(
                sql_text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s"),
                [BOOT_NAME],
            ).fetchone()
            assert found is not None, "the boot's connection names itself"
            admin.execute("SELECT pg_terminate_backend(%s, 10000)", [found[0]])  # returns once the lock is let go
        deadline = time.monotonic() + 10
        while not other.boot_alive("boot-cut"):
            assert time.monotonic() < deadline, "the boot was never held again"
            time.sleep(0.01)
        serving.close()
        deadline = time.monotonic() + 10
        while other.boot_alive("boot-cut"):  # and a closed store's keeper takes it no more
            assert time.monotonic() < deadline, "the boot of a closed store stayed alive"
            time.sleep(0.01)
    finally:
        serving.close()
        other.close()
