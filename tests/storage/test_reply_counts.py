"""The replies a workspace holds are counted by triggers (m039), so the switcher's counts cost a few rows."""

from __future__ import annotations

from storage import Store
from storage import workspaces as repo
from tests.plans import vm_steps
from workbench.services.demo import load_demo
from workbench.services.local import local_user


def _exact(db, ws: str) -> int:
    return db.execute("SELECT count(*) FROM replies WHERE workspace_id = ?", [ws]).fetchone()[0]


def _kept(db, ws: str) -> int:
    return repo.counts(db, ws)[1]


def test_reply_counts_are_kept_through_inserts_replaces_moves_and_deletes(wb, creds):
    load_demo(wb, annotations=40)
    ws = local_user(wb).workspace_id
    db = wb.store.db
    start = _kept(db, ws)
    assert start == _exact(db, ws) > 0
    with wb.store.write() as w:
        w.execute("INSERT INTO workspaces (id, name, created_at) VALUES ('other', 'Other', 0)")
        row = w.execute("SELECT * FROM replies WHERE workspace_id = ? LIMIT 1", [ws]).fetchone()
        marks = ", ".join("?" for _ in row)
        w.execute(f"INSERT OR REPLACE INTO replies VALUES ({marks})", row)  # the sync mirror's upsert: no change
        moved = w.execute("SELECT id FROM replies WHERE workspace_id = ? LIMIT 2", [ws]).fetchall()
        w.execute("UPDATE replies SET workspace_id = 'other' WHERE id = ?", [moved[0][0]])
        w.execute("UPDATE replies SET body = 'edited' WHERE id = ?", [moved[1][0]])  # no workspace change
        w.execute("DELETE FROM replies WHERE id IN (SELECT id FROM replies WHERE workspace_id = ? LIMIT 3)", [ws])
    assert _kept(db, ws) == _exact(db, ws) == start - 4
    assert _kept(db, "other") == _exact(db, "other") == 1


def test_the_migration_counts_the_replies_already_there(wb, creds):
    load_demo(wb, annotations=30)
    ws = local_user(wb).workspace_id
    exact = _exact(wb.store.db, ws)
    # A store from before m039: its replies, no kept counts, no triggers.
    with wb.store.write() as w:
        for trigger in ("replies_count_insert", "replies_count_delete", "replies_count_update"):
            w.execute(f"DROP TRIGGER {trigger}")
        w.execute("DROP TABLE reply_counts")
        w.execute("DELETE FROM _sqlite_migrations WHERE name = 'm039_reply_counts'")
        w.execute("PRAGMA user_version = 0")
    wb.store.close()
    store = Store(wb.store.data_dir)
    try:
        assert _kept(store.db, ws) == exact > 0
    finally:
        store.close()


def test_counting_a_workspace_costs_the_same_at_any_size(wb, creds):
    load_demo(wb, annotations=40)
    ws = local_user(wb).workspace_id
    db = wb.store.db
    small = vm_steps(db, lambda: repo.counts(db, ws))
    annotation, site = db.execute("SELECT id, site_id FROM annotations WHERE workspace_id = ? LIMIT 1", [ws]).fetchone()
    with wb.store.write() as w:
        w.executemany(
            "INSERT INTO replies (id, annotation_id, workspace_id, author_kind, author_name, body, created_at, site_id) "
            "VALUES (?, ?, ?, 'visitor', 'V', 'b', ?, ?)",
            [(f"bulk{i}", annotation, ws, i, site) for i in range(3000)],
        )
    assert _kept(db, ws) == _exact(db, ws)
    large = vm_steps(db, lambda: repo.counts(db, ws))
    assert large <= small * 1.2, (small, large)
