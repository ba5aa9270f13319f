"""`workbench sync` as a user runs it against a real `workbench serve`: its progress bars and its summary."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.served_remote import Served, served
from tests.sync.test_sync_e2e import Cli

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SPINNER = set("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[Served]:
    with served(tmp_path, annotations=30) as s:
        yield s


def user(remote: Served, tmp: Path) -> Cli:
    cli = Cli(tmp, "alice")
    creds = remote.creds
    cli.env |= {"WORKBENCH_TOKEN": creds["member_token"], "WORKBENCH_STORE_KEY": creds["store_api_key"], "WORKBENCH_JWT": creds["jwt"]}
    cli.run("remote", "add", "origin", remote.url, "--no-prompt")
    return cli


def last_frame(stderr: str) -> dict[str, str]:
    """Each phase's line as the terminal is left showing it (the last drawing of each), by its label."""
    lines = [ln.rstrip() for ln in ANSI.sub("", stderr).replace("\r", "\n").split("\n") if "━" in ln]
    shown: dict[str, str] = {}
    for ln in lines:
        label = ln[1:].split("━", 1)[0].strip()
        shown[label] = ln
    return shown


def server_count(remote: Served, sql: str) -> int:
    with sqlite3.connect(remote.process.data_dir / "workbench.db") as db:
        return db.execute(sql).fetchone()[0]


def test_progress_shows_totals_the_server_gave_and_plain_counts_otherwise(remote: Served, tmp_path: Path):
    cli = user(remote, tmp_path)
    terminal = {"TTY_COMPATIBLE": "1", "COLUMNS": "200"}  # the bars are drawn only on a terminal

    first = cli.run("sync", env=terminal)

    drawn = ANSI.sub("", first.stderr)
    assert "/?" not in drawn, drawn  # no frame ever shows a total it does not know
    frame = last_frame(first.stderr)
    sites = server_count(remote, "SELECT count(*) FROM sites")
    assert re.search(rf"━ {sites}/{sites} ", frame["sites"]), frame
    counted = [label for label in frame if label.startswith(("annotations · ", "threads · "))]
    assert counted, frame
    for label in counted:
        # The annotation and thread lists page by cursor with no total: a count, no slash.
        assert re.search(r"━ [\d,]+ +\d+:\d\d:\d\d$", frame[label]), frame[label]
    studies = server_count(remote, "SELECT count(*) FROM studies")
    assert re.search(rf"━ {studies}/{studies} ", frame["studies"]), frame
    for label, line in frame.items():
        assert line[0] == "✓", f"{label} still spins in the last frame: {line}"  # every phase ended
    assert not SPINNER & {ln[0] for ln in frame.values()}

    # Nothing new: the lists answer 304, and the totals are what those lists hold.
    again = last_frame(cli.run("sync", env=terminal).stderr)
    assert re.search(rf"━ {sites}/{sites} ", again["sites"]), again
    assert re.search(rf"━ {studies}/{studies} ", again["studies"]), again
    assert all(line[0] == "✓" for line in again.values()), again


def test_sync_json_does_not_count_the_users_own_changes_as_received(remote: Served, tmp_path: Path):
    cli = user(remote, tmp_path)
    cli.run("sync")
    [a, b] = [x["id"] for x in cli.json("annotations", "list", "--limit", "2")["items"]]
    cli.run("annotation", "reply", a, "on it")
    cli.run("annotation", "set-status", b, "triaged")

    report = cli.json("sync")

    assert (report["sent"], report["received"], report["stopped"]) == (2, 0, None), report
    remote.patch(a, status="in_progress")  # someone else, on the server
    report = cli.json("sync")
    assert (report["sent"], report["received"]) == (0, 1), report
    assert json.loads(cli.run("sync", "status", "--json").stdout)["pending"] == 0
