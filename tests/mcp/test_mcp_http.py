"""MCP over streamable HTTP: the official client against a real `workbench serve`, the store and the audit log.

The store is seeded through the services before the server starts (a stakeholder's auto-fix
submission with a screenshot, two anonymous ones, and one on a second site the token must not
see); everything after that goes over TCP.

Most tests share one server per engine (``shared``): they write nothing, or only to an annotation
no other test on it reads. A test that writes what others would read, rotates the token or stops
the server has a store and a server of its own (``served``).
"""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from tests.conftest import ServerProcess
from tests.images import PNG  # a whole picture: the server takes only images that decode
from tests.stores import reading
from workbench.domain.annotations import StakeholderCreate, WidgetAnnotationCreate
from workbench.domain.safe_text import NUL_MESSAGE
from workbench.mcp.tools import REPLY_AS_AGENT, StoreServer
from workbench.services import annotations as annotations_svc
from workbench.services import sites as sites_svc
from workbench.services.bootstrap import bootstrap, owner_principal
from workbench.services.context import Workbench

pytestmark = pytest.mark.e2e

TEN = {
    "list_annotations", "read_annotation", "acknowledge", "reply", "resolve", "patch_annotation",
    "get_resolution_upload_url", "attach_resolution", "list_resolutions", "run_personas",
}
# The documented parameters, and which of them are required (the "?" ones are not).
DOCUMENTED: dict[str, tuple[set[str], set[str]]] = {
    "list_annotations": ({"status", "kind", "since", "auto_fix", "limit"}, set()),
    "read_annotation": ({"id"}, {"id"}),
    "acknowledge": ({"id"}, {"id"}),
    "reply": ({"id", "message"}, {"id", "message"}),
    "resolve": ({"id", "summary"}, {"id", "summary"}),
    "patch_annotation": ({"id", "status", "summary", "assignee_id"}, {"id"}),
    "get_resolution_upload_url": ({"annotation_id", "kind", "content_type"}, {"annotation_id", "kind", "content_type"}),
    "attach_resolution": ({"annotation_id", "before_key", "after_key", "diff_url", "explanation"}, {"annotation_id"}),
    "list_resolutions": ({"annotation_id"}, {"annotation_id"}),
    "run_personas": ({"id", "persona_ids"}, {"id"}),
}


def seed(data_dir: Path) -> dict[str, Any]:
    """Credentials plus annotations: a (auto-fix, screenshot, styles), b and c (anonymous), other (second site)."""
    wb = Workbench.open(str(data_dir), mailer=None)
    try:
        creds = bootstrap(wb)
        owner = owner_principal(creds["workspace_id"], creds["owner_user_id"])
        site = sites_svc.get_site(wb, owner, creds["site_id"])
        dana = sites_svc.create_stakeholder(
            wb, owner, site.id, StakeholderCreate(name="Dana", email="dana@acme.example", auto_fix_default="optional_on")
        )
        shot = "data:image/png;base64," + base64.b64encode(PNG).decode()
        a = annotations_svc.submit_from_widget(wb, site.id, site.widget_token, dana.token, WidgetAnnotationCreate(
            page_url="https://shop.acme.example/cart", selector="#search", kind="accessibility", auto_fix=True,
            body="The grey placeholder text has very low contrast on white.", screenshot=shot,
            computed_styles={"color": "#9a9a9a", "background-color": "#ffffff"},
        ))
        b = annotations_svc.submit_from_widget(wb, site.id, site.widget_token, None, WidgetAnnotationCreate(
            page_url="https://shop.acme.example/checkout", kind="bug", body="Checkout crashes with the SPRING10 coupon.",
            auto_fix=True,  # anonymous: coerced to false
        ))
        c = annotations_svc.submit_from_widget(wb, site.id, site.widget_token, None, WidgetAnnotationCreate(
            page_url="https://shop.acme.example/", kind="copy", body="Typo: 'recieve' in the banner.",
        ))
        other_site = sites_svc.create_site(wb, owner, "Acme docs", "https://docs.acme.example")
        other = annotations_svc.submit_from_widget(wb, other_site.id, other_site.widget_token, None, WidgetAnnotationCreate(
            page_url="https://docs.acme.example/", kind="bug", body="Search is broken on the docs site.",
        ))
        return {**creds, "a": a.id, "b": b.id, "c": c.id, "other": other.id}
    finally:
        wb.store.close()


def audit(data_dir: Path, entity_id: str) -> list[tuple[str, str]]:
    with reading(data_dir) as db:
        return db.execute("SELECT actor_id, action FROM audit WHERE entity_id = ? ORDER BY id", [entity_id]).fetchall()


def row(data_dir: Path, sql: str, *args: Any) -> Any:
    with reading(data_dir) as db:
        return db.execute(sql, args).fetchone()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, engine: str) -> Iterator[tuple[ServerProcess, dict[str, Any]]]:
    """One seeded server per engine (the module's, tests/mcp/conftest.py) for every test that leaves
    what the others read as it was: the refusals write nothing (and say so), the reply test writes
    only a's thread, the blank-summary test only c; no test on it reads those."""
    data = tmp_path_factory.mktemp("shared") / "served"
    creds = seed(data)
    srv = ServerProcess(data)
    yield srv, creds
    srv.stop()


@pytest.fixture
def served(tmp_path: Path, own_store: str) -> Iterator[tuple[ServerProcess, dict[str, Any]]]:
    """A store and a server of the test's own, for the tests that write what others read, rotate the token or stop the server."""
    data = tmp_path / "served"
    creds = seed(data)
    srv = ServerProcess(data)
    yield srv, creds
    srv.stop()


def leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaves(inner)]
    return [exc]


