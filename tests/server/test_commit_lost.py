"""A write whose connection is lost while its COMMIT is out: the 503 does not say nothing was saved.

PostgreSQL may have committed it before the connection went: the client is told it may have been
saved (read it back, or retry with the same Idempotency-Key), where it was told "nothing was
changed" and a plain retry of a reply could add it twice.
"""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from storage import pg_versions
from tests.conftest import TEST_SETTINGS, bearer
from workbench.server import write_failed
from workbench.server.app import create_app

pytestmark = pytest.mark.postgresql_only("a SQLite store has no connection to lose")


def test_a_write_losing_its_connection_at_commit_is_answered_as_maybe_saved(wb, creds, monkeypatch, caplog):
    with TestClient(create_app(wb, TEST_SETTINGS)) as client:
        r = client.post(f"/api/widget/sites/{creds['site_id']}/annotations", headers={"X-GF-Widget-Token": creds["widget_token"]},
                        json={"page_url": "https://shop.example/cart", "body": "Checkout overlaps"})
        assert r.status_code == 201, r.text
        replies = f"/api/v1/annotations/{r.json()['id']}/replies"
        bump = pg_versions.bump_and_commit
        # The server ends the session as the COMMIT's round trip arrives, as a crash or a failover would.
        monkeypatch.setattr(pg_versions, "bump_and_commit",
                            lambda *a: "SELECT pg_terminate_backend(pg_backend_pid()); " + bump(*a))
        with caplog.at_level(logging.ERROR, logger="workbench.server"):
            lost = client.post(replies, headers=bearer(creds["member_token"]), json={"body": "maybe saved"})
        assert lost.status_code == 503, lost.text
        assert "nothing was changed" not in lost.text and "may have been saved" in lost.text, lost.text
        assert lost.json()["detail"] == write_failed.COMMIT_UNKNOWN
        assert any("it may have been saved" in r.getMessage() for r in caplog.records)
        monkeypatch.setattr(pg_versions, "bump_and_commit", bump)
        # The thread's next write opens a new connection and goes through.
        assert client.post(replies, headers=bearer(creds["member_token"]), json={"body": "again"}).status_code == 201
