"""`workbench undo` / `workbench redo`: the CLI's triage and replies are undone, with --json and --list."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.mcp.test_mcp_http import seed
from workbench.cli.main import app

runner = CliRunner()


def run(data: Path, *args: str) -> str:
    result = runner.invoke(app, [*args, "--data-dir", str(data)])
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result.stdout


def status(data: Path, ann: str) -> str:
    return json.loads(run(data, "annotation", "show", ann, "--json"))["status"]


def test_undo_and_redo_the_cli_s_own_changes(tmp_path):
    data = tmp_path / "cli"
    ann = seed(data)["b"]
    assert run(data, "undo") == "Nothing to undo\n"
    was = status(data, ann)
    run(data, "annotation", "set-status", ann, "triaged")
    run(data, "annotation", "reply", ann, "Looking")
    listed = run(data, "undo", "--list")
    assert f"Reply on …{ann[-8:]}" in listed and f"Status → triaged on …{ann[-8:]}" in listed
    assert run(data, "undo") == f"Undid: Reply on …{ann[-8:]}\n"
    assert "Looking" not in [r["body"] for r in json.loads(run(data, "annotation", "show", ann, "--json"))["replies"]]
    out = json.loads(run(data, "undo", "--json"))["outcome"]
    assert (out["kind"], out["applied"], out["label"]) == ("status", 1, f"Status → triaged on …{ann[-8:]}")
    assert status(data, ann) == was
    assert run(data, "redo") == f"Redid: Status → triaged on …{ann[-8:]}\n"
    assert status(data, ann) == "triaged"
    assert [a["state"] for a in json.loads(run(data, "undo", "--list", "--json"))["actions"]] == ["undone", "done"]
