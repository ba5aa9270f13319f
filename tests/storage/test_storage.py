"""The SQLite store: pragmas, migrations, transactions, and several processes writing one file."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlite_utils import Database

from storage import Store
from storage import annotations as annotations_repo
from storage.db import SCHEMA_VERSION
from storage.schema import migrations
from workbench.domain.annotations import WidgetAnnotationCreate

ROOT = Path(__file__).resolve().parents[2]


def test_pragmas_wal_foreign_keys_busy_timeout(tmp_path):
    store = Store(tmp_path)
    db = store.db
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    with pytest.raises(sqlite3.IntegrityError), store.write() as w:
        w.execute("INSERT INTO replies (id, annotation_id, workspace_id, author_kind, author_name, body, created_at) "
                  "VALUES ('r','missing','w','user','n','b',1)")


def test_a_statement_journal_stays_in_memory(demo_wb):
    """A statement that may fail halfway in a larger transaction keeps a statement journal; past
    64 KiB SQLite spilled it to a temp file, a write call per page, in every large triage write."""
    def temp_files() -> list[str]:
        fds = Path("/proc/self/fd")
        return [t for t in (os.readlink(f) for f in fds.iterdir() if f.exists()) if "etilqs" in t]

    assert demo_wb.store.db.execute("PRAGMA temp_store").fetchone()[0] == 2  # MEMORY
    with demo_wb.store.write() as w:
        w.execute("UPDATE meta SET value = value WHERE 0")  # not the transaction's first statement
        w.execute("UPDATE annotations SET status = 'ack', updated_at = updated_at + 1")  # triggers, every row
        assert temp_files() == []


def test_migrations_apply_once_and_reopen_is_a_noop(tmp_path):
    Store(tmp_path)
    store = Store(tmp_path)
    db = Database(store.db, execute_plugins=False)
    assert migrations.pending(db) == []
    names = [m.name for m in migrations.applied(db)]
    assert names == sorted(set(names), key=names.index)
    # The version stamp that lets later opens skip sqlite-utils counts every migration: a new
    # migration without a SCHEMA_VERSION bump would never run on existing stores.
    assert len(names) == SCHEMA_VERSION
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_store_behind_the_stamp_is_migrated_and_stamped(tmp_path):
    store = Store(tmp_path)
    store.db.execute("PRAGMA user_version = 0")  # what a store from before the stamp reads
    store.db.execute("DROP INDEX inbox_annotations")
    store.db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm011_inbox_index'")
    store.close()
    store = Store(tmp_path)
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'inbox_annotations'").fetchone()


def test_the_audit_index_no_query_reads_is_dropped_from_an_older_store(tmp_path):
    """m024: every audited write paid a page of ``audit_actor``, which nothing reads."""
    store = Store(tmp_path)
    store.db.execute("CREATE INDEX audit_actor ON audit(actor_id, id)")  # what m001 made
    store.db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm024_no_audit_actor_index'")
    store.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    store.close()
    store = Store(tmp_path)
    assert store.db.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'audit' AND type = 'index'").fetchall() == [("audit_entity",)]
    store.close()


def test_threads_of_an_older_store_get_their_annotations_site(tmp_path):
    """m037: the thread feed reads a site's replies and resolutions by the site they carry; a store
    made before has them filled from each row's annotation, and loses the store-wide time indexes."""
    store = Store(tmp_path)
    store.db.executescript(
        """
        DROP TRIGGER replies_site_filled; DROP TRIGGER resolutions_site_filled;
        DROP INDEX replies_site_created; DROP INDEX resolutions_site_created; DROP INDEX resolutions_site_notified;
        ALTER TABLE replies DROP COLUMN site_id; ALTER TABLE resolutions DROP COLUMN site_id;
        CREATE INDEX replies_created ON replies(created_at);
        CREATE INDEX resolutions_created ON resolutions(created_at);
        CREATE INDEX resolutions_notified_since ON resolutions(notified_at, created_at);
        PRAGMA foreign_keys = OFF;
        INSERT INTO annotations (id, workspace_id, site_id, page_url, kind, body, status, created_at, updated_at)
            VALUES ('a1', 'w', 'site-1', '/', 'bug', 'b', 'new', 1, 1), ('a2', 'w', 'site-2', '/', 'bug', 'b', 'new', 2, 2);
        INSERT INTO replies (id, annotation_id, workspace_id, author_kind, author_name, body, created_at)
            VALUES ('r1', 'a1', 'w', 'visitor', 'V', 'r', 3), ('r2', 'a2', 'w', 'visitor', 'V', 'r', 4);
        INSERT INTO resolutions (id, annotation_id, workspace_id, created_by, created_at, notification_status)
            VALUES ('s1', 'a2', 'w', 'u', 5, 'pending');
        DELETE FROM _sqlite_migrations WHERE name = 'm037_threads_by_site';
        """
    )
    store.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    store.close()
    store = Store(tmp_path)
    assert store.db.execute("SELECT id, site_id FROM replies ORDER BY id").fetchall() == [("r1", "site-1"), ("r2", "site-2")]
    assert store.db.execute("SELECT site_id FROM resolutions").fetchall() == [("site-2",)]
    indexes = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('replies', 'resolutions')")}
    assert {"replies_site_created", "resolutions_site_created", "resolutions_site_notified"} <= indexes
    assert not indexes & {"replies_created", "resolutions_created", "resolutions_notified_since"}
    store.close()


