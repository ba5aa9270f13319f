"""Authentication, roles, API tokens, secrets and soft-deleted workspaces, as the document describes them."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from tests.conftest import bearer
from tests.helpers import other_workspace, post_annotation
from workbench.domain.errors import WORKSPACE_DELETED, Unauthenticated
from workbench.domain.roles import Role
from workbench.services import accounts, auth
from workbench.services.auth import issue_session


def _challenge(r) -> str:
    assert r.status_code == 401, r.text
    header = r.headers["www-authenticate"]
    assert header.startswith('Bearer error="invalid_token", error_description="')
    return header


@pytest.mark.parametrize(
    "authorization,reason",
    [
        (None, "Missing bearer token"),
        ("Basic abc", "Malformed Authorization header"),
        ("Bearer", "Malformed Authorization header"),
        ("Bearer gfat_short", "Malformed API token"),
        ("Bearer gfat_" + "A" * 43, "Unknown API token"),
        ("Bearer not.a.jwt", "Malformed or unknown bearer token"),
    ],
)
def test_401_with_challenge_for_bad_credentials(client, creds, authorization, reason):
    headers = {"Authorization": authorization} if authorization else {}
    r = client.get("/api/v1/sites", headers=headers)
    assert reason in _challenge(r)


@pytest.mark.parametrize(
    "secret,said",
    [
        ("mcp_token", "an MCP token, which authenticates in the MCP endpoint's URL"),
        ("widget_token", "a site's widget token, which goes in X-GF-Widget-Token"),
        ("store_api_key", "a store API key, which works only under /api/v1/feedback-sessions"),
    ],
)
def test_a_secret_of_another_kind_is_named_where_it_goes(client, creds, secret, said):
    """bootstrap prints seven secrets: a script that sent its store API key or MCP token as the
    annotations API's bearer was told "Malformed or unknown bearer token", which sent it looking
    for a typo."""
    assert f"This bearer is {said}" in _challenge(client.get("/api/v1/sites", headers=bearer(creds[secret])))
    feedback_url = client.post("/api/v1/feedback-sessions", headers=bearer(creds["store_api_key"])).json()["feedbackUrl"]
    review_token = feedback_url.split("token=")[1]
    assert "This bearer is a review token" in _challenge(client.get("/api/v1/sites", headers=bearer(review_token)))


def test_revocation_is_immediate_and_expiry_enforced(client, creds, wb):
    owner = bearer(creds["owner_session"], creds["workspace_id"])
    minted = client.post(f"/api/workspaces/{creds['workspace_id']}/api-tokens", json={"name": "ci"}, headers=owner)
    assert minted.status_code == 201
    token = minted.json()["token"]
    assert client.get("/api/v1/sites", headers=bearer(token)).status_code == 200
    assert client.delete(f"/api/workspaces/{creds['workspace_id']}/api-tokens/{minted.json()['id']}", headers=owner).status_code == 204
    assert "revoked" in _challenge(client.get("/api/v1/sites", headers=bearer(token)))
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    short = client.post(f"/api/workspaces/{creds['workspace_id']}/api-tokens", json={"name": "short", "expires_at": soon}, headers=owner).json()
    wb.clock = lambda: int((datetime.now(UTC) + timedelta(seconds=5)).timestamp() * 1000)
    assert "expired" in _challenge(client.get("/api/v1/sites", headers=bearer(short["token"])))


def test_expired_session_and_foreign_signature(client, creds, wb):
    past = datetime.now(UTC) - timedelta(days=1)
    expired = jwt.encode({"sub": creds["owner_user_id"], "typ": "session", "exp": past}, wb.secret, algorithm="HS256")
    assert "Session expired" in _challenge(client.get("/api/v1/sites", headers=bearer(expired, creds["workspace_id"])))
    forged = jwt.encode({"sub": creds["owner_user_id"], "typ": "session", "exp": past + timedelta(days=9)}, b"x" * 32, algorithm="HS256")
    _challenge(client.get("/api/v1/sites", headers=bearer(forged, creds["workspace_id"])))


def test_session_needs_workspace_header_and_membership(client, creds, wb):
    assert client.get("/api/v1/sites", headers=bearer(creds["owner_session"])).status_code == 400
    assert client.get("/api/v1/sites", headers=bearer(creds["owner_session"], "someone-elses")).status_code == 404
    r = client.get("/api/v1/sites", headers=bearer(creds["owner_session"], creds["workspace_id"]))
    assert r.status_code == 200 and len(r.json()["items"]) == 1


def test_an_api_token_keeps_its_own_workspace_whatever_x_gf_workspace_says(client, creds, wb):
    """"API tokens carry their workspace id internally" (README: the header is ignored for tokens):
    a header naming another workspace neither moves the token there nor refuses it."""
    other = other_workspace(wb)
    for header in (other["workspace_id"], "no-such-workspace"):
        h = bearer(creds["member_token"], header)
        sites = client.get("/api/v1/sites", headers=h)
        assert sites.status_code == 200 and [s["id"] for s in sites.json()["items"]] == [creds["site_id"]], (header, sites.text)
        assert client.get(f"/api/v1/sites/{other['site_id']}", headers=h).status_code == 404
        assert client.get(f"/api/v1/annotations/{other['annotation_id']}", headers=h).status_code == 404


def test_minting_is_owner_session_only_and_clamped(client, creds, wb):
    ws = creds["workspace_id"]
    url = f"/api/workspaces/{ws}/api-tokens"
    # A token can't mint, even a MEMBER one; a MEMBER session can't either.
    assert client.post(url, json={"name": "x"}, headers=bearer(creds["member_token"])).status_code == 403
    member_user = accounts.add_member(wb, ws, "m2@example.com", "M2", Role.MEMBER)
    member_session = bearer(issue_session(wb, member_user.id), ws)
    assert client.post(url, json={"name": "x"}, headers=member_session).status_code == 403
    owner = bearer(creds["owner_session"], ws)
    for requested, effective in [("OWNER", "MEMBER"), ("ADMIN", "MEMBER"), ("GUEST", "GUEST"), (None, "MEMBER")]:
        body = {"name": f"t-{requested}"} | ({"role": requested} if requested else {})
        r = client.post(url, json=body, headers=owner)
        assert r.status_code == 201 and r.json()["role"] == effective
    assert client.post(url, json={"name": "bad", "role": "ROOT"}, headers=owner).status_code == 422
    assert client.post(url, json={"name": "old", "expires_at": "2001-01-01T00:00:00Z"}, headers=owner).status_code == 400
    assert client.post("/api/workspaces/nope/api-tokens", json={"name": "x"}, headers=owner).status_code == 404


def test_expiry_is_refused_past_the_year_9999_in_any_offset(client, creds):
    """An offset west of UTC took 9999-12-31T23:59:59 into year 10000, listed back as "10000-01-01T…Z"."""
    url = f"/api/workspaces/{creds['workspace_id']}/api-tokens"
    owner = bearer(creds["owner_session"], creds["workspace_id"])
    r = client.post(url, json={"name": "far", "expires_at": "9999-12-31T23:59:59-01:00"}, headers=owner)
    assert r.status_code == 400 and "9999-12-31T23:59:59.999Z" in r.json()["detail"], r.text
    r = client.post(url, json={"name": "last", "expires_at": "9999-12-31T23:59:59.999Z"}, headers=owner)
    assert r.status_code == 201 and r.json()["expires_at"] == "9999-12-31T23:59:59.999Z", r.text
    listed = client.get(url, params={"limit": 200}, headers=owner).json()["items"]
    assert all(t["expires_at"] is None or len(t["expires_at"]) == 24 for t in listed)


def test_plaintext_shown_once_only_hash_and_last4_stored(client, creds, wb):
    owner = bearer(creds["owner_session"], creds["workspace_id"])
    r = client.post(f"/api/workspaces/{creds['workspace_id']}/api-tokens", json={"name": "once"}, headers=owner)
    token = r.json()["token"]
    assert r.json()["last4"] == token[-4:]
    listing = client.get(f"/api/workspaces/{creds['workspace_id']}/api-tokens", headers=owner)
    assert token not in listing.text and all("token" not in item for item in listing.json()["items"])
    row = wb.store.db.execute("SELECT * FROM api_tokens WHERE id = ?", [r.json()["id"]]).fetchone()
    assert token not in [str(v) for v in row]
    assert hashlib.sha256(token.encode()).hexdigest() in row


def test_listing_and_revoking_own_vs_all(client, creds, wb):
    ws = creds["workspace_id"]
    owner = bearer(creds["owner_session"], ws)
    # A MEMBER who once minted (e.g. a former OWNER) sees and revokes only their own.
    former = accounts.add_member(wb, ws, "former@example.com", "Former", Role.OWNER)
    former_session = bearer(issue_session(wb, former.id), ws)
    mine = client.post(f"/api/workspaces/{ws}/api-tokens", json={"name": "formers"}, headers=former_session).json()
    accounts.add_member(wb, ws, "former@example.com", "Former", Role.MEMBER)
    listed = client.get(f"/api/workspaces/{ws}/api-tokens", headers=former_session).json()["items"]
    assert [t["id"] for t in listed] == [mine["id"]]
    all_ids = [t["id"] for t in client.get(f"/api/workspaces/{ws}/api-tokens", headers=owner).json()["items"]]
    assert mine["id"] in all_ids and len(all_ids) >= 3
    someone_elses = next(i for i in all_ids if i != mine["id"])
    assert client.delete(f"/api/workspaces/{ws}/api-tokens/{someone_elses}", headers=former_session).status_code == 404
    assert client.delete(f"/api/workspaces/{ws}/api-tokens/{mine['id']}", headers=former_session).status_code == 204
    # Management endpoints are session-only.
    assert client.get(f"/api/workspaces/{ws}/api-tokens", headers=bearer(creds["member_token"])).status_code == 403


def test_the_owner_revokes_a_token_someone_else_minted(client, creds, wb):
    """"OWNER revokes any": the matrix's OWNER only revokes tokens it minted itself."""
    ws = creds["workspace_id"]
    owner = bearer(creds["owner_session"], ws)
    former = accounts.add_member(wb, ws, "leaver@example.com", "Leaver", Role.OWNER)
    theirs = client.post(f"/api/workspaces/{ws}/api-tokens", json={"name": "leavers ci"}, headers=bearer(issue_session(wb, former.id), ws)).json()
    accounts.add_member(wb, ws, "leaver@example.com", "Leaver", Role.MEMBER)
    assert client.get("/api/v1/sites", headers=bearer(theirs["token"])).status_code == 200
    assert client.delete(f"/api/workspaces/{ws}/api-tokens/{theirs['id']}", headers=owner).status_code == 204
    assert "revoked" in _challenge(client.get("/api/v1/sites", headers=bearer(theirs["token"])))


