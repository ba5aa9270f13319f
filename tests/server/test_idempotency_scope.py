"""Idempotency-Key hardening (issue 13 items 1-3, 15e; issue 16): scope, authentication first, no stored secrets, plans.

In-process app over a real store: these are about what the middleware decides and what it
writes to the idempotency table; the crash-after-apply round is in test_crash_after_apply.py.
"""

from __future__ import annotations

import json

import pytest

from storage import idempotency as repo
from tests.conftest import bearer
from tests.helpers import post_annotation
from tests.stores import postgresql_plan
from workbench.domain.roles import Role
from workbench.services import accounts

PERSONA = {"name": "Night owl", "category": "accessibility", "description": "Reads at 3 am"}


def _table(wb) -> bytes:
    """Everything the idempotency table holds, as one blob to search for secrets."""
    rows = wb.store.db.execute("SELECT * FROM idempotency").fetchall()
    return b"\n".join(
        b"|".join(v if isinstance(v, bytes) else str(v).encode() for v in row) for row in rows
    )


def test_same_key_in_two_workspaces_is_two_requests(client, creds, wb):
    # A user who belongs to workspaces A and B posts the same body under the same key to each.
    ws_b, _ = accounts.create_workspace(wb, "B inc", "owner@b.example", "B owner")
    owner_email = wb.store.db.execute("SELECT email FROM users WHERE id = ?", [creds["owner_user_id"]]).fetchone()[0]
    accounts.add_member(wb, ws_b.id, owner_email, "ignored", Role.MEMBER)
    key = {"Idempotency-Key": "persona-1"}
    a = client.post("/api/personas", json=PERSONA, headers=bearer(creds["owner_session"], creds["workspace_id"]) | key)
    b = client.post("/api/personas", json=PERSONA, headers=bearer(creds["owner_session"], ws_b.id) | key)
    assert a.status_code == b.status_code == 201, (a.text, b.text)
    assert "idempotent-replayed" not in b.headers
    assert a.json()["id"] != b.json()["id"]
    in_b = wb.store.db.execute("SELECT count(*) FROM personas WHERE workspace_id = ? AND name = ?", [ws_b.id, "Night owl"]).fetchone()[0]
    assert in_b == 1


def test_replay_after_revocation_is_refused(client, creds, wb):
    ann = post_annotation(client, creds)
    owner = bearer(creds["owner_session"], creds["workspace_id"])
    minted = client.post(f"/api/workspaces/{creds['workspace_id']}/api-tokens", json={"name": "ci", "role": "MEMBER"}, headers=owner).json()
    h = bearer(minted["token"]) | {"Idempotency-Key": "r1"}
    url = f"/api/v1/annotations/{ann['id']}/replies"
    assert client.post(url, json={"body": "hi"}, headers=h).status_code == 201
    assert client.post(url, json={"body": "hi"}, headers=h).headers.get("idempotent-replayed") == "true"
    assert client.delete(f"/api/workspaces/{creds['workspace_id']}/api-tokens/{minted['id']}", headers=owner).status_code == 204
    again = client.post(url, json={"body": "hi"}, headers=h)
    assert again.status_code == 401 and "revoked" in again.json()["detail"]
    assert "idempotent-replayed" not in again.headers


def test_replay_after_workspace_deletion_is_refused(client, creds):
    owner = bearer(creds["owner_session"], creds["workspace_id"]) | {"Idempotency-Key": "p1"}
    assert client.post("/api/personas", json=PERSONA, headers=owner).status_code == 201
    assert client.delete(f"/api/workspaces/{creds['workspace_id']}", headers=owner).status_code == 200
    again = client.post("/api/personas", json=PERSONA, headers=owner)
    assert again.status_code == 403 and "idempotent-replayed" not in again.headers
    token = client.post(
        "/api/personas", json=PERSONA, headers=bearer(creds["member_token"]) | {"Idempotency-Key": "p1"}
    )
    assert token.status_code == 401


def test_minted_token_is_not_stored_and_a_retry_names_it(client, creds, wb):
    owner = bearer(creds["owner_session"], creds["workspace_id"]) | {"Idempotency-Key": "mint-1"}
    url = f"/api/workspaces/{creds['workspace_id']}/api-tokens"
    first = client.post(url, json={"name": "ci", "role": "MEMBER"}, headers=owner)
    assert first.status_code == 201
    plaintext = first.json()["token"]
    assert plaintext.encode() not in _table(wb)
    retry = client.post(url, json={"name": "ci", "role": "MEMBER"}, headers=owner)
    assert retry.status_code == 409 and "secret" in retry.json()["detail"]
    assert retry.json()["applied"]["entity_id"] == first.json()["id"]
    n = wb.store.db.execute("SELECT count(*) FROM api_tokens WHERE name = 'ci'").fetchone()[0]
    assert n == 1


def test_rotated_mcp_token_is_not_stored(client, creds, wb):
    owner = bearer(creds["owner_session"], creds["workspace_id"]) | {"Idempotency-Key": "rot-1"}
    r = client.post(f"/api/widget/sites/{creds['site_id']}/secrets/rotate-mcp-token", headers=owner)
    assert r.status_code == 200
    assert r.json()["mcp_token"].encode() not in _table(wb)


