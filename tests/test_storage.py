"""The SQLite store: pragmas, migrations, transactions, and several processes writing one file."""

from __future__ import annotations

import multiprocessing
import sqlite3

import pytest

from storage import Store
from storage.schema import migrations
from workbench.domain.annotations import WidgetAnnotationCreate


def test_pragmas_wal_foreign_keys_busy_timeout(tmp_path):
    store = Store(tmp_path)
    db = store.db
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    with pytest.raises(sqlite3.IntegrityError):
        with store.write() as w:
            w.execute("INSERT INTO replies (id, annotation_id, workspace_id, author_kind, author_name, body, created_at) VALUES ('r','missing','w','user','n','b',1)")


def test_migrations_apply_once_and_reopen_is_a_noop(tmp_path):
    Store(tmp_path)
    store = Store(tmp_path)
    assert migrations.pending(store.db) == []
    names = [m.name for m in migrations.applied(store.db)]
    assert names == sorted(set(names), key=names.index)


def test_write_rolls_back_everything_on_error(tmp_path):
    store = Store(tmp_path)
    with pytest.raises(RuntimeError):
        with store.write() as db:
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
    # the FTS index followed every insert
    assert db.execute("SELECT count(*) FROM annotations_fts WHERE annotations_fts MATCH 'p3'").fetchone()[0] == 40
