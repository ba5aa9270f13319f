"""Annotation writes run on the event loop only when the store is free at once (server/writer.py).

When another process holds the store's write lock, the PATCH must neither block the loop (the
list keeps being answered) nor fail: it waits in the threadpool and lands once the holder
commits. When the store is free, the write commits before its response like any other.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from tests.conftest import TEST_SETTINGS, bearer
from tests.session_helpers import wait_until
from tests.stores import a_writer_waits, another_writer, reading
from workbench.server.app import create_app
from workbench.services.demo import load_demo


def test_a_write_while_another_process_holds_the_store_waits_off_the_loop_and_lands(wb, creds):
    load_demo(wb, annotations=10)
    member = bearer(creds["member_token"])
    listing = f"/api/v1/sites/{creds['site_id']}/annotations?limit=5"
    with TestClient(create_app(wb, TEST_SETTINGS)) as c, ThreadPoolExecutor(1) as pool:
        target = c.get(listing, headers=member).json()["items"][0]["id"]
        with another_writer(wb.store):  # as the TUI or a sync would be
            pending = pool.submit(c.patch, f"/api/v1/annotations/{target}", json={"summary": "after the holder"}, headers=member)
            # The PATCH has reached the store: its fallback thread waits for the other writer (SQLite:
            # holding this process's lock in the busy handler; PostgreSQL: on the writers' lock).
            wait_until(lambda: a_writer_waits(wb.store), bool, what="the PATCH waiting for the store")
            listed = c.get(listing, headers=member)
            assert listed.status_code == 200
            assert not pending.done()
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
        with reading(wb.store.data_dir) as fresh:
            assert fresh.execute("SELECT summary FROM annotations WHERE id = ?", [target]).fetchone()[0] == "inline"
            assert fresh.execute("SELECT count(*) FROM replies WHERE annotation_id = ? AND body = 'a reply'", [target]).fetchone()[0] == 1