def test_the_sites_and_token_lists_get_indexes_ending_in_id(tmp_path):
    """m025: their pages keyset on (created_at, id); the (workspace, created_at) indexes go."""
    store = Store(tmp_path)
    store.db.execute("DROP INDEX sites_ws_order")
    store.db.execute("DROP INDEX api_tokens_ws_order")
    store.db.execute("CREATE INDEX sites_ws ON sites(workspace_id, created_at)")  # what m001 made
    store.db.execute("CREATE INDEX api_tokens_ws ON api_tokens(workspace_id, created_at)")
    store.db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm025_list_keysets'")
    store.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    store.close()
    store = Store(tmp_path)
    sql = "SELECT name FROM sqlite_master WHERE tbl_name IN ('sites', 'api_tokens') AND type = 'index' AND name LIKE '%_ws%' ORDER BY name"
    assert store.db.execute(sql).fetchall() == [("api_tokens_ws_order",), ("sites_ws_order",)]
    store.close()


def test_opening_an_up_to_date_store_does_not_load_sqlite_utils(tmp_path):
    Store(tmp_path).close()
    code = (
        "import sys; from storage import Store; Store(sys.argv[1]).db.execute('SELECT 1');"
        "assert 'sqlite_utils' not in sys.modules, 'sqlite_utils loaded'"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, cwd=ROOT)


def test_nested_write_failure_undoes_only_the_inner_step(tmp_path):
    store = Store(tmp_path)
    with store.write() as db:
        db.execute("INSERT INTO meta(key, value) VALUES ('outer', '1')")
        with pytest.raises(RuntimeError), store.write() as inner:
            inner.execute("INSERT INTO meta(key, value) VALUES ('inner', '1')")
            raise RuntimeError("refused")
    keys = {k for (k,) in store.db.execute("SELECT key FROM meta WHERE key IN ('outer', 'inner')")}
    assert keys == {"outer"}


def _indexed(store: Store) -> None:
    """Index what waits for the annotation search's indexes (migration m023), then have FTS5 check each
    against its content table: it raises when a document is missing, extra or out of date."""
    with store.write() as db:
        annotations_repo.index_text_pending(db)
        for table in annotations_repo.TEXT_INDEXES:
            db.execute(f"INSERT INTO {table}_fts ({table}_fts, rank) VALUES ('integrity-check', 1)")


