"""`workbench sync` as a user runs it against a real `workbench serve`: its progress bars and its summary."""

from __future__ import annotations

import fcntl
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


def test_a_remote_url_that_is_not_the_api_root_says_so(remote: Served, tmp_path: Path):
    """QA: a URL pasted with the API's path (…/api/v1) stopped with 'the server refused a read (404): Not Found'."""
    cli = Cli(tmp_path, "alice")
    cli.env["WORKBENCH_TOKEN"] = remote.creds["member_token"]
    cli.run("remote", "add", "origin", f"{remote.url}/api/v1", "--no-prompt")

    r = cli.run("sync", "--json", check=False)

    assert r.returncode == 1
    assert json.loads(r.stdout)["stopped"]
    error = json.loads(r.stderr)["error"]
    assert error["code"] == "not_the_api", error
    assert f"{remote.url}/api/v1/api/v1/sites answered 404" in error["message"] and "without /api/" in error["message"], error


def test_scripts_get_errors_for_an_unknown_remote_and_json_for_settled_conflicts(remote: Served, tmp_path: Path):
    cli = user(remote, tmp_path)
    cli.run("sync")
    # QA: a mistyped --remote listed nothing and exited 0, so a script read "no conflicts, nothing refused".
    for args in (["status"], ["conflicts"], ["refused"]):
        r = cli.run("sync", *args, "--remote", "orgin", "--json", check=False)
        assert r.returncode == 1 and json.loads(r.stderr)["error"]["message"] == "No remote named 'orgin'", (args, r.stdout, r.stderr)
        assert r.stdout == ""
    # Both sides change one annotation's status: a conflict.
    [a] = [x["id"] for x in cli.json("annotations", "list", "--limit", "1")["items"]]
    cli.run("annotation", "set-status", a, "won_t_fix", "--summary", "not our bug")
    remote.patch(a, status="in_progress")
    cli.run("sync")
    [conflict] = cli.json("sync", "conflicts")["items"]
    assert (conflict["field"], conflict["mine"], conflict["theirs"]) == ("status", "won_t_fix", "in_progress")

    # QA: settling with --json printed nothing on stdout, only the human lines on stderr.
    settled = json.loads(cli.run("sync", "conflicts", "--keep-mine", str(conflict["id"]), "--json").stdout)

    assert settled == {"items": [{"id": conflict["id"], "settled": "keep_mine", "entity_id": a, "field": "status", "value": "won_t_fix"}]}
    assert cli.json("sync")["sent"] == 1
    assert remote.annotation(a)["status"] == "won_t_fix"


def test_no_credentials_is_unauthenticated_for_a_script(tmp_path: Path):
    """QA: a sync with no credentials at all failed with code 'invalid', outside the codes README gives
    a sync's failures; a script handles it as it handles a rejected one."""
    cli = Cli(tmp_path, "alice")
    cli.run("remote", "add", "origin", "http://127.0.0.1:9", "--no-prompt")

    r = cli.run("sync", "--json", check=False)

    assert r.returncode == 1
    error = json.loads(r.stderr)["error"]
    assert error["code"] == "unauthenticated" and error["message"].startswith("No credentials for 'origin'"), error


def test_status_without_remote_shows_every_remote_when_there_are_several(tmp_path: Path):
    """With two remotes and no --remote, `sync status` showed the first alone: its counts read as
    the store's, the second never mentioned. Each one's now; --remote still picks one."""
    cli = Cli(tmp_path, "alice")
    cli.run("remote", "add", "origin", "http://origin.invalid:11001", "--no-prompt")
    cli.run("remote", "add", "backup", "http://backup.invalid:11001", "--no-prompt")

    shown = cli.run("sync", "status").stdout
    assert "origin (http://origin.invalid:11001)" in shown and "backup (http://backup.invalid:11001)" in shown, shown
    assert shown.count("pending") == 2, shown
    listed = cli.json("sync", "status")["items"]
    assert sorted((s["remote"], s["url"]) for s in listed) == [
        ("backup", "http://backup.invalid:11001"), ("origin", "http://origin.invalid:11001")]

    one = cli.json("sync", "status", "--remote", "backup")
    assert (one["remote"], one["url"]) == ("backup", "http://backup.invalid:11001")
    assert "origin" not in cli.run("sync", "status", "--remote", "backup").stdout


def test_a_workspace_deleted_on_the_server_is_said_so_and_keeps_the_changes(remote: Served, tmp_path: Path):
    """QA: a sync to a workspace its OWNER had deleted stopped with 'credentials rejected (token):
    Workspace deleted' and 'Run `workbench remote login origin --only token`' (in a terminal, a
    prompt for a new token): every token of that workspace is refused alike until it is restored."""
    cli = user(remote, tmp_path)
    cli.run("sync")
    [a] = [x["id"] for x in cli.json("annotations", "list", "--limit", "1")["items"]]
    cli.run("annotation", "reply", a, "written while the workspace was deleted")
    owner = {"Authorization": f"Bearer {remote.creds['owner_session']}", "X-GF-Workspace": remote.creds["workspace_id"]}
    remote.http.delete(f"/api/workspaces/{remote.creds['workspace_id']}", headers=owner).raise_for_status()

    r = cli.run("sync", "--json", check=False)

    assert r.returncode == 1
    report, error = json.loads(r.stdout), json.loads(r.stderr)["error"]
    assert report["auth_failed"] is None and report["pending"] == 1, report
    assert error["code"] == "workspace_deleted" and "until its OWNER restores it" in error["message"], error
    told = cli.run("sync", check=False)
    assert told.returncode == 1 and "workspace was deleted" in told.stderr and "remote login" not in told.stderr, told.stderr

    remote.http.post(f"/api/workspaces/{remote.creds['workspace_id']}/restore", headers=owner).raise_for_status()
    assert cli.json("sync")["sent"] == 1
    assert [x["body"] for x in remote.annotation(a)["replies"]].count("written while the workspace was deleted") == 1


