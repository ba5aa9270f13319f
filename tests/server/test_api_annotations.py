"""The annotations surface of greatfeedback-api.txt: sites, list filters, detail, PATCH, replies, markdown, personas."""

from __future__ import annotations

import pytest
from fastapi.exceptions import RequestValidationError

from tests.conftest import bearer
from tests.helpers import other_workspace, post_annotation
from workbench.server.errors import read_errors


def test_sites_list_and_detail_never_expose_secrets(client, creds):
    r = client.get("/api/v1/sites", headers=bearer(creds["guest_token"]))
    assert r.status_code == 200
    items = r.json()["items"]
    assert [s["id"] for s in items] == [creds["site_id"]]
    assert "mcp_token" not in r.text and creds["mcp_token"] not in r.text and creds["widget_token"] not in r.text
    d = client.get(f"/api/v1/sites/{creds['site_id']}", headers=bearer(creds["guest_token"]))
    assert d.status_code == 200 and d.json()["name"] == "Acme storefront"
    assert "mcp_token" not in d.text


def test_list_filters_status_kind_since_auto_fix(client, creds, wb):
    a = post_annotation(client, creds, "Checkout crashes", kind="bug")
    b = post_annotation(client, creds, "Headline too small", kind="design")
    h = bearer(creds["member_token"])
    client.patch(f"/api/v1/annotations/{b['id']}", json={"status": "ack"}, headers=h)
    url = f"/api/v1/sites/{creds['site_id']}/annotations"
    assert [x["id"] for x in client.get(url, params={"status": "new"}, headers=h).json()["items"]] == [a["id"]]
    assert [x["id"] for x in client.get(url, params={"kind": "design"}, headers=h).json()["items"]] == [b["id"]]
    # since: epoch ms, compares with updated_at (the PATCH moved b forward)
    since = client.get(f"/api/v1/annotations/{b['id']}", headers=h).json()["updated_at"]
    from datetime import datetime

    ms = int(datetime.fromisoformat(since.replace("Z", "+00:00")).timestamp() * 1000)
    got = [x["id"] for x in client.get(url, params={"since": ms}, headers=h).json()["items"]]
    assert got == [b["id"]]
    assert client.get(url, params={"auto_fix": "true"}, headers=h).json()["items"] == []
    assert len(client.get(url, params={"auto_fix": "false"}, headers=h).json()["items"]) == 2


@pytest.mark.parametrize("params", [{"status": "open"}, {"status": "RESOLVED"}, {"kind": "nope"}, {"limit": 0}, {"limit": 201},
                                    {"since": -1}, {"since": "yesterday"}, {"auto_fix": "maybe"}])
def test_list_bad_query_values_are_400(client, creds, params):
    r = client.get(f"/api/v1/sites/{creds['site_id']}/annotations", params=params, headers=bearer(creds["member_token"]))
    assert r.status_code == 400, r.text
    assert r.json()["detail"]


@pytest.mark.parametrize("query", ["status=new&status=ack", "kind=bug&kind=bug", "since=0&since=1", "auto_fix=true&auto_fix=false",
                                   "limit=5&limit=6", "status=new&kind=bug&status=ack"])
def test_a_filter_given_twice_is_a_400_naming_it(client, creds, query):
    """QA finding 10: last-wins silently dropped the rows of the first value."""
    h = bearer(creds["member_token"])
    name = query.split("=")[0]
    for path in (f"/api/v1/sites/{creds['site_id']}/annotations", f"/api/v1/sites/{creds['site_id']}/thread-changes"):
        if path.endswith("thread-changes") and name not in ("since", "limit"):
            continue
        r = client.get(f"{path}?{query}", headers=h)
        assert r.status_code == 400 and r.json()["detail"].startswith(f"Invalid {name}: given more than once"), (path, r.text)
    assert client.get(f"/api/v1/sites/{creds['site_id']}/annotations?status=new&unknown=1&unknown=2", headers=h).status_code == 200


