"""A round trip whose connection is lost while a write is out, its outcome unknown: what the client is told.

A write's COMMIT: PostgreSQL may have committed it before the connection went, so the client is
told it may have been saved (read it back, or retry with the same Idempotency-Key), where it was
told "nothing was changed" and a plain retry of a reply could add it twice. A rate count (the
widget's): taken or not, the request is let through (workbench/server/ratelimit.py ``PgBuckets.hit``).
"""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from storage import pg_versions, rate_buckets
from storage.pg_conn import sql_text
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


def test_a_widget_submission_whose_rate_count_loses_its_connection_is_saved(wb, creds, monkeypatch, caplog):
    """It was answered 503, the visitor's feedback bounced for the server's lost connection."""
    submit = f"/api/widget/sites/{creds['site_id']}/annotations"
    widget = {"X-GF-Widget-Token": creds["widget_token"]}
    with TestClient(create_app(wb, TEST_SETTINGS)) as client:
        assert client.post(submit, headers=widget, json={"page_url": "https://shop.example/", "body": "first"}).status_code == 201
        # The server ends the session while the count is out, as a crash or a failover would.
        monkeypatch.setattr(rate_buckets, "HIT", sql_text("SELECT pg_terminate_backend(pg_backend_pid()), %(key)s::text, %(window)s::bigint"))
        with caplog.at_level(logging.WARNING, logger="workbench.server"):
            r = client.post(submit, headers=widget, json={"page_url": "https://shop.example/cart", "body": "counted or not"})
        assert r.status_code == 201, r.text
        assert any("let through uncounted" in r.getMessage() for r in caplog.records)
        monkeypatch.undo()
        assert client.get(f"/api/v1/annotations/{r.json()['id']}", headers=bearer(creds["member_token"])).status_code == 200
        # The next count opens a new connection.
        assert client.post(submit, headers=widget, json={"page_url": "https://shop.example/", "body": "again"}).status_code == 201
