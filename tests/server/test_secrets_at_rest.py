"""Secrets at rest and in logs: after a realistic session against a real server, no working secret is readable.

The session (bootstrap, minted tokens, a rotated MCP token, a presigned upload, MCP calls with
the token in the path, JWTs, store keys, stakeholders, a review link), every secret-bearing POST
sent with an Idempotency-Key, then the whole authorisation matrix over TCP with a key on every
POST. Then:
- the bytes of every file of the data directory (the database, its -wal and -shm) and, on
  PostgreSQL, a pg_dump of the database hold none of
  the secrets the store must keep only as a hash, or never: API tokens, store keys, JWTs, upload
  signatures (README: "stored only as SHA-256 + last four characters");
- the secrets the product must show again (a site's current MCP and widget tokens, stakeholder
  tokens, a feedback session's review link) sit only in their own column, nowhere else, and a
  rotated-away MCP token in no table at all;
- the server's log (at its default level, info) holds none of them at all.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from storage.db import Store
from tests.conftest import ServerProcess
from tests.server.conftest import serve
from tests.server.matrix_rows import MCP_INIT, PNG, ROWS
from tests.server.test_auth_matrix import RUN_ORDER, heal
from tests.server.world import build_world
from tests.stores import at_rest, columns
from workbench.services.context import Workbench

pytestmark = pytest.mark.e2e

# Where a secret the product shows again may live: (table, column).
# A stakeholder's token is its row's key, so the annotations it submitted refer to it by that key.
HOME = {"mcp": {("sites", "mcp_token")}, "widget": {("sites", "widget_token")}, "rotated-away mcp": set(),
        "stakeholder": {("stakeholders", "token"), ("annotations", "stakeholder_token")},
        "review": {("feedback_sessions", "review_token"), ("feedback_sessions", "feedback_url")}}


def keyed(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Idempotency-Key": uuid.uuid4().hex}


def ok(r: httpx.Response, status: int = 200) -> dict:
    assert r.status_code == status, f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:300]}"
    return r.json() if r.headers.get("content-type", "").startswith("application/json") else {}


def mcp_call(c: httpx.Client, token: str, method: str, params: dict, *, key: bool = True) -> dict:
    body = {"jsonrpc": "2.0", "id": uuid.uuid4().hex, "method": method, "params": params}
    headers = {"Accept": "application/json, text/event-stream"}
    return ok(c.post(f"/mcp/{token}", json=body, headers=keyed(headers) if key else headers))


def realistic_session(c: httpx.Client, w, never: dict[str, str], shown: dict[str, set[str]]) -> None:
    """Drive every secret-bearing flow once, recording each plaintext secret it hands out."""
    a, owner = w.a, w.headers["owner"]
    ws, site, ann = a["workspace_id"], a["site_id"], a["annotation_id"]
    for role in ("MEMBER", "GUEST"):
        minted = ok(c.post(f"/api/workspaces/{ws}/api-tokens", json={"name": f"ci {role}", "role": role}, headers=keyed(owner)), 201)
        never[f"minted {role} token"] = minted["token"]
        ok(c.get("/api/v1/sites", headers={"Authorization": f"Bearer {minted['token']}"}))
    ok(c.get(f"/api/widget/sites/{site}/secrets", headers=owner))
    old_mcp = a["mcp_token"]
    mcp_call(c, old_mcp, "initialize", MCP_INIT["params"])
    mcp_call(c, old_mcp, "tools/call", {"name": "reply", "arguments": {"id": ann, "message": "an agent was here"}})
    rotated = ok(c.post(f"/api/widget/sites/{site}/secrets/rotate-mcp-token", headers=keyed(owner)))["mcp_token"]
    # The old token stays in the store only in its site row's old page images (dead, and
    # overwritten as the WAL recycles), so it is looked for in the tables, not the raw bytes.
    shown["rotated-away mcp"].add(old_mcp)
    shown["mcp"].add(rotated)
    mcp_call(c, rotated, "tools/call", {"name": "list_annotations", "arguments": {"limit": 5}})
    mcp_call(c, rotated, "tools/call", {"name": "acknowledge", "arguments": {"id": ann}})
    # A presigned upload, its PUT, and the resolution that cites it (through REST and through MCP).
    member = w.headers["memb"]
    pre = ok(c.post(f"/api/v1/annotations/{ann}/resolutions/upload-url", json={"kind": "after", "content_type": "image/png"}, headers=keyed(member)))
    never["upload signature (REST)"] = parse_qs(urlsplit(pre["url"]).query)["signature"][0]
    ok(c.put(pre["url"].replace("http://testserver", str(c.base_url).rstrip("/")), content=PNG, headers={"Content-Type": "image/png"}))
    ok(c.post(f"/api/v1/annotations/{ann}/resolutions", json={"after_key": pre["key"], "diff_url": "https://github.com/acme/shop/pull/3"},
              headers=keyed(member)), 201)
    via_mcp = mcp_call(c, rotated, "tools/call", {"name": "get_resolution_upload_url",
                                                  "arguments": {"annotation_id": ann, "kind": "before", "content_type": "image/png"}})
    never["upload signature (MCP)"] = re.findall(r"signature=([0-9a-f]+)", json.dumps(via_mcp))[0]  # the url, and the same in the text
    # Stakeholders: created, renamed (its token in the path), used by the widget.
    stake = ok(c.post(f"/api/widget/sites/{site}/stakeholders", json={"name": "Vera", "email": "vera@acme.example", "auto_fix_default": "optional_on"},
                      headers=keyed(member)), 201)["token"]
    shown["stakeholder"].add(stake)
    ok(c.patch(f"/api/widget/sites/{site}/stakeholders/{stake}", json={"name": "Vera V."}, headers=member))
    ok(c.post(f"/api/widget/sites/{site}/annotations", json={"page_url": "https://shop.acme.example/", "body": "Hero image is blurry", "auto_fix": True},
              headers=keyed({"X-GF-Widget-Token": a["widget_token"], "X-GF-Stakeholder-Token": stake})), 201)
    # The session APIs: a store key and a JWT, each on its POSTs with a key.
    fs = ok(c.post("/api/v1/feedback-sessions", headers=keyed(w.headers["skey"])), 201)
    shown["review"].add(fs["feedbackUrl"].split("token=", 1)[1])
    ok(c.get(f"/review/{fs['id']}", params={"token": fs["feedbackUrl"].split("token=", 1)[1]}))
    ts = ok(c.post("/api/sessions", json={"jobId": a["job_id"], "testerId": "tess"}, headers=keyed(w.headers["jwt"])), 201)
    ok(c.patch(f"/api/sessions/{ts['data']['sessionId']}/notes", json={"notes": [{"content": "lost at shipping"}]}, headers=w.headers["jwt"]))
    # A revoked credential and a wrong one, as an attacker would send them.
    c.get("/api/v1/sites", headers={"Authorization": "Bearer gfat_" + "Z" * 43})


def cells_holding(store: Store, secret: str) -> set[tuple[str, str]]:
    found = set()
    for table, col in columns(store):
        # replace() rather than instr/strpos: both engines have it, and it matches the secret literally.
        cell = f'CAST("{col}" AS TEXT)'
        hit = store.db.execute(f'SELECT 1 FROM "{table}" WHERE replace({cell}, ?, \'\') <> {cell} LIMIT 1', [secret]).fetchone()
        if hit:
            found.add((table, col))
    return found


def test_no_plaintext_secret_in_the_store_files_or_the_server_log(tmp_path: Path, engine: str):
    data = tmp_path / "served"
    wb = Workbench.open(str(data), mailer=None)
    srv: ServerProcess | None = None
    try:
        w = build_world(wb)
        a, b = w.a, w.b
        never = {"member token": a["member_token"], "guest token": a["guest_token"], "owner session JWT": a["owner_session"],
                 "revoked token": w.secrets["revkd"], "B's member token": b["member_token"], "B's owner session": b["owner_session"],
                 "dual user's session": w.secrets["dualA"], "store key": a["store_api_key"], "plain store key": a["plain_store_api_key"],
                 "B's store key": b["store_api_key"], "tests JWT": a["jwt"], "B's tests JWT": b["jwt"], "guest tests JWT": w.secrets["gjwt"]}
        shown = {"mcp": {a["mcp_token"]}, "rotated-away mcp": set(), "widget": {a["widget_token"]},
                 "stakeholder": {a["stakeholder_token"], a["stakeholder2_token"]}, "review": {a["review_token"]}}
        srv = serve(data, "--log-level", "info")
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            realistic_session(c, w, never, shown)
            # Then the whole matrix over TCP, every POST with an Idempotency-Key.
            for row, prepare in ROWS.items():
                build = prepare(w)
                for col in RUN_ORDER:
                    req = build(w, col)
                    headers = {**w.headers[col], **req.headers}
                    if req.method == "POST":
                        headers = keyed(headers)
                    r = c.request(req.method, req.path, json=req.json, content=req.content, headers=headers)
                    if row.startswith("POST /api/workspaces/") and r.status_code == 201:
                        never[f"token minted by {col}"] = r.json()["token"]
                    if "stakeholders" in row and r.status_code == 201:
                        shown["stakeholder"].add(r.json()["token"])
                    if row == "POST /api/v1/feedback-sessions" and r.status_code == 201:
                        shown["review"].add(r.json()["feedbackUrl"].split("token=", 1)[1])
                    if "upload-url" in row and r.status_code == 200:
                        never[f"upload signature for {col}"] = parse_qs(urlsplit(r.json()["url"]).query)["signature"][0]
                    if "rotate-mcp-token" in row and r.status_code == 200:
                        shown["mcp"].add(r.json()["mcp_token"])
                    heal(w)
        files = at_rest(data)  # while the server runs: SQLite's -wal and -shm too; PostgreSQL's rows as pg_dump writes them
        assert ("workbench.db-wal" if engine == "sqlite" else "pg_dump") in files
        problems = [f"{what} in {name}" for what, secret in never.items() for name, raw in files.items() if secret.encode() in raw]
        current_mcp = wb.store.db.execute("SELECT mcp_token FROM sites").fetchall()
        for kind, secrets in shown.items():
            for secret in secrets:
                stray = cells_holding(wb.store, secret) - HOME[kind]
                problems += [f"a {kind} token in {table}.{col}" for table, col in sorted(stray)]
        srv.stop()
        log = Path(srv.log.name).read_text(errors="replace")
        # At "info" the access log is on (it is off above), so the check below reads real lines.
        assert '"GET /api/v1/sites HTTP/1.1" 200' in log and "/mcp/<redacted>" in log
        everything = [*never.items(), *((f"{kind} token", s) for kind, ss in shown.items() for s in ss)]
        problems += [f"{what.split(' for ')[0]} in the server log" for what, secret in everything if secret in log]
        assert current_mcp, "the world has sites"
        assert not problems, "plaintext secrets found:\n" + "\n".join(sorted(set(problems)))
    finally:
        if srv is not None:
            srv.stop()
        wb.store.close()