def test_detail_has_replies_and_resolutions(client, creds):
    a = post_annotation(client, creds)
    h = bearer(creds["member_token"])
    client.post(f"/api/v1/annotations/{a['id']}/replies", json={"body": "looking"}, headers=h)
    client.post(f"/api/v1/annotations/{a['id']}/resolutions", json={"diff_url": "https://github.com/x/y/pull/1"}, headers=h)
    d = client.get(f"/api/v1/annotations/{a['id']}", headers=h)
    assert d.status_code == 200
    body = d.json()
    assert body["body"] == "The button is broken"
    assert body["replies"][0]["body"] == "looking"
    assert body["resolutions"][0]["diff_url"] == "https://github.com/x/y/pull/1"
    assert d.headers["etag"] == f'"v{body["version"]}"'


def test_patch_status_summary_assignee_and_audit(client, creds, wb):
    a = post_annotation(client, creds)
    h = bearer(creds["guest_token"])  # GUEST may PATCH (min role GUEST)
    r = client.patch(f"/api/v1/annotations/{a['id']}", json={"status": "resolved", "summary": "shipped in v2"}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "resolved" and r.json()["summary"] == "shipped in v2" and r.json()["version"] == 2
    r = client.patch(f"/api/v1/annotations/{a['id']}", json={"assignee_id": creds["owner_user_id"]}, headers=h)
    assert r.json()["assignee_id"] == creds["owner_user_id"]
    rows = wb.store.db.execute("SELECT actor_id, action FROM audit WHERE entity_id = ? ORDER BY id", [a["id"]]).fetchall()
    assert [r[1] for r in rows] == ["annotation.create", "annotation.update", "annotation.update"]
    assert rows[1][0].startswith("token:")


@pytest.mark.parametrize(
    "body,code",
    [
        ({"status": "bogus"}, 400),  # unknown status: 400 at validation
        ({"status": "done"}, 400),
        ({"summary": 5}, 422),  # wrong type: schema mismatch
        ({"status": ["new"]}, 422),  # not a status value at all: a wrong type, not an unknown status
        ({"status": True}, 422),
        ({"status": 5}, 422),
        ({"colour": "red"}, 422),  # unknown field
        ({}, 422),  # nothing to change
        ({"assignee_id": "not-a-member"}, 400),
    ],
)
def test_patch_rejections(client, creds, body, code):
    a = post_annotation(client, creds)
    r = client.patch(f"/api/v1/annotations/{a['id']}", json=body, headers=bearer(creds["member_token"]))
    assert r.status_code == code, r.text


def test_a_body_that_is_not_utf8_is_malformed_json(client, creds):
    """A 422 like any malformed JSON body, not FastAPI's 400 "error parsing the body"."""
    a = post_annotation(client, creds)
    h = {**bearer(creds["member_token"]), "Content-Type": "application/json"}
    for method, path in (("POST", f"/api/v1/annotations/{a['id']}/replies"), ("PATCH", f"/api/v1/annotations/{a['id']}"),
                         ("POST", "/api/personas")):
        bad = client.request(method, path, content=b'{"body": "a\xff"}', headers=h)
        malformed = client.request(method, path, content=b'{"body": "a', headers=h)
        assert bad.status_code == malformed.status_code == 422, (path, bad.text)
        assert bad.json()["detail"][0]["type"] == malformed.json()["detail"][0]["type"] == "json_invalid"
        assert "UTF-8" in bad.json()["detail"][0]["msg"]


def test_a_body_not_sent_as_json_says_so(client, creds):
    """curl's ``-d`` without ``-H 'Content-Type: application/json'`` sends a form type, and the body
    reached the model unread: "Input should be a valid dictionary" did not say why."""
    a = post_annotation(client, creds)
    for method, path, body, token in (
        ("POST", f"/api/v1/annotations/{a['id']}/replies", b'{"body": "hi"}', creds["member_token"]),
        ("PATCH", f"/api/v1/annotations/{a['id']}", b'{"status": "ack"}', creds["member_token"]),
        ("POST", "/api/sessions", b'{"jobId": "%s", "testerId": "t"}' % creds["job_id"].encode(), creds["jwt"]),
    ):
        for sent in ("application/x-www-form-urlencoded", "text/plain"):
            r = client.request(method, path, content=body, headers={**bearer(token), "Content-Type": sent})
            assert r.status_code == 422, (path, r.text)
            errors = r.json()["metadata"]["errors"] if path == "/api/sessions" else r.json()["detail"]
            assert errors[0]["type"] == "json_expected" and f"Content-Type: application/json (got {sent})" in errors[0]["msg"]
    # A JSON body of the wrong shape is still told so in pydantic's words.
    r = client.post(f"/api/v1/annotations/{a['id']}/replies", json=["hi"], headers=bearer(creds["member_token"]))
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "model_attributes_type"


@pytest.mark.sqlite_only("reads no store: read_errors is a pure function, and one engine is enough")
@pytest.mark.parametrize(
    ("sent", "named"),
    [
        pytest.param("TEXT/Plain; charset=utf-8", "text/plain", id="upper-case-with-charset"),
        pytest.param("; charset=utf-8", "no Content-Type", id="parameters-only"),
        pytest.param("", "no Content-Type", id="empty"),
        pytest.param(None, "no Content-Type", id="none"),
    ],
)
def test_a_body_not_sent_as_json_names_the_media_type_it_got(sent, named):
    """Named as the domain's ``media_type`` reads it: a header of parameters alone was named as nothing ("got )")."""
    unread = RequestValidationError([{"type": "model_attributes_type", "loc": ("body",), "msg": "Input should be a valid dictionary", "input": b"a=1"}])
    [error] = read_errors(unread, sent)
    assert error["type"] == "json_expected" and error["msg"].endswith(f"(got {named})"), error


def test_patch_every_status_of_the_taxonomy(client, creds):
    a = post_annotation(client, creds)
    for status in ["ack", "triaged", "in_progress", "resolved", "won_t_fix", "duplicate", "new"]:
        r = client.patch(f"/api/v1/annotations/{a['id']}", json={"status": status}, headers=bearer(creds["member_token"]))
        assert r.status_code == 200 and r.json()["status"] == status


def test_patch_if_match_compare_and_set(client, creds):
    a = post_annotation(client, creds)
    h = bearer(creds["member_token"])
    r = client.patch(f"/api/v1/annotations/{a['id']}", json={"status": "ack"}, headers={**h, "If-Match": '"v1"'})
    assert r.status_code == 200 and r.headers["etag"] == '"v2"'
    stale = client.patch(f"/api/v1/annotations/{a['id']}", json={"status": "triaged"}, headers={**h, "If-Match": '"v1"'})
    assert stale.status_code == 412
    assert client.get(f"/api/v1/annotations/{a['id']}", headers=h).json()["status"] == "ack"


def test_reply_author_is_agent_for_tokens_and_user_for_sessions(client, creds):
    a = post_annotation(client, creds)
    r = client.post(f"/api/v1/annotations/{a['id']}/replies", json={"body": "fixed in #1234"}, headers=bearer(creds["member_token"]))
    assert r.status_code == 201
    assert r.json()["author"]["type"] == "agent"
    r = client.post(
        f"/api/v1/annotations/{a['id']}/replies", json={"body": "thanks", "author_name": "CI bot"}, headers=bearer(creds["member_token"])
    )
    assert r.json()["author"]["name"] == "CI bot"
    s = client.post(
        f"/api/v1/annotations/{a['id']}/replies",
        json={"body": "on it"},
        headers=bearer(creds["owner_session"], creds["workspace_id"]),
    )
    assert s.status_code == 201 and s.json()["author"] == {"type": "user", "id": creds["owner_user_id"], "name": "Olive Owner"}
    assert client.post(f"/api/v1/annotations/{a['id']}/replies", json={"body": "  "}, headers=bearer(creds["member_token"])).status_code == 422
    for blank in ("\u200b", "\u00a0\u200b", "\x07"):  # says nothing, as spaces do (domain/blank.py)
        r = client.post(f"/api/v1/annotations/{a['id']}/replies", json={"body": blank}, headers=bearer(creds["member_token"]))
        assert r.status_code == 422 and "must say something" in r.text, r.text


def test_a_session_cannot_reply_under_another_name(client, creds, wb):
    from workbench.domain.annotations import ReplyCreate
    from workbench.domain.errors import NotForThisCaller
    from workbench.services import annotations
    from workbench.services.local import local_user

    a = post_annotation(client, creds)
    url = f"/api/v1/annotations/{a['id']}/replies"
    owner = bearer(creds["owner_session"], creds["workspace_id"])
    r = client.post(url, json={"body": "I approve this", "author_name": "Someone Else"}, headers=owner)
    assert r.status_code == 422 and "author_name" in r.json()["detail"], r.text
    # The local user (TUI, CLI) is a person too: its replies carry its own name only.
    with pytest.raises(NotForThisCaller):
        annotations.reply(wb, local_user(wb), a["id"], ReplyCreate(body="x", author_name="Max Member"))
    thread = client.get(f"/api/v1/annotations/{a['id']}", headers=owner).json()["replies"]
    assert [r for r in thread if r["author"]["type"] == "user"] == []


def test_markdown_blob(client, creds):
    a = post_annotation(client, creds, "Contrast is too low", selector=".cta", computed_styles={"color": "#aaa"})
    client.post(f"/api/v1/annotations/{a['id']}/replies", json={"body": "agreed"}, headers=bearer(creds["member_token"]))
    r = client.get(f"/api/v1/annotations/{a['id']}/markdown", headers=bearer(creds["guest_token"]))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/markdown")
    assert f"# Annotation {a['id']}" in r.text and "> Contrast is too low" in r.text
    assert "`.cta`" in r.text and "| `color` | `#aaa` |" in r.text and "> agreed" in r.text


def test_run_personas_roles_and_one_reply_per_persona(client, creds):
    a = post_annotation(client, creds, "Placeholder text has low contrast", kind="accessibility")
    url = f"/api/v1/annotations/{a['id']}/run-personas"
    denied = client.post(url, json={"persona_ids": []}, headers=bearer(creds["guest_token"]))
    assert denied.status_code == 403 and denied.json()["detail"] == "Insufficient role"
    personas = client.get("/api/personas/mine", headers=bearer(creds["member_token"])).json()["items"]
    ids = [p["id"] for p in personas[:2]]
    r = client.post(url, json={"persona_ids": ids}, headers=bearer(creds["member_token"]))
    assert r.status_code == 201
    replies = r.json()["replies"]
    assert [x["persona_id"] for x in replies] == ids
    assert all(x["author"]["type"] == "persona" and x["body"] for x in replies)
    again = client.post(url, json={"persona_ids": ids}, headers=bearer(creds["member_token"])).json()["replies"]
    assert [x["body"] for x in again] == [x["body"] for x in replies]  # the offline engine is deterministic
    default_run = client.post(url, json={}, headers=bearer(creds["member_token"]))
    assert default_run.status_code == 201 and len(default_run.json()["replies"]) == 3
    assert client.post(url, json={"persona_ids": ["nope"]}, headers=bearer(creds["member_token"])).status_code == 404
    # README: a repeated id runs once, and a run names at most 60 (each is a call to the reviewer engine).
    once = client.post(url, json={"persona_ids": [ids[0], ids[0]]}, headers=bearer(creds["member_token"])).json()["replies"]
    assert [x["persona_id"] for x in once] == [ids[0]]
    too_many = client.post(url, json={"persona_ids": [ids[0]] * 61}, headers=bearer(creds["member_token"]))
    assert too_many.status_code == 422 and "60" in too_many.text
    thread = client.get(f"/api/v1/annotations/{a['id']}", headers=bearer(creds["member_token"])).json()["replies"]
    assert len(thread) == 2 + 2 + 3 + 1


def test_nothing_crosses_workspaces(client, creds, wb):
    other = other_workspace(wb)
    h = bearer(creds["member_token"])
    for method, path in [
        ("get", f"/api/v1/sites/{other['site_id']}"),
        ("get", f"/api/v1/sites/{other['site_id']}/annotations"),
        ("get", f"/api/v1/annotations/{other['annotation_id']}"),
        ("get", f"/api/v1/annotations/{other['annotation_id']}/markdown"),
        ("get", f"/api/v1/annotations/{other['annotation_id']}/resolutions"),
    ]:
        assert getattr(client, method)(path, headers=h).status_code == 404, path
    assert client.patch(f"/api/v1/annotations/{other['annotation_id']}", json={"status": "ack"}, headers=h).status_code == 404
    assert client.post(f"/api/v1/annotations/{other['annotation_id']}/replies", json={"body": "x"}, headers=h).status_code == 404
    assert client.post(f"/api/v1/annotations/{other['annotation_id']}/run-personas", json={}, headers=h).status_code == 404
    assert other["site_id"] not in client.get("/api/v1/sites", headers=h).text
    # and the other way round
    oh = bearer(other["member_token"])
    assert [s["id"] for s in client.get("/api/v1/sites", headers=oh).json()["items"]] == [other["site_id"]]
    assert client.get(f"/api/v1/sites/{creds['site_id']}/annotations", headers=oh).status_code == 404


# An id of the right shape that names nothing anywhere (UUIDv7-like, as the store's own ids are).
NOWHERE = "01a00000-0000-7000-8000-000000000000"


def test_an_id_that_names_nothing_is_404_on_every_route_that_takes_one(client, creds):
    """The document's 404: "Resource doesn't exist OR is in a workspace the caller doesn't own".
    The matrix checks the second half; this is the first, each route with its rightful caller and a valid body."""
    member = bearer(creds["member_token"])
    owner = bearer(creds["owner_session"], creds["workspace_id"])
    site, ws = creds["site_id"], creds["workspace_id"]
    calls = [
        (member, "GET", f"/api/v1/sites/{NOWHERE}", None),
        (member, "GET", f"/api/v1/sites/{NOWHERE}/annotations", None),
        (member, "GET", f"/api/v1/sites/{NOWHERE}/thread-changes", None),
        (member, "GET", f"/api/v1/annotations/{NOWHERE}", None),
        (member, "PATCH", f"/api/v1/annotations/{NOWHERE}", {"status": "ack"}),
        (member, "POST", f"/api/v1/annotations/{NOWHERE}/replies", {"body": "hello"}),
        (member, "GET", f"/api/v1/annotations/{NOWHERE}/markdown", None),
        (member, "POST", f"/api/v1/annotations/{NOWHERE}/run-personas", {}),
        (member, "POST", f"/api/v1/annotations/{NOWHERE}/resolutions/upload-url", {"kind": "after", "content_type": "image/png"}),
        (member, "POST", f"/api/v1/annotations/{NOWHERE}/resolutions", {"diff_url": "https://github.com/acme/shop/pull/7"}),
        (member, "GET", f"/api/v1/annotations/{NOWHERE}/resolutions", None),
        (member, "GET", f"/api/personas/{NOWHERE}", None),
        (member, "PATCH", f"/api/personas/{NOWHERE}", {"voice": "dry"}),
        (member, "DELETE", f"/api/personas/{NOWHERE}", None),
        (member, "GET", f"/api/widget/sites/{NOWHERE}/stakeholders", None),
        (member, "POST", f"/api/widget/sites/{NOWHERE}/stakeholders", {"name": "Dana"}),
        (member, "PATCH", f"/api/widget/sites/{site}/stakeholders/gfsh_{'x' * 43}", {"name": "Dana"}),
        (member, "DELETE", f"/api/widget/sites/{site}/stakeholders/gfsh_{'x' * 43}", None),
        (owner, "DELETE", f"/api/workspaces/{ws}/api-tokens/{NOWHERE}", None),
        (owner, "GET", f"/api/widget/sites/{NOWHERE}/secrets", None),
        (owner, "POST", f"/api/widget/sites/{NOWHERE}/secrets/rotate-mcp-token", None),
    ]
    wrong = [(method, path, r.status_code, r.text[:120]) for h, method, path, body in calls
             if (r := client.request(method, path, json=body, headers=h)).status_code != 404]
    assert not wrong, wrong


def test_search_finds_bodies_summaries_and_replies(client, creds, wb):
    from workbench.services import annotations as svc
    from workbench.services.local import local_user

    a = post_annotation(client, creds, "The hamburger menu overlaps the logo")
    b = post_annotation(client, creds, "Totally unrelated")
    client.post(f"/api/v1/annotations/{b['id']}/replies", json={"body": "caused by the hamburger refactor"}, headers=bearer(creds["member_token"]))
    principal = local_user(wb)
    assert set(svc.search(wb, principal, "hamburger")) == {a["id"], b["id"]}
    assert svc.search(wb, principal, "logo") == [a["id"]]
    assert svc.search(wb, principal, '"; DROP TABLE') == []


def test_patch_setting_what_is_already_set_changes_nothing(client, creds, wb):
    """Issue 12: the documented 200 with the annotation, but no version bump, no audit row."""
    a = post_annotation(client, creds)
    h = bearer(creds["member_token"])
    first = client.patch(f"/api/v1/annotations/{a['id']}", json={"status": "ack"}, headers=h).json()
    again = client.patch(f"/api/v1/annotations/{a['id']}", json={"status": "ack", "assignee_id": None}, headers=h)
    assert again.status_code == 200 and again.json()["version"] == first["version"] == 2
    assert again.json()["updated_at"] == first["updated_at"]
    actions = [r[0] for r in wb.store.db.execute("SELECT action FROM audit WHERE entity_id = ?", [a["id"]]).fetchall()]
    assert actions.count("annotation.update") == 1


def test_reopening_clears_the_closing_summary(client, creds):
    """A summary says why an annotation closed; reopening it (closed → open) makes that false."""
    a = post_annotation(client, creds)
    b = post_annotation(client, creds, "Another")
    h = bearer(creds["member_token"])
    url = f"/api/v1/annotations/{a['id']}"
    client.patch(url, json={"status": "duplicate", "summary": f"duplicate of {b['id']}"}, headers=h)
    assert client.patch(url, json={"status": "new"}, headers=h).json()["summary"] is None
    client.patch(url, json={"status": "resolved", "summary": "shipped"}, headers=h)
    reopened = client.patch(url, json={"status": "in_progress", "summary": "redo for iOS"}, headers=h).json()
    assert reopened["summary"] == "redo for iOS"  # a summary set with the reopen stays
    assert client.patch(url, json={"status": "triaged"}, headers=h).json()["summary"] == "redo for iOS"  # open → open keeps it


@pytest.mark.parametrize("blank", ["", "   ", "\n\t ", "\u200b", "\u00a0\u200b\u200d", "\x07"])
def test_a_blank_summary_is_stored_as_no_summary(client, creds, blank):
    """One shape for "no summary": a blank one is null, as a reopen leaves it, so clients need not treat "" alike."""
    a = post_annotation(client, creds)
    h = bearer(creds["member_token"])
    url = f"/api/v1/annotations/{a['id']}"
    set_ = client.patch(url, json={"summary": "shipped"}, headers=h).json()
    cleared = client.patch(url, json={"summary": blank}, headers=h).json()
    assert cleared["summary"] is None and cleared["version"] == set_["version"] + 1
    again = client.patch(url, json={"summary": blank}, headers=h).json()
    assert again["summary"] is None and again["version"] == cleared["version"]  # already none: nothing changes


def test_demo_replies_carry_their_own_author_s_id_and_name(client, creds, wb):
    """QA finding 12: `workbench demo` wrote "Max Member" with the OWNER's id, so grouping by author.id misled."""
    from storage import accounts as accounts_repo
    from workbench.services.demo import load_demo

    load_demo(wb, annotations=40)
    names = {u.id: u.name for u, _ in accounts_repo.list_members(wb.store.db, creds["workspace_id"])}
    h = bearer(creds["member_token"])
    seen = set()
    for site in client.get("/api/v1/sites", headers=h).json()["items"]:
        for item in client.get(f"/api/v1/sites/{site['id']}/annotations", params={"limit": 200}, headers=h).json()["items"]:
            for r in client.get(f"/api/v1/annotations/{item['id']}", headers=h).json()["replies"]:
                if r["author"]["type"] == "user":
                    assert names.get(r["author"]["id"]) == r["author"]["name"], r["author"]
                    seen.add(r["author"]["id"])
    assert len(seen) == 2  # the OWNER and the MEMBER both reply