def test_replacing_an_annotation_keeps_full_text_search_exact(tmp_path):
    """recursive_triggers: INSERT OR REPLACE must drop the old row's words from the FTS index."""
    Store(tmp_path).close()
    store = Store(tmp_path)  # a connection the migrations (sqlite-utils) never touched
    insert = (
        "INSERT OR REPLACE INTO annotations(id, workspace_id, site_id, page_url, kind, body, status, created_at, updated_at)"
        " VALUES ('a', 'w', 's', 'https://s.test/', 'bug', ?, 'new', 0, 0)"
    )
    with store.write() as db:
        db.execute("INSERT INTO workspaces(id, name, created_at) VALUES ('w', 'W', 0)")
        db.execute(
            "INSERT INTO sites(id, workspace_id, name, url, widget_token, mcp_token, mcp_token_hash, loader_secret_id,"
            " created_at, updated_at) VALUES ('s', 'w', 'S', 'https://s.test', 'wt', 'mt', 'mh', 'ls', 0, 0)"
        )
        db.execute(insert, ("alpha checkout",))
    _indexed(store)
    with store.write() as db:
        db.execute(insert, ("beta checkout",))
    _indexed(store)

    def matches(word: str) -> int:
        return store.db.execute("SELECT count(*) FROM annotations_fts WHERE annotations_fts MATCH ?", (word,)).fetchone()[0]

    assert (matches("alpha"), matches("beta"), matches("checkout")) == (0, 1, 1)



def test_only_a_change_of_indexed_text_touches_the_full_text_indexes(tmp_path):
    """A status change, a version bump or a reply's touch of updated_at leaves nothing to index
    in annotations_fts or replies_fts (it was most of a triage write's cost); a change of the
    text waits, leaving the index alone in the write (m023), and once indexed a new body or
    summary is found by its new words and no longer by its old ones."""
    Store(tmp_path).close()
    store = Store(tmp_path)
    with store.write() as db:
        db.execute("INSERT INTO workspaces(id, name, created_at) VALUES ('w', 'W', 0)")
        db.execute(
            "INSERT INTO sites(id, workspace_id, name, url, widget_token, mcp_token, mcp_token_hash, loader_secret_id,"
            " created_at, updated_at) VALUES ('s', 'w', 'S', 'https://s.test', 'wt', 'mt', 'mh', 'ls', 0, 0)"
        )
        db.execute(
            "INSERT INTO annotations(id, workspace_id, site_id, page_url, kind, body, status, created_at, updated_at)"
            " VALUES ('a', 'w', 's', 'https://s.test/', 'bug', 'alpha checkout', 'new', 0, 0)"
        )
        db.execute(
            "INSERT INTO replies(id, annotation_id, workspace_id, author_kind, author_name, body, created_at)"
            " VALUES ('r', 'a', 'w', 'user', 'U', 'gamma reply', 1)"
        )

    _indexed(store)

    def index_writes() -> tuple[int, ...]:
        return tuple(store.db.execute(f"SELECT count(*), total(length(block)) FROM {t}_fts_data").fetchone()[i]
                     for t in ("annotations", "replies") for i in (0, 1))

    def matches(table: str, word: str) -> int:
        return store.db.execute(f"SELECT count(*) FROM {table}_fts WHERE {table}_fts MATCH ?", (word,)).fetchone()[0]

    before = index_writes()
    with store.write() as db:
        db.execute("UPDATE annotations SET status = 'triaged', version = version + 1, updated_at = 5 WHERE id = 'a'")
        db.execute("UPDATE annotations SET body = body, summary = summary WHERE id = 'a'")
        db.execute("UPDATE replies SET author_name = 'V', body = body WHERE id = 'r'")
    assert index_writes() == before
    assert not annotations_repo.text_pending(store.db)
    with store.write() as db:
        db.execute("UPDATE annotations SET summary = 'delta fixed' WHERE id = 'a'")
        db.execute("UPDATE replies SET body = 'epsilon reply' WHERE id = 'r'")
    assert index_writes() == before
    assert annotations_repo.text_pending(store.db)
    _indexed(store)
    assert index_writes() != before
    assert (matches("annotations", "alpha"), matches("annotations", "delta")) == (1, 1)
    assert (matches("replies", "gamma"), matches("replies", "epsilon")) == (0, 1)
    with store.write() as db:
        db.execute("UPDATE annotations SET body = 'beta checkout', summary = NULL WHERE id = 'a'")
    _indexed(store)
    assert (matches("annotations", "alpha"), matches("annotations", "delta"), matches("annotations", "beta")) == (0, 0, 1)
    store.close()