def test_upload_url_retry_presigns_again(client, creds, wb):
    ann = post_annotation(client, creds)
    h = bearer(creds["member_token"]) | {"Idempotency-Key": "up-1"}
    url = f"/api/v1/annotations/{ann['id']}/resolutions/upload-url"
    first = client.post(url, json={"kind": "before", "content_type": "image/png"}, headers=h)
    second = client.post(url, json={"kind": "before", "content_type": "image/png"}, headers=h)
    assert first.status_code == second.status_code == 200
    assert "idempotent-replayed" not in second.headers and second.json()["url"] != first.json()["url"]
    assert b"signature" not in _table(wb)


def test_mcp_path_is_recorded_without_its_token(client, creds, wb):
    ann = post_annotation(client, creds)
    call = {
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "reply", "arguments": {"id": ann["id"], "message": "on it"}},
    }
    h = {"Accept": "application/json, text/event-stream", "Idempotency-Key": "mcp-1"}
    first = client.post(f"/mcp/{creds['mcp_token']}", json=call, headers=h)
    again = client.post(f"/mcp/{creds['mcp_token']}", json=call, headers=h)
    slashed = client.post(f"/mcp/{creds['mcp_token']}/", json=call, headers=h)  # the endpoint's other spelling
    assert first.status_code == 200 and again.headers.get("idempotent-replayed") == "true"
    assert slashed.headers.get("idempotent-replayed") == "true", slashed.text
    assert creds["mcp_token"].encode() not in _table(wb)
    paths = [r[0] for r in wb.store.db.execute("SELECT path FROM idempotency").fetchall()]
    assert paths == ["/mcp/<token>"]
    assert wb.store.db.execute("SELECT count(*) FROM replies WHERE annotation_id = ?", [ann["id"]]).fetchone()[0] == 1


def test_reformatted_json_is_the_same_request(client, creds, wb):
    ann = post_annotation(client, creds)
    h = bearer(creds["member_token"]) | {"Idempotency-Key": "fmt", "Content-Type": "application/json"}
    url = f"/api/v1/annotations/{ann['id']}/replies"
    compact = json.dumps({"body": "same", "author_name": "Ann"}, separators=(",", ":"))
    spaced = json.dumps({"author_name": "Ann", "body": "same"}, indent=2)
    first = client.post(url, content=compact, headers=h)
    second = client.post(url, content=spaced, headers=h)
    assert first.status_code == second.status_code == 201
    assert second.headers.get("idempotent-replayed") == "true" and second.json() == first.json()


@pytest.mark.sqlite_only("reads SQLite's EXPLAIN QUERY PLAN; test_claim_and_sweep_use_indexes_on_postgresql is its counterpart")
def test_claim_and_sweep_use_indexes(wb):
    db = wb.store.db
    lookup = db.execute(
        "EXPLAIN QUERY PLAN SELECT body_hash FROM idempotency WHERE principal = ? AND key = ?", ["s", "k"]
    ).fetchall()
    sweep = db.execute("EXPLAIN QUERY PLAN DELETE FROM idempotency WHERE created_at < ?", [0]).fetchall()
    assert all("USING" in row[3] and "INDEX" in row[3] for row in lookup), lookup
    assert any("idempotency_created" in row[3] for row in sweep), sweep


@pytest.mark.postgresql_only("PostgreSQL's plans, for test_claim_and_sweep_use_indexes's property")
def test_claim_and_sweep_use_indexes_on_postgresql(wb):
    lookup = postgresql_plan(wb.store, "SELECT body_hash FROM idempotency WHERE principal = ? AND key = ?", ["s", "k"])
    sweep = postgresql_plan(wb.store, "DELETE FROM idempotency WHERE created_at < ?", [0])
    assert "Index" in lookup and "Seq Scan" not in lookup, lookup
    assert "idempotency_created" in sweep and "Seq Scan" not in sweep, sweep


def test_expired_records_are_swept(client, creds, wb):
    ann = post_annotation(client, creds)
    url = f"/api/v1/annotations/{ann['id']}/replies"
    assert client.post(url, json={"body": "old"}, headers=bearer(creds["member_token"]) | {"Idempotency-Key": "old"}).status_code == 201
    with wb.store.write() as db:
        db.execute("UPDATE idempotency SET created_at = created_at - ?", [repo.RETENTION_MS + 1])
    # A fresh server process sweeps on its first keyed POST.
    from fastapi.testclient import TestClient

    from tests.conftest import TEST_SETTINGS
    from workbench.server.app import create_app

    with TestClient(create_app(wb, TEST_SETTINGS)) as c:
        assert c.post(url, json={"body": "new"}, headers=bearer(creds["member_token"]) | {"Idempotency-Key": "new"}).status_code == 201
    keys = [r[0] for r in wb.store.db.execute("SELECT key FROM idempotency").fetchall()]
    assert keys == ["new"]