def test_secrets_owner_session_only_and_rotation_is_immediate(client, creds, wb):
    url = f"/api/widget/sites/{creds['site_id']}/secrets"
    assert client.get(url, headers=bearer(creds["member_token"])).status_code == 403
    member_user = accounts.add_member(wb, creds["workspace_id"], "m3@example.com", "M3", Role.MEMBER)
    assert client.get(url, headers=bearer(issue_session(wb, member_user.id), creds["workspace_id"])).status_code == 403
    owner = bearer(creds["owner_session"], creds["workspace_id"])
    secrets = client.get(url, headers=owner).json()
    assert secrets["mcp_token"] == creds["mcp_token"] and secrets["widget_token"] == creds["widget_token"]
    assert secrets["loader_secret_id"]
    assert auth.authenticate_mcp(wb, creds["mcp_token"]).site_id == creds["site_id"]
    rotated = client.post(f"{url}/rotate-mcp-token", headers=owner).json()
    assert rotated["mcp_token"] != creds["mcp_token"]
    with pytest.raises(Unauthenticated):
        auth.authenticate_mcp(wb, creds["mcp_token"])
    assert auth.authenticate_mcp(wb, rotated["mcp_token"]).actor_id == f"mcp:{creds['site_id']}"


def test_soft_deleted_workspace_401_tokens_403_sessions_until_restored(client, creds):
    ws = creds["workspace_id"]
    owner = bearer(creds["owner_session"], ws)
    assert client.delete(f"/api/workspaces/{ws}", headers=owner).status_code == 200
    assert WORKSPACE_DELETED in _challenge(client.get("/api/v1/sites", headers=bearer(creds["member_token"])))
    # The same words to a session (three wordings had grown: "Workspace deleted", "… within 30 days", "Workspace is …").
    as_session = client.get("/api/v1/sites", headers=owner)
    assert as_session.status_code == 403 and as_session.json()["detail"] == WORKSPACE_DELETED
    assert client.post(f"/api/workspaces/{ws}/restore", headers=bearer(creds["member_token"])).status_code == 401
    assert client.post(f"/api/workspaces/{ws}/restore", headers=owner).status_code == 200
    assert client.get("/api/v1/sites", headers=bearer(creds["member_token"])).status_code == 200
    assert client.get("/api/v1/sites", headers=owner).status_code == 200


