"""The inbox counts are read once per store change: kept until ``PRAGMA data_version`` moves."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from storage.data_version import data_version
from tests.plans import vm_steps
from workbench.services import inbox
from workbench.services.bootstrap import ensure_workspace, owner_principal
from workbench.services.demo import load_demo

ROOT = Path(__file__).resolve().parents[2]


def _principal(wb):
    ws, owner, _ = ensure_workspace(wb)
    return owner_principal(ws, owner)


def _statements(wb, fn):
    """The SQL ``fn`` runs on this thread's connection, and its result."""
    seen: list[str] = []
    wb.store.db.set_trace_callback(seen.append)
    try:
        result = fn()
        return [s for s in seen if s not in ("BEGIN", "COMMIT")], result
    finally:
        wb.store.db.set_trace_callback(None)


def test_counts_are_reused_until_any_connection_commits(wb, creds):
    load_demo(wb, annotations=60)
    p = _principal(wb)
    f = inbox.InboxFilter(status=inbox.ALL)
    first = inbox.count(wb, p, f)
    summary = inbox.summary_counts(wb, p)
    seen, again = _statements(wb, lambda: (inbox.count(wb, p, f), inbox.summary_counts(wb, p)))
    assert again == (first, summary) and seen == []  # nothing read: the store did not change

    # A commit of this process's store (another thread's or this one's connection) moves it.
    with wb.store.write() as db:
        db.execute("DELETE FROM replies WHERE annotation_id IN (SELECT id FROM annotations ORDER BY created_at DESC LIMIT 1)")
        db.execute("DELETE FROM resolutions WHERE annotation_id IN (SELECT id FROM annotations ORDER BY created_at DESC LIMIT 1)")
        db.execute("DELETE FROM annotations WHERE id IN (SELECT id FROM annotations ORDER BY created_at DESC LIMIT 1)")
    assert inbox.count(wb, p, f) == first - 1

    # So does another process's commit.
    before = data_version(wb.store.path)
    code = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None);"
        "c.execute(\"UPDATE annotations SET status = 'resolved' WHERE status = 'new'\")"
    )
    subprocess.run([sys.executable, "-c", code, str(wb.store.path)], check=True, cwd=ROOT, timeout=60)
    assert data_version(wb.store.path) != before
    assert inbox.summary_counts(wb, p).get("annotation:new", 0) == 0
    assert inbox.summary_counts(wb, p)["annotation:resolved"] > summary["annotation:resolved"]


def test_the_summary_adds_up_the_status_counts_it_already_read(wb, creds):
    load_demo(wb, annotations=60)
    p = _principal(wb)
    counts = inbox.summary_counts(wb, p)
    assert counts["awaiting:annotation"] == inbox.count(wb, p, inbox.InboxFilter(sources=("annotation",)))
    assert counts["awaiting:annotation"] == sum(counts.get(f"annotation:{s}", 0) for s in ("new", "ack", "triaged", "in_progress"))


def test_the_watcher_cannot_write(tmp_path):
    path = tmp_path / "x.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    data_version(path)
    from storage import data_version as module

    conn = module._WATCHERS[path][0]
    try:
        conn.execute("INSERT INTO t VALUES (1)")
        raise AssertionError("the watcher wrote")
    except sqlite3.OperationalError as e:
        assert "readonly" in str(e)


def test_a_store_reopened_after_close_does_not_reuse_counts_from_before(tmp_path):
    from workbench.services.bootstrap import bootstrap
    from workbench.services.context import Workbench

    wb = Workbench.open(str(tmp_path / "d"), mailer=None)
    bootstrap(wb)
    load_demo(wb, annotations=30)
    p = _principal(wb)
    f = inbox.InboxFilter(status=inbox.ALL)
    before = inbox.count(wb, p, f)
    wb.store.close()  # the watcher goes with it
    with sqlite3.connect(wb.store.path, isolation_level=None) as c:
        for table in ("replies", "resolutions", "annotations"):
            c.execute(f"DELETE FROM {table}")
    wb = Workbench.open(str(tmp_path / "d"), mailer=None)
    assert inbox.count(wb, p, f) == before - 30
    wb.store.close()