def mcp_url(srv: ServerProcess, token: str) -> str:
    return f"{srv.url}/mcp/{token}"


def ok(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text
    return result.structured_content


def refused(result: Any, text: str) -> None:
    assert result.is_error, result.structured_content
    assert text in result.content[0].text, result.content[0].text


def refused_naming(result: Any, argument: str) -> None:
    """A schema refusal that names ``argument``: the SDK lists each failing argument on a line of its own."""
    assert result.is_error, result.structured_content
    assert re.search(rf"^{argument}\b", result.content[0].text, flags=re.M), result.content[0].text


# Valid values for the arguments a tool requires, so a call fails only for the argument under test.
REQUIRED = {"message": "Looking.", "summary": "Done.", "kind": "after", "content_type": "image/png"}
ID_ARGUMENTS = ("id", "annotation_id")


def _free_text(schema: dict[str, Any]) -> str | None:
    """"string" or "array" if the argument takes free text (a string, or a list of strings; not an enum), else None."""
    for option in schema.get("anyOf", [schema]):
        if option.get("type") == "string" and "enum" not in option:
            return "string"
        if option.get("type") == "array" and option.get("items", {}).get("type") == "string":
            return "array"
    return None


def nul_cases(tools: dict[str, Any], annotation_id: str) -> list[tuple[str, dict[str, Any], str]]:
    """(tool, arguments, argument) for every free-text argument of every tool: the tool's required
    arguments valid, and a NUL in that one argument (an id is the real one with a NUL after it)."""
    cases = []
    for name, tool in sorted(tools.items()):
        schema = tool.input_schema
        valid = {arg: annotation_id if arg in ID_ARGUMENTS else REQUIRED[arg] for arg in schema.get("required", [])}
        for arg, prop in sorted(schema["properties"].items()):
            shape = _free_text(prop)
            if shape is None:
                continue
            text = f"{valid.get(arg, 'x')}\x00"
            cases.append((name, {**valid, arg: [text] if shape == "array" else text}, arg))
    id_tools = {name for name, tool in tools.items() if set(tool.input_schema["properties"]) & set(ID_ARGUMENTS)}
    assert len(id_tools) == 9 and id_tools <= {name for name, _, arg in cases if arg in ID_ARGUMENTS}
    return cases


async def assert_nul_is_refused_naming_each_argument(client: Client, annotation_id: str) -> list[str]:
    """Every free-text argument of every tool, with a NUL: a tool error naming it, in the REST routes' words
    (on PostgreSQL it was a bare "Error executing tool …" from the driver, on SQLite "not found")."""
    tools = {t.name: t for t in (await client.list_tools()).tools}
    called = []
    for name, args, arg in nul_cases(tools, annotation_id):
        refused(await client.call_tool(name, args), f"Invalid {arg}: {NUL_MESSAGE}")
        called.append(f"{name}.{arg}")
    return called


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_lists_the_ten_documented_tools_with_their_parameters(shared, mode):
    srv, creds = shared
    async with Client(mcp_url(srv, creds["mcp_token"]), mode=mode) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == TEN
    for name, (params, required) in DOCUMENTED.items():
        schema = tools[name].input_schema
        extensions = {"cursor"} if name == "list_annotations" else {"limit", "cursor"} if name == "list_resolutions" else set()
        assert set(schema["properties"]) == params | extensions, name
        assert set(schema.get("required", [])) == required, name
        assert tools[name].description
    status = tools["patch_annotation"].input_schema["properties"]["status"]["anyOf"][0]["enum"]
    assert status == ["new", "ack", "triaged", "in_progress", "resolved", "won_t_fix", "duplicate"]
    hints = tools["read_annotation"].annotations
    assert hints is not None and hints.read_only_hint is True


async def test_agent_flow_calls_every_tool_and_audits_as_the_site_integration(served):
    srv, creds = served
    data, a, actor = srv.data_dir, creds["a"], f"mcp:{creds['site_id']}"
    async with Client(mcp_url(srv, creds["mcp_token"])) as client:
        # list_annotations: the token's site only, filters as documented.
        everything = ok(await client.call_tool("list_annotations", {}))
        assert everything["site_id"] == creds["site_id"]
        assert {i["id"] for i in everything["items"]} == {creds["a"], creds["b"], creds["c"]}
        auto = ok(await client.call_tool("list_annotations", {"auto_fix": True}))
        assert [i["id"] for i in auto["items"]] == [a]
        bugs = ok(await client.call_tool("list_annotations", {"status": "new", "kind": "bug", "since": "1d"}))
        assert [i["id"] for i in bugs["items"]] == [creds["b"]] and bugs["items"][0]["auto_fix"] is False
        assert ok(await client.call_tool("list_annotations", {"since": "2999-01-01"}))["items"] == []
        first = ok(await client.call_tool("list_annotations", {"limit": 2}))
        assert len(first["items"]) == 2 and first["next_cursor"]
        rest = ok(await client.call_tool("list_annotations", {"limit": 2, "cursor": first["next_cursor"]}))
        assert len(rest["items"]) == 1 and rest["next_cursor"] is None

        # read_annotation: body, styles, thread, markdown, and the screenshot itself.
        read = await client.call_tool("read_annotation", {"id": a})
        detail = ok(read)
        assert detail["body"].startswith("The grey placeholder") and detail["computed_styles"]["color"] == "#9a9a9a"
        assert detail["replies"] == [] and detail["resolutions"] == []
        assert "# Annotation " + a in detail["markdown"] and "| `color` | `#9a9a9a` |" in detail["markdown"]
        assert detail["screenshot"]["inline"] is True and detail["screenshot"]["content_type"] == "image/png"
        image = read.content[1]
        assert image.type == "image" and image.mime_type == "image/png" and base64.b64decode(image.data) == PNG

        # The writes.
        assert ok(await client.call_tool("acknowledge", {"id": a}))["status"] == "ack"
        said = ok(await client.call_tool("reply", {"id": a, "message": "Looking into it."}))
        assert said["author"] == {"type": "agent", "id": actor, "name": said["author"]["name"]}
        patched = ok(await client.call_tool("patch_annotation", {"id": a, "status": "in_progress", "assignee_id": creds["owner_user_id"]}))
        assert patched["status"] == "in_progress" and patched["assignee_id"] == creds["owner_user_id"]

        pre = ok(await client.call_tool("get_resolution_upload_url", {"annotation_id": a, "kind": "after", "content_type": "image/png"}))
        assert set(pre) == {"url", "method", "headers", "key", "expires_in_seconds"}
        assert pre["url"].startswith(srv.url + "/uploads/") and pre["method"] == "PUT"
        assert httpx.put(pre["url"], content=PNG, headers=pre["headers"]).status_code == 200
        res = ok(await client.call_tool("attach_resolution", {
            "annotation_id": a, "after_key": pre["key"], "diff_url": "https://github.com/acme/shop/pull/42",
            "explanation": "Raised the placeholder contrast to 4.6:1.",
        }))
        assert res["after_key"] == pre["key"] and res["created_by"] == actor
        assert res["notification_status"] == "replied"  # no mailer on this server: the thread is told
        listed = ok(await client.call_tool("list_resolutions", {"annotation_id": a}))
        assert [r["id"] for r in listed["items"]] == [res["id"]]

        mine = httpx.get(srv.url + "/api/personas/mine", headers={"Authorization": f"Bearer {creds['member_token']}"}).json()
        lena = next(p for p in mine["items"] if p["category"] == "accessibility")
        run = ok(await client.call_tool("run_personas", {"id": a, "persona_ids": [lena["id"]]}))
        assert [r["persona_id"] for r in run["replies"]] == [lena["id"]] and run["replies"][0]["author"]["type"] == "persona"
        picked = ok(await client.call_tool("run_personas", {"id": a}))
        assert 1 <= len(picked["replies"]) <= 3

        done = ok(await client.call_tool("resolve", {"id": a, "summary": "Contrast raised; shipped in v2."}))
        assert done["status"] == "resolved" and done["summary"] == "Contrast raised; shipped in v2."

    # The store holds it all, and the audit log names the site's MCP integration for every write.
    status, summary, assignee = row(data, "SELECT status, summary, assignee_id FROM annotations WHERE id = ?", a)
    assert (status, summary, assignee) == ("resolved", "Contrast raised; shipped in v2.", creds["owner_user_id"])
    assert row(data, "SELECT count(*) FROM resolutions WHERE annotation_id = ?", a)[0] == 1
    assert row(data, "SELECT count(*) FROM replies WHERE annotation_id = ? AND author_kind = 'agent'", a)[0] == 1
    trail = [entry for entry in audit(data, a) if entry[1] != "annotation.create"]
    assert [action for _, action in trail] == [
        "annotation.update", "annotation.reply", "annotation.update", "resolution.create",
        "annotation.run_personas", "annotation.run_personas", "annotation.update",
    ]
    assert {actor_id for actor_id, _ in trail} == {actor}
    # A site's integration has no undo history: only the local user's changes (stdio, CLI, TUI) are undoable.
    assert row(data, "SELECT count(*) FROM undo_actions")[0] == 0


async def test_refusals_come_back_as_tool_errors_and_write_nothing(shared):
    srv, creds = shared
    b = creds["b"]
    before = audit(srv.data_dir, b)
    async with Client(mcp_url(srv, creds["mcp_token"])) as client:
        refused(await client.call_tool("read_annotation", {"id": "no-such-id"}), "Annotation not found")
        # Another site of the same workspace is invisible to this site's token.
        refused(await client.call_tool("read_annotation", {"id": creds["other"]}), "Annotation not found")
        refused(await client.call_tool("acknowledge", {"id": creds["other"]}), "Annotation not found")
        refused(await client.call_tool("patch_annotation", {"id": b}), "at least one of status, summary, assignee_id")
        refused(await client.call_tool("patch_annotation", {"id": b, "status": "bogus"}), "status")
        refused(await client.call_tool("patch_annotation", {"id": b, "assignee_id": "ghost"}), "not a member")
        refused(await client.call_tool("attach_resolution", {"annotation_id": b}), "At least one of")
        refused(await client.call_tool("attach_resolution", {"annotation_id": b, "diff_url": "http://x.example"}), "https://")
        refused(await client.call_tool("attach_resolution", {"annotation_id": b, "explanation": "x" * 5000}), "explanation: ")  # the schema's
        refused(await client.call_tool("attach_resolution", {"annotation_id": b, "explanation": "é" * 3000}), "4 KB")  # in bytes
        refused(
            await client.call_tool("attach_resolution", {"annotation_id": b, "before_key": f"resolutions/{b}/before-x.png"}),
            "does not name an uploaded object",
        )
        refused(await client.call_tool("reply", {"id": b, "message": ""}), "message")
        refused(await client.call_tool("run_personas", {"id": b, "persona_ids": ["nope"]}), "Persona nope not found")
        refused(await client.call_tool("list_annotations", {"since": "yesterday"}), "Invalid since")
        refused(await client.call_tool("list_annotations", {"cursor": "tampered"}), "cursor")
        refused(await client.call_tool("list_annotations", {"limit": 500}), "limit")
        refused(
            await client.call_tool("get_resolution_upload_url", {"annotation_id": b, "kind": "after", "content_type": "text/html"}),
            "content_type",
        )
    assert audit(srv.data_dir, b) == before
    assert row(srv.data_dir, "SELECT count(*) FROM resolutions WHERE annotation_id = ?", b)[0] == 0


UNKNOWN_TOKEN = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Unknown MCP token", "data": {"status": 401}}}


async def test_a_wrong_token_is_refused_with_401(shared):
    """A 401 with the REST API's challenge, its reason a JSON-RPC error: the SDK's client hands that
    error to its caller, where the REST shape (``{"detail": ...}``) became its stand-in, "Server
    returned an error response" (Internal error), and the agent was never told its token is unknown."""
    srv, creds = shared
    r = httpx.post(mcp_url(srv, "gfmcp_wrong"), json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"]
    assert r.headers["content-type"] == "application/json" and r.json() == UNKNOWN_TOKEN
    # The client cannot even connect; the SDK raises from inside its task groups, with the reason.
    with pytest.raises((MCPError, ExceptionGroup)) as caught:
        async with Client(mcp_url(srv, "gfmcp_wrong")) as client:
            await client.list_tools()
    errors = [e for e in leaves(caught.value) if isinstance(e, MCPError)]
    assert [(e.code, e.message, e.data) for e in errors] == [(-32600, "Unknown MCP token", {"status": 401})]
    # The bare /mcp path and the REST API's bearer do not open the MCP server either.
    assert httpx.post(srv.url + "/mcp", json={}).status_code == 404
    assert httpx.post(mcp_url(srv, creds["member_token"]), json={}).status_code == 401


async def test_json_that_is_no_json_rpc_message_is_an_invalid_request_in_one_sentence(shared):
    """The SDK answered ``{"id": 1}`` with pydantic's report on each message type it could have been
    (eight errors, each linking pydantic's site), as Invalid params; JSON-RPC calls it Invalid Request.
    Its refusals had no ``data.status``, which README promises of every HTTP-level refusal."""
    srv, creds = shared
    accept = {"Accept": "application/json, text/event-stream"}
    for body in ({"id": 1}, [{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}], {"jsonrpc": "1.0", "id": 1, "method": "tools/list"}):
        r = httpx.post(mcp_url(srv, creds["mcp_token"]), json=body, headers=accept)
        assert r.status_code == 400 and int(r.headers["content-length"]) == len(r.content), r.text
        error = r.json()["error"]
        assert error["code"] == -32600 and error["message"].startswith("Invalid Request: ") and "pydantic" not in r.text
        assert r.json()["id"] is None and error["data"] == {"status": 400}
    # The SDK's other refusals keep their words, in the endpoint's refusal shape (``data.status``, a
    # null id where the SDK said "server-error"): a body that is not JSON is its Parse error...
    garbled = httpx.post(mcp_url(srv, creds["mcp_token"]), content=b"nonsense", headers={**accept, "Content-Type": "application/json"})
    assert garbled.status_code == 400 and int(garbled.headers["content-length"]) == len(garbled.content)
    assert garbled.json()["id"] is None and garbled.json()["error"]["code"] == -32700
    assert garbled.json()["error"]["message"].startswith("Parse error") and garbled.json()["error"]["data"] == {"status": 400}
    # ...and an Accept without both of the transport's types its 406.
    listed = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    unaccepted = httpx.post(mcp_url(srv, creds["mcp_token"]), json=listed, headers={"Accept": "text/html"})
    assert unaccepted.status_code == 406 and unaccepted.json()["id"] is None, unaccepted.text
    assert unaccepted.json()["error"]["message"].startswith("Not Acceptable") and unaccepted.json()["error"]["data"] == {"status": 406}


async def test_a_body_not_sent_as_json_is_refused_in_json_naming_the_type_expected(shared):
    """The SDK's first check of Content-Type answered a bare text/plain 400 ("Invalid Content-Type
    header"), where every other refusal of the server is JSON: now its own 415 in JSON-RPC's shape."""
    srv, creds = shared
    url = mcp_url(srv, creds["mcp_token"])
    listed = b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}'
    accept = {"Accept": "application/json, text/event-stream"}
    for sent, said in (("text/plain", "got 'text/plain'"), ("application/x-www-form-urlencoded", "got 'application/x-www-form-urlencoded'"),
                       (None, "no Content-Type was sent")):
        r = httpx.post(url, content=listed, headers={**accept, **({"Content-Type": sent} if sent else {})})
        assert r.status_code == 415 and r.headers["content-type"] == "application/json", (r.status_code, r.headers, r.text)
        assert r.json() == {"jsonrpc": "2.0", "id": None, "error": {
            "code": -32600, "message": f"Unsupported Media Type: Content-Type must be application/json ({said})",
            "data": {"status": 415}}}
    for declared in ("application/json; charset=utf-8", "Application/JSON"):  # media types are case-insensitive
        sent_as_json = httpx.post(url, content=listed, headers={**accept, "Content-Type": declared})
        assert sent_as_json.status_code == 200 and sent_as_json.json()["id"] == 1, (declared, sent_as_json.text)
    # The caller is judged first, whatever the body: a wrong token is its 401.
    assert httpx.post(mcp_url(srv, "gfmcp_wrong"), content=listed, headers={"Content-Type": "text/plain"}).status_code == 401


async def test_every_method_but_post_is_a_405_in_the_refusal_shape(shared):
    """README promises every HTTP-level refusal of the endpoint its JSON-RPC error with
    ``data.status``; the SDK answered DELETE, PUT and PATCH itself, with none (a GET had it)."""
    srv, creds = shared
    accept = {"Accept": "application/json, text/event-stream"}
    for method in ("GET", "DELETE", "PUT", "PATCH", "OPTIONS"):
        r = httpx.request(method, mcp_url(srv, creds["mcp_token"]), headers=accept)
        assert r.status_code == 405 and r.headers["allow"] == "POST", (method, r.status_code, r.headers)
        assert r.headers["content-type"] == "application/json" and int(r.headers["content-length"]) == len(r.content)
        error = r.json()["error"]
        assert r.json()["id"] is None and error["code"] == -32600 and error["data"] == {"status": 405}, (method, r.text)
    said = httpx.delete(mcp_url(srv, creds["mcp_token"]), headers=accept).json()["error"]["message"]
    assert "no session to end" in said and "stateless" in said
    # The caller is still judged first.
    assert httpx.delete(mcp_url(srv, "gfmcp_wrong")).json() == UNKNOWN_TOKEN


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_endpoint_is_served_with_or_without_a_trailing_slash(shared, mode):
    """A client's configured URL is all it knows: ``/mcp/<token>/`` reached the endpoint through the
    app's 307 before paths stopped being redirected, and is served as it is now, never redirected."""
    srv, creds = shared
    slashed = mcp_url(srv, creds["mcp_token"]) + "/"
    async with Client(slashed, mode=mode) as client:
        assert {t.name for t in (await client.list_tools()).tools} == TEN
        assert ok(await client.call_tool("list_annotations", {"limit": 1}))["site_id"] == creds["site_id"]
    listed = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    accept = {"Accept": "application/json, text/event-stream"}
    for url in (slashed, slashed[:-1]):
        r = httpx.post(url, json=listed, headers=accept)
        assert r.status_code == 200 and "location" not in r.headers, (url, r.status_code, r.text)
    wrong = httpx.post(mcp_url(srv, "gfmcp_wrong") + "/", json=listed, headers=accept)
    assert wrong.status_code == 401 and wrong.json() == UNKNOWN_TOKEN


async def test_a_rotated_token_stops_at_once_even_mid_session(served):
    server, creds = served
    old = creds["mcp_token"]
    owner = {"Authorization": f"Bearer {creds['owner_session']}", "X-GF-Workspace": creds["workspace_id"]}
    async with Client(mcp_url(server, old)) as client:
        assert ok(await client.call_tool("list_annotations", {}))["site_id"] == creds["site_id"]
        rotated = httpx.post(f"{server.url}/api/widget/sites/{creds['site_id']}/secrets/rotate-mcp-token", headers=owner)
        assert rotated.status_code == 200
        new = rotated.json()["mcp_token"]
        assert new != old
        with pytest.raises(MCPError) as caught:
            await client.call_tool("list_annotations", {})
        assert caught.value.message == "Unknown MCP token"  # told why, mid-session: the token is no more
    assert httpx.post(mcp_url(server, old), json={}).status_code == 401
    async with Client(mcp_url(server, new)) as client:
        assert ok(await client.call_tool("list_annotations", {}))["site_id"] == creds["site_id"]


@pytest.mark.usefixtures("own_store")  # before wb: its store is the test's own
def test_the_mcp_endpoint_answers_503_before_the_app_has_started(wb, creds):
    from fastapi.testclient import TestClient

    from tests.conftest import TEST_SETTINGS
    from workbench.server.app import create_app

    plain = TestClient(create_app(wb, TEST_SETTINGS))  # no `with`: the lifespan never runs
    down = plain.post(f"/mcp/{creds['mcp_token']}", json={})
    assert down.status_code == 503 and down.json()["error"]["data"] == {"status": 503}
    assert plain.post("/mcp/wrong", json={}).status_code == 401


async def test_a_rate_limited_call_tells_the_sdk_client_why_and_when_to_come_back(tmp_path, own_store):
    """The per-credential bucket's 429 keeps its ``Retry-After`` and says its reason and the seconds
    to wait in a JSON-RPC error, which the SDK's client raises as they are: the REST shape became
    "Server returned an error response" (Internal error), which reads as the server's bug, not a pause."""
    data = tmp_path / "served"
    creds = seed(data)
    srv = ServerProcess(data, "--token-limit", "3", "--ip-limit", "1000000")
    try:
        async with Client(mcp_url(srv, creds["mcp_token"])) as client:
            with pytest.raises(MCPError) as caught:
                for _ in range(4):  # the session's own requests count too: the limit is met within these
                    await client.call_tool("list_annotations", {"limit": 1})
        error = caught.value
        assert error.code == -32600 and error.message == "Rate limit exceeded: per-token bucket (3 requests per 60s)"
        assert error.data["status"] == 429 and 1 <= error.data["retryAfter"] <= 60
        listed = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        r = httpx.post(mcp_url(srv, creds["mcp_token"]), json=listed, headers={"Accept": "application/json, text/event-stream"})
        assert r.status_code == 429 and r.json()["error"]["data"] == {"status": 429, "retryAfter": int(r.headers["retry-after"])}
    finally:
        srv.stop()


@pytest.mark.usefixtures("own_store")  # before wb: its store is the test's own
def test_the_sdk_loads_on_the_first_mcp_request_not_with_the_app(tmp_path, wb, creds):
    """About a second of CPU every `workbench serve` start skipped: checked in a fresh interpreter,
    since this one has long imported the SDK."""
    probe = (
        "import os, sys\n"
        "from fastapi.testclient import TestClient\n"
        "from workbench.server.app import create_app\n"
        "from workbench.services.context import Workbench\n"
        f"wb = Workbench.open({str(tmp_path / 'data')!r}, database=os.environ.get('WORKBENCH_DATABASE_URL'), mailer=None)\n"
        "with TestClient(create_app(wb)) as c:\n"
        "    print('mcp' in sys.modules, c.get('/api/v1/sites').status_code)\n"
        f"    r = c.post('/mcp/{creds['mcp_token']}', json={{'jsonrpc': '2.0', 'id': 1, 'method': 'ping'}},\n"
        "               headers={'Accept': 'application/json, text/event-stream'})\n"
        "    print('mcp' in sys.modules, r.status_code, r.json().get('result'))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[:2] == ["False 401", "True 200 {}"]


@pytest.mark.parametrize(
    "since,message",
    [
        (99999999999999999999, "past the year 9999"),  # was a bare "Error executing tool" (SQLite overflow)
        ("99999999999999999999", "past the year 9999"),
        ("10000000d", "before 1970"),  # was a negative epoch
        ("9999-12-31T23:59:59-05:00", "past the year 9999"),  # only past 9999 once in UTC
        ("2024-06-01T10:00:00", "has no timezone: add Z for UTC"),  # was read as UTC: someone's local time, moved
        (-5, "non-negative"),
    ],
)
async def test_list_annotations_refuses_since_out_of_range_with_its_reason(shared, since, message):
    srv, creds = shared
    async with Client(mcp_url(srv, creds["mcp_token"])) as client:
        refused(await client.call_tool("list_annotations", {"since": since}), message)


async def test_a_nul_in_any_string_argument_is_refused_naming_it_on_both_engines(served):
    srv, creds = served
    a = creds["a"]
    before = audit(srv.data_dir, a)
    async with Client(mcp_url(srv, creds["mcp_token"])) as client:
        called = await assert_nul_is_refused_naming_each_argument(client, a)
        assert {"list_annotations.cursor", "reply.message", "patch_annotation.assignee_id", "run_personas.persona_ids"} <= set(called)
        assert ok(await client.call_tool("read_annotation", {"id": a}))["id"] == a  # the server is fine after them
    assert audit(srv.data_dir, a) == before
    srv.stop()
    assert "Traceback" not in Path(srv.log.name).read_text(errors="replace")  # a refusal, not a crash the SDK logged


@pytest.mark.parametrize(
    "tool,arguments,argument",
    [
        ("list_annotations", {"since": True}, "since"),  # was read as since=1 ms: every annotation
        ("list_annotations", {"since": False}, "since"),
        ("list_annotations", {"limit": True}, "limit"),  # was a page of one
        ("list_resolutions", {"limit": True}, "limit"),
    ],
)
async def test_a_boolean_is_no_number(shared, tool, arguments, argument):
    srv, creds = shared
    if tool == "list_resolutions":
        arguments = {"annotation_id": creds["a"], **arguments}
    async with Client(mcp_url(srv, creds["mcp_token"])) as client:
        refused_naming(await client.call_tool(tool, arguments), argument)
        # Integers and the string forms still go through.
        assert len(ok(await client.call_tool("list_annotations", {"since": 0, "limit": 1}))["items"]) == 1
        assert len(ok(await client.call_tool("list_annotations", {"since": "0"}))["items"]) == 3


@pytest.mark.parametrize("auto_fix", ["yes", "true", 1, 0, "on", "false"])
async def test_a_boolean_argument_takes_only_true_or_false(auto_fix):
    """Lax reading took "yes", "on", 1 and "true" for true (and "false", 0 for false): a filter the
    agent mistyped filtered anyway. Over both transports' schemas a boolean is a JSON boolean."""
    for offline in (False, True):
        async with in_process(offline=offline) as client:
            result: Any = await client.call_tool("list_annotations", {"auto_fix": auto_fix})
            assert result.is_error
            assert result.content[0].text.splitlines() == [
                "Error executing tool list_annotations: invalid arguments",
                "auto_fix: Input should be a valid boolean",
            ]


async def test_a_summary_or_explanation_that_shows_nothing_is_blank(shared):
    srv, creds = shared
    c = creds["c"]  # c is this test's alone on the shared server
    before = audit(srv.data_dir, c)
    async with Client(mcp_url(srv, creds["mcp_token"])) as client:
        for invisible in ("\u200b", "\u00a0\u200b", "\x07", "\u200d\ufeff\u2060", "\u3164", "\ufe0f"):
            refused(await client.call_tool("resolve", {"id": c, "summary": invisible}), "cannot be blank")
            refused(await client.call_tool("attach_resolution", {"annotation_id": c, "explanation": invisible}), "At least one of")
            # Refused by the reply's model, whose field is body: named by the argument the agent sent.
            said = refusal(await client.call_tool("reply", {"id": c, "message": invisible}))
            assert "message: " in said and "body" not in said, said
        said = refusal(await client.call_tool("reply", {"id": c, "message": "   "}))
        assert "message: " in said and "body" not in said, said
        assert ok(await client.call_tool("patch_annotation", {"id": c, "summary": "Filed."}))["summary"] == "Filed."
        assert ok(await client.call_tool("patch_annotation", {"id": c, "summary": "\u200b"}))["summary"] is None  # blank clears it
        # Something visible among them says something, and is kept as written (output escapes controls).
        done = ok(await client.call_tool("resolve", {"id": c, "summary": "\u2705\ufe0f\x07"}))
        assert done["status"] == "resolved" and done["summary"] == "\u2705\ufe0f\x07"
    assert len(audit(srv.data_dir, c)) == len(before) + 3  # the refusals wrote nothing
    assert row(srv.data_dir, "SELECT count(*) FROM resolutions WHERE annotation_id = ?", c)[0] == 0


async def test_the_reply_tool_says_it_posts_as_an_agent_as_it_does(shared):
    srv, creds = shared
    async with Client(mcp_url(srv, creds["mcp_token"])) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        said = ok(await client.call_tool("reply", {"id": creds["a"], "message": "Seen."}))
    assert tools["reply"].description == REPLY_AS_AGENT and "agent" in REPLY_AS_AGENT
    assert said["author"]["type"] == "agent"


def in_process(*, offline: bool) -> Client:
    """The tools' server in this process, for what needs no store: schemas, and refusals made before a tool runs."""
    from workbench.mcp.tools import build_server

    def no_store(_ctx: Any) -> Any:
        raise AssertionError("the call was refused before the tool ran")

    return Client(build_server(no_store, offline=offline))


def test_without_the_sdks_tool_registry_its_checks_step_aside():
    """The unknown-argument check and the closed schemas read the SDK's protected ``_tool_manager``,
    and stdio's answering reader its ``_lowlevel_server``: a release that renames them must leave
    the SDK's behaviour, not an AttributeError on every call."""
    bare = object.__new__(StoreServer)  # none of the SDK's attributes
    assert bare._tools() == [] and bare._schema_of("list_annotations") is None
    bare.close_schemas()
    assert not bare.serves_streams  # stdio then runs the SDK's own loop (workbench.mcp.stdio)


async def test_an_argument_the_tool_does_not_take_is_refused_by_name(shared):
    """The SDK dropped unknown arguments: a misspelt filter listed everything, and stdio's
    ``before_file`` sent over HTTP was told "at least one field is required"."""
    srv, creds = shared
    before = audit(srv.data_dir, creds["b"])
    async with Client(mcp_url(srv, creds["mcp_token"])) as client:
        tools = (await client.list_tools()).tools
        assert all(t.input_schema.get("additionalProperties") is False for t in tools)  # the schema says so
        refused(await client.call_tool("list_annotations", {"statuss": "new"}), "unknown argument 'statuss'; it takes status, kind")
        refused(await client.call_tool("attach_resolution", {"annotation_id": creds["b"], "before_file": "/tmp/after.png"}),
                "unknown argument 'before_file'; it takes annotation_id, before_key, after_key, diff_url, explanation")
    assert audit(srv.data_dir, creds["b"]) == before
    async with in_process(offline=True) as client:
        assert all(t.input_schema.get("additionalProperties") is False for t in (await client.list_tools()).tools)
        refused(await client.call_tool("read_annotation", {"id": "x", "\x1b[2J" + "y" * 500: 1}), "unknown argument '\\x1b[2Jyyy")


async def test_an_empty_file_or_site_is_refused_not_read_as_absent():
    """Offline, attach_resolution with ``after_file: ""`` beside a diff URL attached the URL alone,
    saying nothing of the file, and ``site_id: ""`` listed the first site: the CLI refuses its
    ``--after ""`` and ``--site ""``. Refused by the schema, before the tool runs."""
    async with in_process(offline=True) as client:
        for argument in ("before_file", "after_file"):
            said = refusal(await client.call_tool(
                "attach_resolution", {"annotation_id": "a", argument: "", "diff_url": "https://x.example/pr/1"}))
            assert f"{argument}: String should have at least 1 character" in said, said
        said = refusal(await client.call_tool("list_annotations", {"site_id": ""}))
        assert "site_id: String should have at least 1 character" in said, said


async def test_a_schema_refusal_names_each_argument_in_words(shared):
    """Not pydantic's dump: its model's name (another over stdio), error codes, the value echoed, a link."""
    srv, creds = shared
    async with Client(mcp_url(srv, creds["mcp_token"])) as client:
        result: Any = await client.call_tool("list_annotations", {"limit": "5", "status": "bogus"})
    assert result.is_error
    assert result.content[0].text.splitlines() == [
        "Error executing tool list_annotations: invalid arguments",
        "status: Input should be 'new', 'ack', 'triaged', 'in_progress', 'resolved', 'won_t_fix' or 'duplicate'",
        "limit: Input should be a valid integer",
    ]


async def test_an_argument_of_several_types_is_refused_in_one_line():
    """since takes an integer or a string: a float was refused twice, under pydantic's names for
    each try ("since.int: …", "since.str: …"), where each argument is one line."""
    for offline in (False, True):
        async with in_process(offline=offline) as client:
            result: Any = await client.call_tool("list_annotations", {"since": 1.5})
            assert result.is_error
            assert result.content[0].text.splitlines() == [
                "Error executing tool list_annotations: invalid arguments",
                "since: Input should be a valid integer or a valid string",
            ]


def refusal(result: Any) -> str:
    assert result.is_error
    return result.content[0].text


async def test_a_tool_reads_the_same_over_stdio_and_http_but_for_the_offline_extensions():
    """The offline variants' function names (list_annotations_offline) named their schemas and their refusals."""
    async with in_process(offline=False) as served, in_process(offline=True) as local:
        http = {t.name: t for t in (await served.list_tools()).tools}
        stdio = {t.name: t for t in (await local.list_tools()).tools}
        for name in ("list_annotations", "attach_resolution"):
            for schema in ("input_schema", "output_schema"):
                assert getattr(stdio[name], schema)["title"] == getattr(http[name], schema)["title"], (name, schema)
        assert stdio["list_annotations"].input_schema["title"] == "list_annotationsArguments"
        bad = {"annotation_id": 5}
        said = [refusal(await client.call_tool("attach_resolution", bad)) for client in (served, local)]
    assert said[0] == said[1] == "Error executing tool attach_resolution: invalid arguments\nannotation_id: Input should be a valid string"


async def test_the_schemas_publish_the_lengths_the_tools_refuse_beyond():
    """An assignee over 200 characters, a persona id over 100 or an explanation over 4 KB were
    refused by the request models with no word of it in the schema an agent reads first."""
    async with in_process(offline=False) as client:
        tools = {t.name: t.input_schema["properties"] for t in (await client.list_tools()).tools}
    assert tools["patch_annotation"]["assignee_id"]["anyOf"][0]["maxLength"] == 200
    assert tools["run_personas"]["persona_ids"]["anyOf"][0]["items"]["maxLength"] == 100
    assert tools["attach_resolution"]["explanation"]["anyOf"][0]["maxLength"] == 4096


async def test_the_instructions_name_only_calls_the_server_takes():
    """They said list_resolutions(id), an argument the tool refuses, and told an agent over stdio to
    use get_resolution_upload_url, which refuses there (no server to PUT to)."""
    for offline in (False, True):
        async with in_process(offline=offline) as client:
            tools = {t.name: t.input_schema for t in (await client.list_tools()).tools}
            said = client.instructions or ""
        for name, args in re.findall(r"(\w+)\(([^)]*)\)", said):
            assert name in tools, (offline, name)
            for arg in (part.split("=")[0].strip() for part in args.split(",")):
                assert arg == "..." or arg in tools[name]["properties"], (offline, name, arg)
        assert ("get_resolution_upload_url" in said) is not offline
        assert offline is ("before_file" in said)


async def test_offline_the_upload_url_tool_says_it_is_not_available_as_it_refuses():
    """Over stdio it always refuses (no server to PUT to), while its description promised a presigned upload."""
    said = {}
    for offline in (False, True):
        async with in_process(offline=offline) as client:
            said[offline] = {t.name: t.description for t in (await client.list_tools()).tools}["get_resolution_upload_url"] or ""
    assert said[False].startswith("Presign a before/after screenshot upload")
    assert said[True].startswith("Not available on this local store") and "before_file/after_file" in said[True]


async def test_offline_attach_copies_nothing_for_a_refused_call_and_tells_an_unreadable_file(tmp_path, own_store):
    """The stdio tool copied the files into the store before the rules refused the call (a stray
    upload each time, which the CLI had stopped doing), and a path the system cannot even look
    up (a name over 255 bytes) was a bare "Error executing tool" and a traceback."""
    from workbench.mcp.tools import Caller, build_server
    from workbench.services.local import local_user

    data = tmp_path / "local"
    creds = seed(data)
    uploads = "SELECT count(*) FROM uploads WHERE annotation_id = ?"
    before = row(data, uploads, creds["a"])[0]  # its screenshot
    after = tmp_path / "after.png"
    after.write_bytes(PNG)
    wb = Workbench.open(str(data), mailer=None)
    try:
        caller = Caller(wb, local_user(wb, None, create=False), None)
        async with Client(build_server(lambda _ctx: caller, offline=True)) as client:
            a = creds["a"]
            refused(await client.call_tool("attach_resolution", {"annotation_id": a, "after_file": str(after), "diff_url": "http://x.example"}),
                    "diff_url must be an https:// URL")
            assert row(data, uploads, a)[0] == before
            refused(await client.call_tool("attach_resolution", {"annotation_id": a, "before_file": f"/{'x' * 300}.png"}),
                    "cannot be read: File name too long")
            refused(await client.call_tool("attach_resolution", {"annotation_id": a, "before_file": str(tmp_path)}),
                    f"before_file: {tmp_path} is a directory, not an image file")
    finally:
        wb.store.close()


async def test_run_personas_takes_a_slug_as_the_cli_does(tmp_path, own_store):
    """The CLI's --persona took a slug; the tool took ids only, and no tool lists them: an agent asked
    for the screen-reader review was told "Persona ada-screen-reader-user not found"."""
    from workbench.mcp.tools import Caller, build_server
    from workbench.services.auth import authenticate_mcp
    from workbench.services.local import local_user

    data = tmp_path / "local"
    creds = seed(data)
    wb = Workbench.open(str(data), mailer=None)
    try:
        ada = row(data, "SELECT id FROM personas WHERE slug = 'ada-screen-reader-user'")[0]
        agent = Caller(wb, authenticate_mcp(wb, creds["mcp_token"]), "http://localhost:11001")
        local = Caller(wb, local_user(wb, None, create=False), None)
        for caller, offline in ((agent, False), (local, True)):
            async with Client(build_server(lambda _ctx, caller=caller: caller, offline=offline)) as client:
                ran = ok(await client.call_tool("run_personas", {"id": creds["a"], "persona_ids": ["ada-screen-reader-user", ada]}))
                assert [r["persona_id"] for r in ran["replies"]] == [ada], offline  # one persona, named twice
                refused(await client.call_tool("run_personas", {"id": creds["a"], "persona_ids": ["nobody-at-all"]}),
                        "Persona nobody-at-all not found")
    finally:
        wb.store.close()


async def test_offline_attach_takes_a_home_relative_file_and_names_where_it_looked(tmp_path, own_store, monkeypatch):
    """No shell expands an agent's ``~/after.png``: it was "No such file: ~/after.png". A relative
    path is taken from the server's working directory, which the agent never sees: the refusal
    named only what it was given."""
    from workbench.mcp.tools import Caller, build_server
    from workbench.services.local import local_user

    data = tmp_path / "local"
    creds = seed(data)
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    (home / "after.png").write_bytes(PNG)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(elsewhere)
    wb = Workbench.open(str(data), mailer=None)
    try:
        caller = Caller(wb, local_user(wb, None, create=False), None)
        async with Client(build_server(lambda _ctx: caller, offline=True)) as client:
            attached = ok(await client.call_tool("attach_resolution", {"annotation_id": creds["a"], "after_file": "~/after.png"}))
            assert attached["after_key"].endswith(".png")
            refused(await client.call_tool("attach_resolution", {"annotation_id": creds["a"], "before_file": "shots/before.png"}),
                    f"before_file: No such file: {elsewhere / 'shots' / 'before.png'}")
    finally:
        wb.store.close()
