"""Annotation writes run on the event loop only when the store is free at once (server/writer.py).

When another process holds the store's write lock, the PATCH must neither block the loop (the
list keeps being answered) nor fail: it waits in the threadpool and lands once the holder
commits. When the store is free, the write commits before its response like any other.
"""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from tests.conftest import TEST_SETTINGS, bearer
from tests.session_helpers import wait_until
from workbench.server.app import create_app
from workbench.services.demo import load_demo


def test_a_write_while_another_process_holds_the_store_waits_off_the_loop_and_lands(wb, creds):
    load_demo(wb, annotations=10)
    member = bearer(creds["member_token"])
    listing = f"/api/v1/sites/{creds['site_id']}/annotations?limit=5"
    with TestClient(create_app(wb, TEST_SETTINGS)) as c, ThreadPoolExecutor(1) as pool:
        target = c.get(listing, headers=member).json()["items"][0]["id"]
        other = sqlite3.connect(wb.store.path, isolation_level=None)  # another writer, as the TUI or a sync would be
        other.execute("BEGIN IMMEDIATE")
        try:
            pending = pool.submit(c.patch, f"/api/v1/annotations/{target}", json={"summary": "after the holder"}, headers=member)
            # The PATCH has reached the store: its fallback thread holds this process's lock while
            # SQLite's busy handler waits for the other writer.
            wait_until(lambda: wb.store._write_lock.locked(), bool, what="the PATCH waiting for the store")
            listed = c.get(listing, headers=member)
            assert listed.status_code == 200
            assert not pending.done()
        finally:
            other.execute("COMMIT")
            other.close()
        patched = pending.result(timeout=10)
        assert patched.status_code == 200 and patched.json()["summary"] == "after the holder"
        assert c.get(f"/api/v1/annotations/{target}", headers=member).json()["summary"] == "after the holder"


def test_writes_on_a_free_store_commit_before_they_answer(wb, creds):
    load_demo(wb, annotations=10)
    member = bearer(creds["member_token"])
    with TestClient(create_app(wb, TEST_SETTINGS)) as c:
        target = c.get(f"/api/v1/sites/{creds['site_id']}/annotations?limit=1", headers=member).json()["items"][0]["id"]
        assert c.patch(f"/api/v1/annotations/{target}", json={"summary": "inline"}, headers=member).status_code == 200
        assert c.post(f"/api/v1/annotations/{target}/replies", json={"body": "a reply"}, headers=member).status_code == 201
        # Read through a connection of its own: what is committed, not what one connection holds.
        fresh = sqlite3.connect(wb.store.path)
        try:
            assert fresh.execute("SELECT summary FROM annotations WHERE id = ?", [target]).fetchone()[0] == "inline"
            assert fresh.execute("SELECT count(*) FROM replies WHERE annotation_id = ? AND body = 'a reply'", [target]).fetchone()[0] == 1
        finally:
            fresh.close()