@pytest.mark.parametrize("body", [b'{"status": "ack"', b'{"status": "a\xff"}'], ids=["not-json", "not-utf8"])
def test_a_body_that_does_not_parse_is_judged_after_the_caller(client, creds, body):
    """A refused caller gets its 401 whatever its body: FastAPI parses JSON before any dependency,
    so a body that does not parse was a 422 even with no credential, or a revoked one."""
    ann = post_annotation(client, creds)
    session = client.post("/api/sessions", json={"jobId": creds["job_id"], "testerId": "t1"}, headers=bearer(creds["jwt"])).json()
    writes = [
        ("PATCH", f"/api/v1/annotations/{ann['id']}", creds["member_token"]),
        ("POST", f"/api/v1/annotations/{ann['id']}/replies", creds["member_token"]),
        ("POST", "/api/personas", creds["member_token"]),
        ("POST", "/api/sessions", creds["jwt"]),
        ("PATCH", f"/api/sessions/{session['data']['sessionId']}/notes", creds["jwt"]),
    ]
    for method, path, good in writes:
        for authorization, reason in ((None, "Missing bearer token"), ("Bearer gfat_" + "A" * 43, "Unknown API token")):
            headers = {"Content-Type": "application/json", **({"Authorization": authorization} if authorization else {})}
            r = client.request(method, path, content=body, headers=headers)
            challenge = _challenge(r)
            if path.startswith("/api/sessions"):
                assert r.json()["error"]["code"] == "UNAUTHORIZED"
            else:
                assert reason in challenge, (path, r.text)
        # The caller it accepts is still told its body is not JSON.
        r = client.request(method, path, content=body, headers={**bearer(good), "Content-Type": "application/json"})
        assert r.status_code == 422, (path, r.text)
        errors = r.json()["metadata"]["errors"] if path.startswith("/api/sessions") else r.json()["detail"]
        assert errors[0]["type"] == "json_invalid"