def _exact(db, ws: str) -> dict[str, int]:
    return dict(db.execute("SELECT status, count(*) FROM annotations WHERE workspace_id = ? GROUP BY status", [ws]).fetchall())


def test_status_counts_are_kept_through_inserts_updates_replaces_and_deletes(wb, creds):
    from storage import inbox as inbox_repo

    load_demo(wb, annotations=80)
    p = _principal(wb)
    db = wb.store.db
    assert inbox_repo.annotation_status_counts(db, p.workspace_id) == _exact(db, p.workspace_id)
    with wb.store.write() as w:
        w.execute("UPDATE annotations SET status = 'resolved' WHERE status = 'new'")
        w.execute("UPDATE annotations SET summary = 'x' WHERE status = 'ack'")  # no status change
        row = w.execute("SELECT * FROM annotations WHERE status = 'triaged' LIMIT 1").fetchone()
        marks = ", ".join("?" for _ in row)
        w.execute(f"INSERT OR REPLACE INTO annotations VALUES ({marks})", row)  # the sync mirror's upsert
        gone = w.execute("SELECT id FROM annotations WHERE status = 'duplicate' LIMIT 1").fetchone()[0]
        w.execute("DELETE FROM replies WHERE annotation_id = ?", [gone])
        w.execute("DELETE FROM resolutions WHERE annotation_id = ?", [gone])
        w.execute("DELETE FROM annotations WHERE id = ?", [gone])
    assert inbox_repo.annotation_status_counts(db, p.workspace_id) == _exact(db, p.workspace_id)
    assert "new" not in inbox_repo.annotation_status_counts(db, p.workspace_id)


def test_the_migration_counts_the_rows_already_there(wb, creds):
    from storage import Store
    from storage import inbox as inbox_repo

    load_demo(wb, annotations=40)
    p = _principal(wb)
    # A store from before m014: its annotations, no kept counts.
    with wb.store.write() as w:
        w.execute("DELETE FROM annotation_status_counts")
        w.execute("DELETE FROM _sqlite_migrations WHERE name = 'm014_flat_lists'")
        w.execute("PRAGMA user_version = 0")
    wb.store.close()
    store = Store(wb.store.data_dir)
    assert inbox_repo.annotation_status_counts(store.db, p.workspace_id) == _exact(store.db, p.workspace_id)
    assert sum(inbox_repo.annotation_status_counts(store.db, p.workspace_id).values()) == 40
    store.close()


def test_counting_after_a_change_costs_the_same_at_any_size(wb, creds):
    from storage import inbox as inbox_repo

    load_demo(wb, annotations=100)
    p = _principal(wb)
    db = wb.store.db
    q = inbox._query(p, inbox.InboxFilter(sources=("annotation",)))
    small = (vm_steps(db, lambda: inbox_repo.annotation_status_counts(db, p.workspace_id)), vm_steps(db, lambda: inbox_repo.count(db, q)))
    site = db.execute("SELECT id FROM sites WHERE workspace_id = ? LIMIT 1", [p.workspace_id]).fetchone()[0]
    with wb.store.write() as w:
        w.executemany(
            "INSERT INTO annotations (id, workspace_id, site_id, page_url, kind, body, status, created_at, updated_at) "
            "VALUES (?, ?, ?, 'https://s.example/', 'bug', 'b', 'new', ?, ?)",
            [(f"bulk{i}", p.workspace_id, site, i, i) for i in range(2000)],
        )
    large = (vm_steps(db, lambda: inbox_repo.annotation_status_counts(db, p.workspace_id)), vm_steps(db, lambda: inbox_repo.count(db, q)))
    assert large[0] <= small[0] * 1.2 and large[1] <= small[1] * 1.2, (small, large)
