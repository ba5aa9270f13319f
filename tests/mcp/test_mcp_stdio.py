"""MCP over stdio: `workbench mcp --data-dir` spawned by the official client, acting as the local user.

Each test spawns its own server. The tests that write nothing read one store seeded per engine
(``shared_store``); the others seed a store of their own (``store``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp_types import ImageContent
from typer.testing import CliRunner

from tests.disk_limit import SHM_BYTES, lift, limited
from tests.mcp.test_mcp_http import DOCUMENTED, PNG, TEN, assert_nul_is_refused_naming_each_argument, audit, ok, refused, row, seed
from tests.stores import stored_blob
from workbench.cli.main import app
from workbench.mcp.tools import REPLY_AS_LOCAL_USER
from workbench.services import sites as sites_svc
from workbench.services.bootstrap import owner_principal
from workbench.services.context import Workbench

ROOT = Path(__file__).resolve().parents[2]


def stdio(data_dir: Path) -> Client:
    # The SDK passes the child only a few safe variables: the engine fixture's database goes as --database.
    url = os.environ.get("WORKBENCH_DATABASE_URL")
    args = ["-m", "workbench", "mcp", "--data-dir", str(data_dir), *(["--database", url] if url else [])]
    params = StdioServerParameters(command=sys.executable, args=args, cwd=str(ROOT))
    return Client(params, read_timeout_seconds=60)


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory, engine: str) -> tuple[Path, dict[str, Any]]:
    """Seeded once per engine (the module's, tests/mcp/conftest.py), for the tests that write nothing."""
    data = tmp_path_factory.mktemp("shared") / "local"
    return data, seed(data)


@pytest.fixture
def store(tmp_path: Path, own_store: str) -> tuple[Path, dict[str, Any]]:
    data = tmp_path / "local"
    return data, seed(data)


async def test_stdio_offers_the_ten_tools_with_offline_extensions(shared_store):
    data, _ = shared_store
    async with stdio(data) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == TEN
    extensions = {
        "list_annotations": {"cursor", "site_id"}, "attach_resolution": {"before_file", "after_file"}, "list_resolutions": {"limit", "cursor"},
    }
    for name, (params, required) in DOCUMENTED.items():
        schema = tools[name].input_schema
        assert set(schema["properties"]) == params | extensions.get(name, set()), name
        assert set(schema.get("required", [])) == required, name


async def test_stdio_triage_goes_through_the_services_as_the_local_user(store, tmp_path):
    data, creds = store
    a, owner = creds["a"], creds["owner_user_id"]
    after = tmp_path / "after.png"
    after.write_bytes(PNG)
    wb = Workbench.open(str(data), mailer=None)
    try:
        first_site = sites_svc.list_sites(wb, owner_principal(creds["workspace_id"], owner))[0].id
    finally:
        wb.store.close()
    async with stdio(data) as client:
        default = ok(await client.call_tool("list_annotations", {}))
        assert default["site_id"] == first_site
        # The local user sees every site of its workspace, one at a time.
        ours = ok(await client.call_tool("list_annotations", {"site_id": creds["site_id"], "auto_fix": True}))
        assert [i["id"] for i in ours["items"]] == [a]
        detail = ok(await client.call_tool("read_annotation", {"id": creds["other"]}))
        assert detail["body"] == "Search is broken on the docs site."
        read = await client.call_tool("read_annotation", {"id": a})
        image = read.content[1]
        assert ok(read)["screenshot"]["inline"] and isinstance(image, ImageContent) and image.mime_type == "image/png"

        assert ok(await client.call_tool("acknowledge", {"id": a}))["status"] == "ack"
        said = ok(await client.call_tool("reply", {"id": a, "message": "On it, offline."}))
        assert said["author"]["type"] == "user" and said["author"]["id"] == owner
        assert ok(await client.call_tool("patch_annotation", {"id": a, "assignee_id": owner}))["assignee_id"] == owner
        assert ok(await client.call_tool("patch_annotation", {"id": a, "assignee_id": ""}))["assignee_id"] is None

        refused(
            await client.call_tool("get_resolution_upload_url", {"annotation_id": a, "kind": "after", "content_type": "image/png"}),
            "before_file/after_file",
        )
        res = ok(await client.call_tool("attach_resolution", {"annotation_id": a, "after_file": str(after), "explanation": "Darker text."}))
        assert res["after_key"].startswith(f"resolutions/{a}/after-") and res["notification_status"] == "replied"
        assert stored_blob(data, res["after_key"]) == PNG
        refused(
            await client.call_tool("attach_resolution", {"annotation_id": a, "after_file": str(after), "after_key": res["after_key"]}),
            "not both",
        )
        refused(await client.call_tool("attach_resolution", {"annotation_id": a, "before_file": str(tmp_path / "missing.png")}), "No such file")
        assert len(ok(await client.call_tool("list_resolutions", {"annotation_id": a}))["items"]) == 1
        second = ok(await client.call_tool("attach_resolution", {"annotation_id": a, "explanation": "And the hover state."}))
        first_page = ok(await client.call_tool("list_resolutions", {"annotation_id": a, "limit": 1}))
        assert [r["id"] for r in first_page["items"]] == [res["id"]] and first_page["next_cursor"]
        rest = ok(await client.call_tool("list_resolutions", {"annotation_id": a, "limit": 1, "cursor": first_page["next_cursor"]}))
        assert [r["id"] for r in rest["items"]] == [second["id"]] and rest["next_cursor"] is None
        refused(await client.call_tool("list_resolutions", {"annotation_id": a, "cursor": "garbage"}), "Invalid cursor")
        assert ok(await client.call_tool("run_personas", {"id": a}))["replies"]
        # A blank summary says nothing was done: refused, as the CLI's and the TUI's resolve do.
        refused(await client.call_tool("resolve", {"id": a, "summary": "   "}), "cannot be blank")
        refused(await client.call_tool("resolve", {"id": a, "summary": "\u00a0\u200b"}), "cannot be blank")  # shows nothing either
        assert ok(await client.call_tool("resolve", {"id": a, "summary": "Fixed offline."}))["status"] == "resolved"
        refused(await client.call_tool("acknowledge", {"id": "nope"}), "Annotation not found")

    assert row(data, "SELECT status, summary FROM annotations WHERE id = ?", a) == ("resolved", "Fixed offline.")
    trail = [entry for entry in audit(data, a) if entry[1] != "annotation.create"]
    assert [action for _, action in trail] == [
        "annotation.update", "annotation.reply", "annotation.update", "annotation.update", "resolution.create", "resolution.create",
        "annotation.run_personas", "annotation.update",
    ]
    assert {actor for actor, _ in trail} == {owner}


async def test_stdio_refuses_a_nul_in_any_string_argument_naming_it(shared_store):
    """Offline on PostgreSQL (`workbench mcp --database`) a NUL in site_id or an id was a bare driver error."""
    data, creds = shared_store
    a = creds["a"]
    before = audit(data, a)
    async with stdio(data) as client:
        called = await assert_nul_is_refused_naming_each_argument(client, a)
        assert {"list_annotations.site_id", "attach_resolution.after_file"} <= set(called)
        assert ok(await client.call_tool("list_annotations", {"site_id": creds["site_id"]}))["items"]
    assert audit(data, a) == before


async def test_stdio_reply_says_it_posts_as_the_local_user_as_it_does(store):
    data, creds = store
    async with stdio(data) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        said = ok(await client.call_tool("reply", {"id": creds["a"], "message": "Seen, offline."}))
    description = tools["reply"].description or ""
    assert description == REPLY_AS_LOCAL_USER and "local user" in description and "agent reply" not in description
    assert said["author"]["type"] == "user" and said["author"]["id"] == creds["owner_user_id"]


def test_stdio_answers_a_line_it_cannot_read_and_serves_the_next(shared_store):
    """A line that is not JSON (bytes that are not UTF-8 among it), or JSON that is no JSON-RPC
    message, got no answer: the SDK's reader handed the server an error, which it dropped, and
    the client waited for ever. Each is answered with id null, in order, and the next line served."""
    import json
    import queue
    import threading

    data, _ = shared_store
    url = os.environ.get("WORKBENCH_DATABASE_URL")
    args = [sys.executable, "-m", "workbench", "mcp", "--data-dir", str(data), *(["--database", url] if url else [])]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdin is not None and proc.stdout is not None
    answers_read: queue.Queue[bytes] = queue.Queue()
    # A thread reads, so a missing answer fails the test after a minute rather than hanging it.
    threading.Thread(target=lambda out=proc.stdout: [answers_read.put(line) for line in out], daemon=True).start()

    def answer() -> dict[str, Any]:
        try:
            return json.loads(answers_read.get(timeout=60))
        except queue.Empty:
            raise AssertionError("no answer within 60 s") from None

    try:
        hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}
        lines = [
            json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello}).encode(),
            b'{"jsonrpc": "2.0", "method": "notifications/initialized"}',
            b'{"jsonrpc": "2.0", "id": 2, "method": "caf\xe9"\xff}',  # bytes that are not UTF-8: a Latin-1 é, a stray 0xff
            b"\xff\xfe",
            b"nonsense",
            b'{"id": 3}',
            b'[{"jsonrpc": "2.0", "id": 4, "method": "ping"}]',
            b'{"jsonrpc": "2.0", "id": 5, "method": "ping"}',
        ]
        proc.stdin.write(b"".join(line + b"\n" for line in lines))
        proc.stdin.flush()
        assert answer()["id"] == 1
        answers = [answer() for _ in range(6)]
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    assert [(a["id"], a.get("error", {}).get("code")) for a in answers] == [
        (None, -32700), (None, -32700), (None, -32700), (None, -32600), (None, -32600), (5, None),
    ]
    assert answers[0]["error"]["message"].startswith("Parse error: each line must be one JSON-RPC message, JSON in UTF-8 (")
    assert answers[3]["error"]["message"].startswith("Invalid Request: the line is JSON but not a JSON-RPC 2.0 message.")
    assert answers[5]["result"] == {}


