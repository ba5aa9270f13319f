"""Every command's ``--json`` in one shape: times written one way, listings under ``items``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
from typer.testing import CliRunner

from storage import sync_state
from tests.sync.keyring_backend import MemoryKeyring
from workbench.cli.main import app
from workbench.services.context import Workbench
from workbench.services.demo import load_demo
from workbench.services.local import local_user

runner = CliRunner()
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SYNCED_AT = 1_764_000_000_000


@pytest.fixture(scope="module", autouse=True)
def memory_keyring() -> Iterator[None]:
    """`remote list` reads where each secret comes from: never the user's keyring, nor whichever
    test backend another module's import made keyring pick."""
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with one action in the undo history, a remote synced once and a change it refused."""
    path = tmp_path_factory.mktemp("json-shapes")
    wb = Workbench.open(str(path), mailer=None)
    try:
        load_demo(wb, annotations=3)
        me = local_user(wb, create=False)
        with wb.store.write() as db:
            sync_state.add_remote(db, "origin", "http://origin.invalid:11001", SYNCED_AT)
            sync_state.update_remote(db, "origin", last_sync_at=SYNCED_AT, workspace_id=me.workspace_id)
            seq = sync_state.enqueue(db, workspace_id=me.workspace_id, op="annotation.patch", entity_type="annotation",
                                     entity_id="a1", payload={"fields": {"status": "ack"}}, at=SYNCED_AT)
            sync_state.update_entry(db, seq, state="refused", last_status=409, last_error="gone")
    finally:
        wb.store.close()
    annotation = json.loads(run(path, "annotations", "list"))["items"][0]
    # An action for the undo history: a status it does not have (the demo's statuses are drawn at
    # random, and setting the one it has changes nothing, so nothing would be undoable).
    run(path, "annotation", "set-status", annotation["id"], "ack" if annotation["status"] == "triaged" else "triaged")
    assert json.loads(run(path, "undo", "--list"))["items"], "the fixture's action is not in the undo history"
    return path


def run(data: Path, *args: str) -> str:
    result = runner.invoke(app, [*args, "--json", "--data-dir", str(data)])
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result.stdout


def times(value: Any, key: str = "") -> list[tuple[str, Any]]:
    """Every (key, value) under a name that says it is a time: ``at`` or ``…_at``."""
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in times(v, k)]
    if isinstance(value, list):
        return [t for v in value for t in times(v, key)]
    return [(key, value)] if key == "at" or key.endswith("_at") else []


@pytest.mark.parametrize("command", [
    ("undo", "--list"), ("remote", "list"), ("sync", "status"), ("sync", "refused"), ("sites", "list"),
])
def test_every_time_is_iso_8601_as_the_apis_are(data, command):
    """The annotations' and sites' times were ISO strings and the sync's and undo's epoch ms: a
    script reading two listings parsed two kinds of time (README's glossary: one name, one form)."""
    found = [(k, v) for k, v in times(json.loads(run(data, *command))) if v is not None]
    assert found, command
    assert all(isinstance(v, str) and ISO.match(v) for _, v in found), found


@pytest.mark.parametrize("command", [
    ("sites", "list"), ("personas", "list"), ("workspaces",), ("remote", "list"), ("sync", "conflicts"),
    ("sync", "refused"), ("undo", "--list"),
])
def test_every_listing_printed_whole_has_the_paged_listings_shape(data, command):
    """`sites list` and `personas list` answered {items, next_cursor}, `workspaces`, `remote list`
    and the sync listings {items} alone, and `undo --list` {actions}: one paging loop could not
    read them all, and a script told listings apart by their keys."""
    listed = json.loads(run(data, *command))
    assert set(listed) == {"items", "next_cursor"} and listed["next_cursor"] is None, listed
    assert isinstance(listed["items"], list)


def test_several_remotes_statuses_are_a_listing_too(data):
    wb = Workbench.open(str(data), mailer=None)
    try:
        with wb.store.write() as db:
            sync_state.add_remote(db, "backup", "http://backup.invalid:11001", SYNCED_AT)
    finally:
        wb.store.close()
    listed = json.loads(run(data, "sync", "status"))
    assert set(listed) == {"items", "next_cursor"} and [s["remote"] for s in listed["items"]] == ["backup", "origin"]


def test_every_json_writes_non_ascii_as_itself(tmp_path):
    """`sync --json`, `sync status --json` (one remote), `demo --json` and `admin bootstrap --json`
    wrote their own json.dumps and said "caf\\u00e9" where `annotation show --json` and the others
    said "café": one emitter (output.emit_json) for them all, readable UTF-8, indented alike."""
    data = tmp_path / "store"
    wb = Workbench.open(str(data), mailer=None)
    try:
        load_demo(wb, annotations=3)
        with wb.store.write() as db:  # a port nothing listens on: the sync stops at once, naming the URL
            sync_state.add_remote(db, "origin", "http://127.0.0.1:9/café", SYNCED_AT)
    finally:
        wb.store.close()
    ann = json.loads(run(data, "annotations", "list"))["items"][0]["id"]
    printed = {
        "annotation reply": run(data, "annotation", "reply", ann, "Merci, café ☕"),
        "annotation show": run(data, "annotation", "show", ann),
        "sync status": run(data, "sync", "status"),
        "demo": run(data, "demo"),
        "admin bootstrap": run(data, "admin", "bootstrap"),
    }
    stopped = runner.invoke(app, ["sync", "--json", "--first-sync=separate", "--data-dir", str(data)], env={"WORKBENCH_TOKEN": "x"})
    assert stopped.exit_code == 1, (stopped.stdout, stopped.stderr)
    printed["sync"], printed["sync's error"] = stopped.stdout, stopped.stderr
    for command, text in printed.items():
        assert "\\u" not in text, (command, text)
        assert text.startswith("{\n" if command != "sync's error" else '{"error"'), (command, text)  # indented, but the one-line error
        json.loads(text)
    assert "café ☕" in printed["annotation reply"] and "café" in printed["sync status"]
    # The report's `sync status` object is named for it: a "status" in the CLI's JSON is an annotation's.
    report = json.loads(printed["sync"])
    assert "status" not in report and set(report["sync_status"]) == set(json.loads(printed["sync status"]))
    assert "cannot reach" in report["sync_status"]["last_error"]  # read after the run that stopped
    assert "café" in json.loads(printed["sync"])["stopped"] and "café" in printed["sync's error"]


def test_a_refused_change_names_the_servers_answer_http_status(data):
    """`sync refused --json` rows said "status": 409, where every other "status" in the CLI's JSON is
    an annotation's (new, triaged…): a script reading rows of both compared an HTTP code with one."""
    [row] = json.loads(run(data, "sync", "refused"))["items"]
    assert row["http_status"] == 409 and "status" not in row
