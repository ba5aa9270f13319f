"""``Idempotency-Key`` when PostgreSQL's connection is lost around a keyed request's own records.

The claim committing and its answer lost (a server stopping as it committed): the key stays the
request's that never ran, nor ever will. The record of a response that was applied lost: the
client still gets the response its write earned, and the operator a line, not a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
import pytest

from storage import idempotency as repo
from storage import pg_versions
from tests.conftest import bearer
from tests.helpers import post_annotation
from workbench.services.context import Workbench

pytestmark = pytest.mark.postgresql_only("a database server that can be lost is PostgreSQL's")


def test_a_claim_whose_commit_lost_its_answer_does_not_hold_the_key_for_the_process_life(
    client: Any, creds: dict, wb: Workbench, monkeypatch: pytest.MonkeyPatch
):
    """The claim's COMMIT went through and the connection was lost before its answer: a 503, the
    request never ran, but the process went on counting it as running (its claim's record in
    flight, under its own boot), so every retry of the key was a 409 "still being processed"
    until the process stopped."""
    a = post_annotation(client, creds)
    url = f"/api/v1/annotations/{a['id']}/replies"
    h = bearer(creds["member_token"]) | {"Idempotency-Key": "commit-lost"}
    claim, bump = repo.claim, pg_versions.bump_and_commit
    cut = {"next": False}

    def claiming(db: Any, **kw: Any) -> Any:
        cut["next"] = True
        return claim(db, **kw)

    def bump_then_hang_up(auth_before: int) -> str:
        # The COMMIT goes through, then the backend ends its own session: the server's goodbye
        # arrives where the commit's answer was awaited, as when a server stops at that moment.
        script = bump(auth_before)
        if cut["next"]:
            cut["next"] = False
            script += "; SELECT pg_terminate_backend(pg_backend_pid())"
        return script

    monkeypatch.setattr(repo, "claim", claiming)
    monkeypatch.setattr(pg_versions, "bump_and_commit", bump_then_hang_up)
    lost = client.post(url, json={"body": "once"}, headers=h)
    assert lost.status_code == 503, lost.text
    monkeypatch.setattr(repo, "claim", claim)
    state = wb.store.db.execute("SELECT state FROM idempotency WHERE key = ?", ["commit-lost"]).fetchone()
    assert state == ("in_flight",), "the claim committed"
    retry = client.post(url, json={"body": "once"}, headers=h)
    assert retry.status_code == 201, retry.text
    assert wb.store.db.execute("SELECT count(*) FROM replies WHERE annotation_id = ?", [a["id"]]).fetchone()[0] == 1


def test_a_response_whose_record_lost_its_connection_is_delivered_and_said_in_a_line(
    client: Any, creds: dict, wb: Workbench, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    """The request's write committed, then its response's record lost the connection: the error
    escaped the middleware after the response had started, a traceback, and the client got a
    201 without its body. The record stays applied: a retry is told what was written."""
    a = post_annotation(client, creds)
    url = f"/api/v1/annotations/{a['id']}/replies"
    h = bearer(creds["member_token"]) | {"Idempotency-Key": "record-lost"}
    complete = repo.complete
    db_url = wb.store.url  # pyright: ignore[reportAttributeAccessIssue]  # a PgStore: postgresql_only

    def cut_then_complete(db: Any, **kw: Any) -> None:
        with psycopg.connect(db_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s, 10000)", [db.raw.info.backend_pid])
        complete(db, **kw)

    monkeypatch.setattr(repo, "complete", cut_then_complete)
    with caplog.at_level(logging.INFO):
        first = client.post(url, json={"body": "once"}, headers=h)
    assert first.status_code == 201, first.text
    assert first.json()["body"] == "once"
    said = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(said) == 1 and said[0].exc_info is None, [r.getMessage() for r in said]
    assert "keeps no response" in said[0].getMessage()
    monkeypatch.setattr(repo, "complete", complete)
    retry = client.post(url, json={"body": "once"}, headers=h)
    assert retry.status_code == 409 and retry.json()["idempotency"] == "applied", retry.text
    assert wb.store.db.execute("SELECT count(*) FROM replies WHERE annotation_id = ?", [a["id"]]).fetchone()[0] == 1