def test_stdio_answers_every_request_piped_in_before_stdin_ends(shared_store):
    """QA: `printf '…' | workbench mcp`, requests and then the end of stdin, lost the answers of the
    tool calls still running at the end: the SDK cancels them there. Each request is answered
    before the server exits."""
    import json

    data, seeded = shared_store
    url = os.environ.get("WORKBENCH_DATABASE_URL")
    args = [sys.executable, "-m", "workbench", "mcp", "--data-dir", str(data), *(["--database", url] if url else [])]
    hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}
    calls = [("list_annotations", {"limit": 2}), ("read_annotation", {"id": seeded["a"]}), ("list_resolutions", {"annotation_id": seeded["b"]}),
             ("list_annotations", {"status": "new"}), ("read_annotation", {"id": seeded["c"]})]
    lines = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        *({"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
          for n, (name, arguments) in enumerate(calls, start=2)),
    ]
    done = subprocess.run(args, input="".join(json.dumps(line) + "\n" for line in lines), capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert sorted(a["id"] for a in answers) == list(range(1, len(calls) + 2))
    assert not any(a["result"].get("isError") for a in answers[1:]), done.stdout[:2000]


def undo_cli(data: Path, *args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--data-dir", str(data)])
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result.stdout


async def test_workbench_undo_takes_back_what_an_agent_did_over_stdio(store, engine):
    """The human who let an agent triage locally undoes it as their own: the agent acts as the
    local user, and its changes were in no undo history, so `workbench undo` (and the TUI's `u`)
    went past them to the human's own last change. With `--database` (a team server's database,
    which `workbench undo` and the TUI do not open) nothing is recorded, as over HTTP."""
    data, creds = store
    b = creds["b"]
    async with stdio(data) as client:
        assert ok(await client.call_tool("patch_annotation", {"id": b, "status": "triaged"}))["status"] == "triaged"
        ok(await client.call_tool("reply", {"id": b, "message": "Looking into it."}))
        assert ok(await client.call_tool("resolve", {"id": b, "summary": "Fixed the coupon."}))["status"] == "resolved"
    assert row(data, "SELECT status, summary FROM annotations WHERE id = ?", b) == ("resolved", "Fixed the coupon.")
    if engine == "postgresql":  # stdio() passed --database
        assert row(data, "SELECT count(*) FROM undo_actions")[0] == 0
        return
    assert undo_cli(data, "undo") == f"Undid: Status → resolved on …{b[-8:]}\n"
    assert row(data, "SELECT status, summary FROM annotations WHERE id = ?", b) == ("triaged", None)
    assert undo_cli(data, "undo") == f"Undid: Reply on …{b[-8:]}\n  its text is back as the reply's draft\n"
    assert row(data, "SELECT count(*) FROM replies WHERE annotation_id = ?", b)[0] == 0
    assert undo_cli(data, "undo") == f"Undid: Status → triaged on …{b[-8:]}\n"
    assert row(data, "SELECT status FROM annotations WHERE id = ?", b) == ("new",)
    nothing = CliRunner().invoke(app, ["undo", "--data-dir", str(data)])
    assert (nothing.exit_code, nothing.stderr) == (1, "error: Nothing to undo\n")  # a refusal, as any


@pytest.mark.usefixtures("own_store")  # an empty store: on PostgreSQL not the module's seeded database
def test_stdio_on_a_store_with_no_workspace_does_not_start(tmp_path):
    """As the CLI's verbs refuse such a store, `workbench mcp` does not make a workspace for an agent to act in:
    one line naming the ways to get one, exit 2, before any client speaks; the store stays without one."""
    data = tmp_path / "empty"
    url = os.environ.get("WORKBENCH_DATABASE_URL")
    args = [sys.executable, "-m", "workbench", "mcp", "--data-dir", str(data), *(["--database", url] if url else [])]
    result = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=120, stdin=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr == (
        "error: This store has no workspace yet: `workbench admin bootstrap`, `workbench demo` or the TUI makes one, "
        "or `workbench sync` brings a remote's\n"
    )
    assert result.stdout == ""  # nothing on the protocol's channel
    wb = Workbench.open(str(data), mailer=None)
    try:
        assert wb.store.db.execute("SELECT count(*) FROM workspaces").fetchone()[0] == 0
    finally:
        wb.store.close()


@pytest.mark.sqlite_only("the full disk is a file-size limit on the server process's writes to its SQLite files")
async def test_stdio_tells_a_full_disk_and_keeps_serving(store, tmp_path):
    """A tool whose write the disk refuses returns an error result saying where and what to do; the
    server goes on: a read answers, and once there is room (the limit lifted) the same write lands.
    The full disk is the kernel's file-size limit on the server process (tests/disk_limit.py)."""
    data, creds = store
    a = creds["a"]
    pid_file = tmp_path / "server.pid"
    argv = limited([sys.executable, "-m", "workbench", "mcp", "--data-dir", str(data)], SHM_BYTES, pid_file)
    params = StdioServerParameters(command=argv[0], args=argv[1:], cwd=str(ROOT), env={"PYTHONDONTWRITEBYTECODE": "1"})
    big = "🙂" * 20_000  # 80 KB: more than the limit lets the WAL hold
    async with Client(params, read_timeout_seconds=60) as client:
        refused(await client.call_tool("reply", {"id": a, "message": big}), (
            f"cannot write to the store in {data.resolve()}: a disk I/O error (SQLITE_IOERR_WRITE); "
            "free space there, or check the disk, and try again: nothing was changed"
        ))
        assert ok(await client.call_tool("read_annotation", {"id": a}))["replies"] == []
        lift(int(pid_file.read_text()))
        said = ok(await client.call_tool("reply", {"id": a, "message": big}))
        assert [r["id"] for r in ok(await client.call_tool("read_annotation", {"id": a}))["replies"]] == [said["id"]]