def test_a_guest_is_refused_its_role_whatever_its_body(client, creds):
    """GUEST on a MEMBER route gets 403 "Insufficient role" with a bad body too, not a 422 about a
    body it may not send at all (FastAPI reported the body before the use case judged the role)."""
    ann = post_annotation(client, creds)
    guest = {**bearer(creds["guest_token"]), "Content-Type": "application/json"}
    persona = client.get("/api/personas/mine", params={"limit": 1}, headers=guest).json()["items"][0]["id"]
    site = creds["site_id"]
    for method, path, body in (
        ("POST", f"/api/v1/annotations/{ann['id']}/run-personas", b'{"persona_ids": 5}'),
        ("POST", f"/api/v1/annotations/{ann['id']}/resolutions/upload-url", b'{"kind": "middle"}'),
        ("POST", f"/api/v1/annotations/{ann['id']}/resolutions", b'{"diff_url": 5}'),
        ("POST", "/api/personas", b'{"name": "no category"}'),
        ("PATCH", f"/api/personas/{persona}", b"{}"),
        ("POST", "/api/personas/reset-defaults", b'{"slug": 5}'),
        ("POST", f"/api/widget/sites/{site}/stakeholders", b'{"email": "not an address"}'),
        ("PATCH", f"/api/widget/sites/{site}/stakeholders/{creds['widget_token']}", b'{"auto_fix_default": null}'),
        ("POST", "/api/personas", b'{"name": '),
    ):
        r = client.request(method, path, content=body, headers=guest)
        assert (r.status_code, r.json()) == (403, {"detail": "Insufficient role"}), (path, r.text)
    # A MEMBER sending the same body is still told what is wrong with it.
    r = client.post(f"/api/v1/annotations/{ann['id']}/run-personas", json={"persona_ids": 5}, headers=bearer(creds["member_token"]))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "persona_ids"]