def test_write_rolls_back_everything_on_error(tmp_path):
    store = Store(tmp_path)
    with pytest.raises(RuntimeError), store.write() as db:
        db.execute("INSERT INTO meta(key, value) VALUES ('a', '1')")
        raise RuntimeError("boom")
    assert store.db.execute("SELECT count(*) FROM meta WHERE key = 'a'").fetchone()[0] == 0


def test_upload_keys_cannot_escape(tmp_path):
    store = Store(tmp_path)
    with pytest.raises(ValueError):
        store.upload_path("../../etc/passwd")


def _writer(data_dir: str, site_id: str, widget_token: str, n: int, tag: str) -> None:
    from workbench.services import annotations
    from workbench.services.context import Workbench

    wb = Workbench.open(data_dir, mailer=None)
    for i in range(n):
        annotations.submit_from_widget(wb, site_id, widget_token, None, WidgetAnnotationCreate(page_url="https://x/", body=f"{tag} {i}"))


def test_many_processes_write_the_same_file(wb, creds):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(wb.store.data_dir), creds["site_id"], creds["widget_token"], 40, f"p{k}")) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    db = wb.store.db
    assert db.execute("SELECT count(*) FROM annotations").fetchone()[0] == 160
    assert db.execute("SELECT count(*) FROM audit WHERE action = 'annotation.create'").fetchone()[0] == 160
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # the FTS index follows every insert, once what waits is indexed
    _indexed(wb.store)
    assert db.execute("SELECT count(*) FROM annotations_fts WHERE annotations_fts MATCH 'p3'").fetchone()[0] == 40


def test_a_finished_threads_connection_is_closed(tmp_path):
    """TUI workers run each job on a new thread: their connections must not pile up."""
    import gc
    import threading
    import weakref

    store = Store(tmp_path)
    refs = []

    def work() -> None:
        refs.append(weakref.ref(store.db))
        store.db.execute("SELECT count(*) FROM meta").fetchone()

    for _ in range(5):
        t = threading.Thread(target=work)
        t.start()
        t.join()
    gc.collect()
    assert [r() for r in refs] == [None] * 5  # gone, so closed (a connection closes when freed)
    assert len(store._connections) == 1  # the main thread's, opened on first use


def test_m013_gives_existing_sites_their_own_origin(tmp_path):
    from workbench.services.bootstrap import bootstrap
    from workbench.services.context import Workbench

    wb = Workbench.open(str(tmp_path), mailer=None)
    site_id = bootstrap(wb)["site_id"]
    db = wb.store.db
    # The store as it was before m013.
    db.executescript(
        "DROP TABLE site_origins; DROP INDEX annotations_submitter; ALTER TABLE annotations DROP COLUMN capture;"
        "ALTER TABLE annotations DROP COLUMN submitter_key_hash; DELETE FROM _sqlite_migrations WHERE name = 'm013_widget';"
        "PRAGMA user_version = 0;"
    )
    wb.store.close()
    store = Store(tmp_path)
    assert store.db.execute("SELECT site_id, origin FROM site_origins").fetchall() == [(site_id, "https://shop.acme.example")]
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    store.close()
