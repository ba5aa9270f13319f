"""A real `workbench serve` keeps the search indexes current and merged by itself (workbench/server/search_upkeep.py).

A reply leaves its annotation's inbox document pending (migration m020) and the reply itself
pending for the annotation search's index (m023); nothing searches here, so only the server's upkeep
can index them: the pending rows go, and each index finds the new words.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from storage.annotations import add_annotations
from tests.server.conftest import serve, served_world
from tests.storage.records import T0, annotation
from workbench.services.context import Workbench


@pytest.mark.sqlite_only("the search indexes are SQLite's FTS5: PostgreSQL's are generated columns")
def test_a_reply_through_the_server_is_indexed_without_a_search(tmp_path: Path, engine: str):
    data, w = served_world(tmp_path)
    srv = serve(data)
    try:
        r = httpx.post(f"{srv.url}/api/v1/annotations/{w.a['annotation_id']}/replies",
                       headers={"Authorization": f"Bearer {w.a['member_token']}"}, json={"body": "Quokka sightings confirmed"})
        assert r.status_code == 201, r.text
        db = sqlite3.connect(data / "workbench.db")
        try:
            deadline = time.monotonic() + 30
            pending = "SELECT (SELECT count(*) FROM inbox_fts_pending) + (SELECT count(*) FROM replies_fts_pending)"
            # The condition this test needs: the server's upkeep has indexed what was pending.
            while db.execute(pending).fetchone()[0]:
                assert time.monotonic() < deadline, "the server never indexed the pending documents"
                time.sleep(0.05)
            assert db.execute("SELECT count(*) FROM inbox_fts WHERE inbox_fts MATCH 'quokka'").fetchone()[0] == 1
            assert db.execute("SELECT count(*) FROM replies_fts WHERE replies_fts MATCH 'quokka'").fetchone()[0] == 1
        finally:
            db.close()
    finally:
        srv.stop()


@pytest.mark.sqlite_only("the search indexes are SQLite's FTS5: PostgreSQL's are generated columns")
def test_the_server_merges_the_segments_writes_left(tmp_path: Path, engine: str):
    """Segments no write merges (migration m038): twenty writes left twenty in the inbox's index,
    and the server's upkeep merges them in steps of its own (storage/search_merge.py)."""
    data, w = served_world(tmp_path)
    wb = Workbench.open(str(data), mailer=None)
    try:
        # This process only writes: the server is to merge. (Setting its stop before any write did
        # nothing: the first write starts the upkeep thread, and starting it clears the stop.)
        wb.store.index_in_upkeep = False
        for i in range(20):
            with wb.store.write() as db:
                add_annotations(db, [annotation(w.a["workspace_id"], w.a["site_id"], f"seg{i}", body=f"wombat {i}", created_at=T0 + i)])
    finally:
        wb.store.close()
    db = sqlite3.connect(data / "workbench.db")
    try:
        segments = "SELECT count(DISTINCT segid) FROM inbox_fts_idx"
        assert db.execute(segments).fetchone()[0] >= 20
        srv = serve(data)
        try:
            deadline = time.monotonic() + 30
            while db.execute(segments).fetchone()[0] >= 20:  # the condition this test needs: the upkeep has merged
                assert time.monotonic() < deadline, "the server never merged the segments"
                time.sleep(0.05)
            db.execute("INSERT INTO inbox_fts(inbox_fts, rank) VALUES ('integrity-check', 0)")
            assert db.execute("SELECT count(*) FROM inbox_fts WHERE inbox_fts MATCH 'wombat'").fetchone()[0] == 20
        finally:
            srv.stop()
    finally:
        db.close()