def test_conflicts_name_an_assignee_as_the_tui_does(remote: Served, tmp_path: Path):
    """QA: `sync conflicts` showed an assignee conflict as two raw user ids where the TUI names the
    members, and headed every row ANNOTATION, a test-session note's too. --json keeps the ids."""
    cli = user(remote, tmp_path)
    cli.run("sync")
    with cli.db() as db:
        [a] = db.execute("SELECT id FROM annotations WHERE assignee_id IS NULL ORDER BY id LIMIT 1").fetchone()
        named = dict(db.execute("SELECT author_name, author_id FROM replies WHERE author_kind = 'user' AND author_id IS NOT NULL"))
    mine, theirs = named["Max Member"], named["Olive Owner"]
    cli.run("annotation", "assign", a, mine)
    remote.patch(a, assignee_id=theirs)
    cli.run("sync")

    listed = cli.run("sync", "conflicts").stdout
    header, row = listed.splitlines()
    assert header.split() == ["ID", "ABOUT", "FIELD", "MINE", "THEIRS", "WAS"]
    assert row.split()[-5:] == ["Max", "Member", "Olive", "Owner", "∅"], row
    assert mine not in listed and theirs not in listed
    [conflict] = cli.json("sync", "conflicts")["items"]
    assert set(conflict) == {"id", "entity_type", "entity_id", "field", "base", "mine", "theirs", "title", "remote"}
    assert (conflict["field"], conflict["mine"], conflict["theirs"], conflict["base"]) == ("assignee_id", mine, theirs, None)


def test_a_sync_while_another_runs_is_refused_as_sync_running(remote: Served, tmp_path: Path):
    """QA: `sync --json` answered code `conflict` when another sync of the replica was running,
    the glossary's name for a field changed on both sides, which a script would go and settle."""
    cli = user(remote, tmp_path)
    cli.run("sync")
    # What a running sync holds: the store's lock for its remote (an advisory lock, so this
    # process holding it is, for the command, another sync).
    with open(cli.data_dir / ".sync-origin.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        r = cli.run("sync", "--json", check=False)
    assert r.returncode == 1 and r.stdout == "", (r.stdout, r.stderr)
    assert json.loads(r.stderr)["error"] == {"code": "sync_running", "message": "Another sync with 'origin' is running for this store"}
    assert cli.json("sync")["stopped"] is None  # once it ends, the next sync runs


def test_the_summary_says_how_many_pictures_came(remote: Served, tmp_path: Path):
    """The pictures of a pull were fetched without a word: the summary and --json say how many."""
    import base64

    import httpx

    from tests.images import PNG

    creds = remote.creds
    cli = user(remote, tmp_path)
    assert "picture" not in cli.run("sync").stdout  # none to fetch: nothing said (the summary is on stdout)
    shot = httpx.post(f"{remote.url}/api/widget/sites/{creds['site_id']}/annotations",
                      headers={"X-GF-Widget-Token": creds["widget_token"]},
                      json={"page_url": "https://shop.example/", "body": "with a picture",
                            "screenshot": "data:image/png;base64," + base64.b64encode(PNG).decode()})
    assert shot.status_code == 201, shot.text
    report = cli.json("sync")
    assert report["pictures"] == 1 and report["received"] == 1, report
    second = httpx.post(f"{remote.url}/api/widget/sites/{creds['site_id']}/annotations",
                        headers={"X-GF-Widget-Token": creds["widget_token"]},
                        json={"page_url": "https://shop.example/", "body": "another picture",
                              "screenshot": "data:image/png;base64," + base64.b64encode(PNG).decode()})
    assert second.status_code == 201, second.text
    assert "· 1 picture fetched" in cli.run("sync").stdout


def test_assign_on_a_replica_takes_a_members_name_and_refuses_one_it_does_not_know(remote: Served, tmp_path: Path):
    """QA offline: `annotation assign ID "Max Member"` on a replica was queued as the user id "Max Member"
    (shown "…Member (name unknown here)") and refused by the server at the next sync. A name (or an
    email, any case) is read as the inbox's `assignee:` reads it; one naming no member this replica
    knows is refused before anything is queued."""
    cli = user(remote, tmp_path)
    cli.run("sync")
    with cli.db() as db:
        [a] = db.execute("SELECT id FROM annotations WHERE assignee_id IS NULL ORDER BY id LIMIT 1").fetchone()
        named = dict(db.execute("SELECT author_name, author_id FROM replies WHERE author_kind = 'user' AND author_id IS NOT NULL"))
    assert cli.json("annotation", "assign", a, "max member")["assignee_id"] == named["Max Member"]
    refused = cli.run("annotation", "assign", a, "Maxine Nobody", check=False)
    assert refused.returncode == 1 and refused.stderr.startswith('error: No member named "Maxine Nobody" known here'), refused.stderr
    report = cli.json("sync")
    assert (report["sent"], report["refused"]) == (1, 0), report
    assert remote.annotation(a)["assignee_id"] == named["Max Member"]
