"""A command meeting another process's write (a sync, the TUI) that outlasts the busy timeout.

A write waits the timeout, then is one ``error:`` line (or ``--json``'s object, code
``store_busy``) and exit 2, as a full disk is, instead of a traceback; a read does not wait at
all. The other writer is a real transaction on the store (tests/stores.py ``another_writer``);
the timeout is cut to a moment so the test does not sit through SQLite's 10 s.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from storage import db as sqlite_store
from tests.mcp.test_mcp_http import seed
from tests.stores import another_writer, open_store, reading
from workbench.cli.main import app

runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    data = tmp_path / "data"
    a = seed(data)["a"]
    monkeypatch.setattr(sqlite_store, "BUSY_TIMEOUT_MS", 200)
    return data, a


def status(data: Path, annotation_id: str) -> str:
    with reading(data) as db:
        return db.execute("SELECT status FROM annotations WHERE id = ?", [annotation_id]).fetchone()[0]


def test_a_write_behind_another_writer_is_one_line_and_changes_nothing(store):
    """It was sqlite3's "database is locked" traceback, exit 1, and no JSON for a script that asked for it."""
    data, a = store
    other = open_store(data)
    try:
        with another_writer(other):
            said = runner.invoke(app, ["annotation", "set-status", a, "ack", "--data-dir", str(data)])
            asked_json = runner.invoke(app, ["annotation", "set-status", a, "ack", "--json", "--data-dir", str(data)])
    finally:
        other.close()
    line = (f"cannot write to the store in {data.resolve()}: another writer has held it for over 0.2 s (SQLITE_BUSY); "
            "wait for that writer to finish and try again: nothing was changed")
    assert (said.exit_code, said.stdout, said.stderr) == (2, "", f"error: {line}\n")
    assert (asked_json.exit_code, asked_json.stdout) == (2, "")
    assert json.loads(asked_json.stderr) == {"error": {"code": "store_busy", "message": line}}
    assert status(data, a) == "new"
    # The writer done, the same command goes through.
    assert runner.invoke(app, ["annotation", "set-status", a, "ack", "--data-dir", str(data)]).exit_code == 0
    assert status(data, a) == "ack"


def test_a_listing_does_not_wait_for_another_writer(store):
    """Signing its cursor took the write lock (to read the store's secret): a listing behind a sync failed as a write."""
    data, a = store
    other = open_store(data)
    try:
        with another_writer(other):
            listed = runner.invoke(app, ["annotations", "list", "--limit", "1", "--json", "--data-dir", str(data)])
            shown = runner.invoke(app, ["annotation", "show", a, "--json", "--data-dir", str(data)])
    finally:
        other.close()
    assert listed.exit_code == 0, listed.stderr
    page = json.loads(listed.stdout)
    assert len(page["items"]) == 1 and page["next_cursor"]
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout)["id"] == a