def test_who_may_not_mint_is_told_so_whatever_the_body(client, creds):
    url = f"/api/workspaces/{creds['workspace_id']}/api-tokens"
    bad = {"role": "ROOT"}  # no name, an unknown role
    for headers, status, words in (
        (bearer(creds["member_token"]), 403, "requires a session"),
        (bearer(creds["guest_token"]), 403, "requires a session"),
        (bearer(creds["owner_session"], creds["workspace_id"]), 422, None),
    ):
        r = client.post(url, json=bad, headers=headers)
        assert r.status_code == status, r.text
        assert words is None or words in r.json()["detail"]
    other = client.post("/api/workspaces/another-one/api-tokens", json=bad, headers=bearer(creds["owner_session"], creds["workspace_id"]))
    assert (other.status_code, other.json()["detail"]) == (404, "Workspace not found")


MCP_INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "audit", "version": "1"}}}


def test_soft_deleted_workspace_401_for_widget_and_mcp_tokens_until_restored(client, creds):
    """README: "tokens get 401 ... Tokens: API, MCP, widget and store API keys": a site's widget on a
    visitor's page and an agent's MCP loop are token callers, told to stop, not to render a banner."""
    ws, site = creds["workspace_id"], creds["site_id"]
    owner = bearer(creds["owner_session"], ws)
    widget = {"X-GF-Widget-Token": creds["widget_token"]}
    mcp = {"Accept": "application/json, text/event-stream"}

    def calls():  # fresh each round: a response is read once
        return {
            "config": client.get(f"/api/widget/sites/{site}/config", headers=widget),
            "mine": client.get(f"/api/widget/sites/{site}/mine", headers={**widget, "X-GF-Submitter-Key": "k" * 43}),
            "submit": client.post(f"/api/widget/sites/{site}/annotations", headers=widget,
                                  json={"page_url": "https://shop.acme.example/", "body": "while deleted"}),
            "mcp": client.post(f"/mcp/{creds['mcp_token']}", json=MCP_INIT, headers=mcp),
        }

    assert client.delete(f"/api/workspaces/{ws}", headers=owner).status_code == 200
    for name, r in calls().items():
        assert r.status_code == 401, (name, r.text)
        assert WORKSPACE_DELETED in r.text or WORKSPACE_DELETED in r.headers.get("www-authenticate", ""), (name, r.text)
    assert client.post(f"/api/workspaces/{ws}/restore", headers=owner).status_code == 200
    got = {name: r.status_code for name, r in calls().items()}
    assert got == {"config": 200, "mine": 200, "submit": 201, "mcp": 200}
    # The refused submission wrote nothing: the one annotation from the widget is the post-restore one.
    listed = client.get(f"/api/v1/sites/{site}/annotations", headers=bearer(creds["member_token"])).json()["items"]
    assert [a["body"] for a in listed].count("while deleted") == 1

