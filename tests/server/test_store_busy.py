"""A request whose write meets another writer holding the store past the busy timeout: 503 + Retry-After, not a bare 500.

Another writer (a sync or the TUI on the same SQLite file, another host's long write on
PostgreSQL) is a real transaction of another connection (tests/stores.py ``another_writer``); the
timeout is cut to a moment. The answer is the full disk's (workbench/server/write_failed.py), with
a retry in seconds; a read does not wait for that writer at all.
"""

from __future__ import annotations

import pytest

from storage import db as sqlite_store
from storage import pg
from tests.conftest import bearer
from tests.helpers import post_annotation
from tests.stores import another_writer
from workbench.server.write_failed import RETRY_BUSY_S


@pytest.fixture(autouse=True)
def _short_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before the app opens the store: each connection takes its timeout when it is made."""
    monkeypatch.setattr(sqlite_store, "BUSY_TIMEOUT_MS", 200)
    monkeypatch.setattr(pg, "LOCK_TIMEOUT_MS", 200)


def test_a_write_behind_another_writer_is_a_503_with_retry_after_and_a_read_goes_through(client, creds, wb):
    a = post_annotation(client, creds)["id"]
    member = bearer(creds["member_token"])
    with another_writer(wb.store):
        r = client.patch(f"/api/v1/annotations/{a}", json={"status": "ack"}, headers=member)
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == str(RETRY_BUSY_S)
        assert r.json() == {"detail": "The server cannot store this now: another write has held its store for over 0.2 s. "
                                      "The write was rolled back; try again shortly."}
        listed = client.get(f"/api/v1/sites/{creds['site_id']}/annotations?limit=1", headers=member)
        assert listed.status_code == 200, listed.text
    assert client.get(f"/api/v1/annotations/{a}", headers=member).json()["status"] == "new"
    assert client.patch(f"/api/v1/annotations/{a}", json={"status": "ack"}, headers=member).status_code == 200
