"""The script verbs: `workbench sites|annotations|annotation|personas …` with --json parsed, exit codes, the store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.mcp.test_mcp_http import PNG, audit, row, seed
from workbench.cli.main import app

runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    data = tmp_path / "cli"
    return data, seed(data)


def run(data: Path, *args: str, code: int = 0, stdin: str | None = None) -> Any:
    result = runner.invoke(app, [*args, "--data-dir", str(data)], input=stdin)
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    return result


def js(data: Path, *args: str) -> Any:
    return json.loads(run(data, *args, "--json").stdout)


def test_sites_and_listing_filters(store):
    data, creds = store
    sites = js(data, "sites", "list")["items"]
    assert creds["site_id"] in {s["id"] for s in sites} and len(sites) == 2
    assert all("mcp_token" not in s and "widget_token" not in s for s in sites)
    human = run(data, "sites", "list").stdout
    assert "Acme storefront" in human and creds["site_id"] in human

    site = ["--site", creds["site_id"]]
    everything = js(data, "annotations", "list", *site)
    assert everything["site_id"] == creds["site_id"] and everything["next_cursor"] is None
    assert {a["id"] for a in everything["items"]} == {creds["a"], creds["b"], creds["c"]}
    assert [a["id"] for a in js(data, "annotations", "list", *site, "--auto-fix")["items"]] == [creds["a"]]
    assert {a["id"] for a in js(data, "annotations", "list", *site, "--no-auto-fix")["items"]} == {creds["b"], creds["c"]}
    assert [a["id"] for a in js(data, "annotations", "list", *site, "--status", "new", "--kind", "bug")["items"]] == [creds["b"]]
    assert js(data, "annotations", "list", *site, "--since", "2999-01-01")["items"] == []
    assert len(js(data, "annotations", "list", *site, "--since", "1h")["items"]) == 3

    page = js(data, "annotations", "list", *site, "--limit", "1")
    assert len(page["items"]) == 1 and page["next_cursor"]
    following = js(data, "annotations", "list", *site, "--limit", "1", "--cursor", page["next_cursor"])
    assert following["items"][0]["id"] != page["items"][0]["id"]
    every = js(data, "annotations", "list", *site, "--limit", "1", "--all")
    assert len(every["items"]) == 3 and every["next_cursor"] is None

    table = run(data, "annotations", "list", *site, "--limit", "2")
    assert creds["a"] in table.stdout or creds["b"] in table.stdout
    assert "more: --cursor" in table.stderr

    other_site = js(data, "annotations", "list", "--site", next(s["id"] for s in sites if s["id"] != creds["site_id"]))
    assert [a["id"] for a in other_site["items"]] == [creds["other"]]


def test_every_listing_answers_json_in_one_shape(store):
    """`sites list` and `personas list` had no next_cursor, unlike the annotation listings: a script
    following next_cursor read a missing key. They list every row, so theirs is always null."""
    data, _ = store
    for listing in (("sites", "list"), ("personas", "list"), ("annotations", "list"), ("annotations", "list", "-q", "age:<1h")):
        answer = js(data, *listing)
        assert {"items", "next_cursor"} <= set(answer) and answer["next_cursor"] is None, listing
    assert len(js(data, "personas", "list")["items"]) > 50  # every persona, not a first page of the API's default 50
    assert js(data, "personas", "list", "--category", "accessibility")["next_cursor"] is None


def test_usage_errors_exit_2_and_refusals_exit_1_with_one_line(store, tmp_path):
    data, creds = store
    fake = tmp_path / "after.png"
    fake.write_text("not a picture")  # the name says PNG, the bytes do not (issue 12 bug 4)
    refused = run(data, "annotation", "attach", creds["a"], "--after", str(fake), code=1)
    assert refused.stderr == "error: after.png is not a PNG, JPEG, WebP or GIF image\n"
    # QA: a directory was Click's usage box and exit 2, where README and every other bad file say one line, exit 1.
    for option in ("--before", "--after"):
        folder = run(data, "annotation", "attach", creds["a"], option, str(tmp_path), code=1)
        assert folder.stderr == f"error: {tmp_path} is a directory, not an image file\n"
    bad_since = run(data, "annotations", "list", "--since", "yesterday", code=2)
    assert bad_since.stderr.startswith("error: Invalid since") and bad_since.stderr.count("\n") == 1
    # Out of range: one clear line and usage exit 2, never a traceback or a negative epoch.
    for since, reason in (("99999999999999999999", "past the year 9999"), ("10000000d", "before 1970"), ("²", "Invalid since")):
        out = run(data, "annotations", "list", "--since", since, code=2)
        assert out.stderr.startswith("error: ") and reason in out.stderr and out.stderr.count("\n") == 1, out.stderr
    assert run(data, "annotations", "list", "--status", "bogus", code=2).stdout == ""
    assert run(data, "annotations", "list", "--limit", "500", code=2).stdout == ""
    missing = run(data, "annotations", "list", "--site", "nope", code=1)
    assert missing.stderr == "error: Site not found\n"
    assert run(data, "annotation", "show", "nope", code=1).stderr == "error: Annotation not found\n"
    assert run(data, "annotation", "show", creds["a"], "--markdown", "--json", code=2).stderr.startswith('{"error": ')  # --json: JSON
    assert run(data, "annotation", "set-status", creds["a"], "bogus", code=2).stdout == ""
    assert run(data, "annotation", "assign", creds["a"], "ghost", code=1).stderr == "error: assignee_id is not a member of this workspace\n"
    for empty in ("", "  "):
        assert run(data, "annotation", "assign", creds["a"], empty, code=2).stderr == "error: give a member's user id, 'me', or 'none' to unassign\n"
    assert "https://" in run(data, "annotation", "attach", creds["a"], "--diff-url", "http://x.example", code=1).stderr
    assert "At least one of" in run(data, "annotation", "attach", creds["a"], code=1).stderr
    # A request model's refusal is a refusal (exit 1, as README says), in README's words, not pydantic's.
    too_long = run(data, "annotation", "set-status", creds["a"], "ack", "--summary", "x" * 3000, code=1).stderr
    assert too_long == "error: summary: at most 2,000 characters\n"
    # Named as the command line calls it (MESSAGE), not as the reply's model does (body).
    assert run(data, "annotation", "reply", creds["a"], "  ", code=1).stderr == "error: message: cannot be empty\n"
    invisible = run(data, "annotation", "reply", creds["a"], "\u200b", code=1).stderr
    assert invisible == "error: message: must say something: only invisible characters were given\n"
    # Resolving "with a summary" needs one that says something (issue 10): one a reader can see.
    for blank in ("", "   ", "\u200b", "\u00a0\u200b", "\x07"):
        refused = run(data, "annotation", "resolve", creds["a"], "--summary", blank, code=1)
        assert refused.stderr == "error: summary: say what was done (it cannot be blank)\n"
    assert not (data / "uploads" / "resolutions").exists()  # nothing was copied in by refused attaches
    assert [action for _, action in audit(data, creds["a"])] == ["annotation.create"]


def test_show_and_every_write_verb(store, tmp_path):
    data, creds = store
    a, owner = creds["a"], creds["owner_user_id"]
    detail = js(data, "annotation", "show", a)
    assert detail["id"] == a and detail["computed_styles"]["color"] == "#9a9a9a" and detail["replies"] == []
    md = run(data, "annotation", "show", a, "--markdown").stdout
    assert md.startswith(f"# Annotation {a}\n") and "> The grey placeholder text" in md
    assert "Annotation" in run(data, "annotation", "show", a).stdout

    triaged = js(data, "annotation", "set-status", a, "triaged", "--summary", "Filed SHOP-12")
    assert (triaged["status"], triaged["summary"]) == ("triaged", "Filed SHOP-12")
    # Human output speaks words: "in progress", not the stored in_progress; members by name.
    assert run(data, "annotation", "set-status", a, "in_progress").stdout.startswith(f"{a}: in progress (")
    assert "already set, nothing changed" in run(data, "annotation", "set-status", a, "in_progress").stdout
    assert js(data, "annotation", "assign", a, "me")["assignee_id"] == owner
    assert ", assignee Olive Owner" in run(data, "annotation", "assign", a, "me").stdout
    assert "**Assignee:** Olive Owner" in run(data, "annotation", "show", a, "--markdown").stdout
    assert js(data, "annotation", "assign", a, "none")["assignee_id"] is None
    said = js(data, "annotation", "reply", a, "Thanks, on it.")
    assert said["body"] == "Thanks, on it." and said["author"]["id"] == owner
    piped = run(data, "annotation", "reply", a, "-", "--json", stdin="From stdin\nwith two lines\n").stdout
    assert json.loads(piped)["body"] == "From stdin\nwith two lines"

    after = tmp_path / "after.png"
    after.write_bytes(PNG)
    res = js(data, "annotation", "attach", a, "--after", str(after), "--diff-url", "https://github.com/acme/shop/pull/7", "--explanation", "Darker text.")
    assert res["after_key"].startswith(f"resolutions/{a}/after-") and res["notification_status"] == "replied"
    assert (data / "uploads" / res["after_key"]).read_bytes() == PNG
    resolved = js(data, "annotation", "resolve", a, "--summary", "Shipped in v2")
    assert (resolved["status"], resolved["summary"]) == ("resolved", "Shipped in v2")

    personas = js(data, "personas", "list")["items"]
    assert len(personas) == 60
    lena = next(p for p in personas if p["category"] == "accessibility")
    run_by_slug = js(data, "annotation", "personas", a, "--persona", lena["slug"])
    assert [r["persona_id"] for r in run_by_slug["replies"]] == [lena["id"]]
    assert lena["name"] in run(data, "annotation", "personas", a, "--persona", lena["id"]).stdout
    assert js(data, "personas", "list", "--category", "accessibility")["items"]
    assert "SLUG" in run(data, "personas", "list").stdout

    assert row(data, "SELECT status, summary FROM annotations WHERE id = ?", a) == ("resolved", "Shipped in v2")
    trail = [entry for entry in audit(data, a) if entry[1] != "annotation.create"]
    assert {actor for actor, _ in trail} == {owner}
    assert [action for _, action in trail].count("annotation.update") == 5


def test_annotation_resolutions_lists_them_as_the_other_listings_do(store, tmp_path, monkeypatch):
    """No command listed an annotation's resolutions: a script dug them out of `annotation show --json`.
    `annotation resolutions ID` is a listing like the rest: a table, `--json` in the listings' shape (the
    rows `show --json` holds), the empty list said on stdout, the explanation's control characters inert."""
    import io

    from rich.console import Console

    from workbench.cli import annotations as annotations_cli

    data, creds = store
    a = creds["a"]
    assert run(data, "annotation", "resolutions", a).stdout == f"No resolutions; attach one with `workbench annotation attach {a} …`.\n"
    assert js(data, "annotation", "resolutions", a) == {"items": [], "next_cursor": None}
    after = tmp_path / "after.png"
    after.write_bytes(PNG)
    first = js(data, "annotation", "attach", a, "--diff-url", "https://github.com/acme/shop/pull/7", "--explanation", "Darker\x1b[2J text.")
    second = js(data, "annotation", "attach", a, "--after", str(after))
    listed = js(data, "annotation", "resolutions", a)
    assert listed == {"items": js(data, "annotation", "show", a)["resolutions"], "next_cursor": None}
    assert [r["id"] for r in listed["items"]] == [first["id"], second["id"]]  # oldest first, as the API lists them
    lines = run(data, "annotation", "resolutions", a).stdout.splitlines()
    assert lines[0].split() == ["ID", "CREATED", "NOTIFICATION", "EVIDENCE", "DIFF", "URL", "EXPLANATION"]
    assert lines[1].startswith(first["id"]) and "https://github.com/acme/shop/pull/7" in lines[1] and "Darker\\x1b[2J text." in lines[1]
    assert lines[2].startswith(second["id"]) and " after" in lines[2] and "resolutions/" not in lines[2]  # not the storage key
    assert "\x1b" not in "\n".join(lines)
    # In an 80-column terminal the short columns stay whole, headers included (the one before the
    # explanation read "EVIDEN…" once the diff URL and the time had given way); the explanation is cut.
    screen = io.StringIO()
    monkeypatch.setattr(annotations_cli, "out", Console(file=screen, force_terminal=True, width=80, color_system=None))
    run(data, "annotation", "resolutions", a)
    shown = screen.getvalue().splitlines()
    assert all(len(line) <= 80 for line in shown) and shown[0].split() == ["ID", "NOTIFICATION", "EVIDENCE", "EXPLANATION"], shown
    assert shown[2].split() == [second["id"], "replied", "after"], shown
    assert run(data, "annotation", "resolutions", "nope", code=1).stderr == "error: Annotation not found\n"
    listed_in_help = runner.invoke(app, ["annotation", "--help"]).stdout
    assert "resolutions" in listed_in_help and "The annotation's resolutions, oldest first" in listed_in_help


def test_an_empty_listing_says_so_in_words_on_stdout_not_a_lone_header(store):
    # A header alone read as a listing that failed to print its rows; the words name what was asked.
    data, creds = store
    site = ["--site", creds["site_id"]]
    empty = run(data, "annotations", "list", *site, "--status", "resolved", "--kind", "bug", "--since", "1h")
    assert empty.stdout == f"No annotations (status resolved, kind bug, since 1h) on site {creds['site_id']}.\n"
    assert run(data, "annotations", "list", *site, "--since", "2999-01-01").stdout.startswith("No annotations (since 2999-01-01)")
    assert "FEEDBACK" in run(data, "annotations", "list", *site).stdout  # rows keep their table
    assert run(data, "personas", "list", "--category", "nobody-here").stdout == "No personas in category nobody-here.\n"
    assert run(data, "undo", "--list").stdout == "No actions yet: nothing to undo or redo.\n"
    assert json.loads(run(data, "undo", "--list", "--json").stdout) == {"items": [], "next_cursor": None}


def test_mcp_command_is_registered():
    result = runner.invoke(app, ["mcp", "--help"])
    assert result.exit_code == 0 and "stdio" in result.stdout and "--data-dir" in result.stdout


def test_list_query_searches_every_site_and_status_with_the_tuis_language(store):
    data, creds = store
    found = js(data, "annotations", "list", "--query", "checkout OR broken")
    assert {a["id"] for a in found["items"]} == {creds["b"], creds["other"]}  # both sites
    assert [a["id"] for a in js(data, "annotations", "list", "-q", 'broken site:"Acme docs"')["items"]] == [creds["other"]]
    assert [a["id"] for a in js(data, "annotations", "list", "-q", "is:autofix")["items"]] == [creds["a"]]
    assert [a["id"] for a in js(data, "annotations", "list", "-q", "kind:copy,bug -checkout -broken")["items"]] == [creds["c"]]
    assert js(data, "annotations", "list", "-q", "status:resolved")["items"] == []
    assert len(js(data, "annotations", "list", "-q", "age:<1h", "--limit", "1", "--all")["items"]) == 4
    nothing = run(data, "annotations", "list", "-q", "zzyzx")
    assert (nothing.stdout, nothing.stderr) == ("No annotations match: zzyzx\n", "")
    bad = run(data, "annotations", "list", "-q", "colour:red", code=2)
    assert 'Unknown qualifier "colour:"' in bad.stderr and "Traceback" not in bad.stderr
    assert "cannot read" in run(data, "annotations", "list", "-q", "updated:>2026-02-30", code=2).stderr
    # A reversed range listed nothing, exit 0: refused as a date it cannot read is, in words and in JSON.
    reversed_ = run(data, "annotations", "list", "-q", "updated:2026-11-05..2026-11-01", code=2)
    assert reversed_.stdout == "" and reversed_.stderr.startswith(
        "error: updated:2026-11-05..2026-11-01 is reversed: '2026-11-05' is after '2026-11-01'; write updated:2026-11-01..2026-11-05")
    refused = json.loads(run(data, "annotations", "list", "-q", "age:<1h age:>2h", "--json", code=2).stderr)
    assert refused["error"]["message"] == "age:>2h and the age: before it together match nothing; keep one"
    assert "--since does not apply to --query" in run(data, "annotations", "list", "-q", "x", "--since", "1h", code=2).stderr


def test_list_query_pages_like_the_listing_and_honours_status(store):
    """Issue 5: --query pages with next_cursor / "more: --cursor", keeps --status, and shows statuses in words."""
    data, creds = store
    everything = [a["id"] for a in js(data, "annotations", "list", "-q", "age:<1h", "--all")["items"]]
    assert len(everything) == 4
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = js(data, "annotations", "list", "-q", "age:<1h", "--limit", "1", *(["--cursor", cursor] if cursor else []))
        assert set(page) == {"site_id", "query", "items", "next_cursor"} and page["site_id"] is None
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == everything  # each once, in order, the last page says so
    text = run(data, "annotations", "list", "-q", "age:<1h", "--limit", "2")
    assert text.stderr.startswith("more: --cursor ")
    assert "more:" not in run(data, "annotations", "list", "-q", "age:<1h", "--limit", "4").stderr
    # A cursor belongs to its query: another one is refused, not misread.
    first = js(data, "annotations", "list", "-q", "age:<1h", "--limit", "1")["next_cursor"]
    assert run(data, "annotations", "list", "-q", "age:<2h", "--cursor", first, code=2).stderr == "error: Invalid cursor\n"

    run(data, "annotation", "set-status", creds["b"], "won_t_fix", "--summary", "not a bug")
    assert [a["id"] for a in js(data, "annotations", "list", "-q", "age:<1h", "--status", "won_t_fix")["items"]] == [creds["b"]]
    assert creds["b"] not in {a["id"] for a in js(data, "annotations", "list", "-q", "age:<1h", "--status", "new")["items"]}
    clash = run(data, "annotations", "list", "-q", "status:all", "--status", "new", code=2)
    assert clash.stderr == "error: --status and the query's status: both choose statuses: keep one\n"
    table = run(data, "annotations", "list", "-q", "status:won_t_fix").stdout
    assert "won't fix" in table and "won_t_fix" not in table


def test_sites_list_reads_a_team_server_s_database_like_the_other_sites_verbs(pg_cluster, tmp_path: Path):
    """README: `--database` (or WORKBENCH_DATABASE_URL) on `serve`, `demo`, `admin bootstrap` and
    `sites`. `sites list` alone opened the data directory's SQLite store, so a team admin looking
    up the id `sites origins` asks for was told the store had no workspace."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    empty = tmp_path / "local"  # a person's own store, which holds nothing
    with pg_cluster.database() as url:
        env = {**os.environ, "PYTHONPATH": str(root), "WORKBENCH_DATA_DIR": str(empty)}
        env.pop("WORKBENCH_DATABASE_URL", None)

        def workbench(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True, text=True, cwd=root, env={**env, **extra})

        creds = json.loads(workbench("admin", "bootstrap", "--database", url, "--json").stdout)
        for listed in (workbench("sites", "list", "--database", url, "--json"), workbench("sites", "list", "--json", WORKBENCH_DATABASE_URL=url)):
            assert listed.returncode == 0, listed.stderr
            assert creds["site_id"] in {s["id"] for s in json.loads(listed.stdout)["items"]}


def test_a_piped_listing_has_no_trailing_blanks(store):
    """Piped (here CliRunner's output is no terminal), rich padded each row's last cell to the column's
    widest, the header's too: `cut`, `diff` and `awk '$NF'` read those blanks as the row's."""
    data, creds = store
    for listing in (("sites", "list"), ("personas", "list"), ("annotations", "list", "--site", creds["site_id"]),
                    ("workspaces",)):
        lines = run(data, *listing).stdout.splitlines()
        assert len(lines) > 1 and all(line == line.rstrip() for line in lines), (listing, [repr(line[-12:]) for line in lines[:3]])


@pytest.mark.parametrize("width", [80, 100])
def test_listings_in_a_narrow_terminal_keep_the_short_columns_whole(store, monkeypatch, width):
    """In an 80-column terminal rich shrank every column by the same amount: STATUS, KIND, AUTO and
    UPDATED came out empty (and the personas' CATEGORY and DEFAULT). The free text gives way first,
    then whole columns, least needed first; the ids stay whole to be copied."""
    import io

    from rich.console import Console

    from workbench.cli import annotations as annotations_cli

    data, creds = store

    def shown(*args: str) -> list[str]:
        screen = io.StringIO()
        monkeypatch.setattr(annotations_cli, "out", Console(file=screen, force_terminal=True, width=width, color_system=None))
        run(data, *args)
        lines = screen.getvalue().splitlines()
        assert lines and all(len(line) <= width for line in lines), lines
        return lines

    lines = shown("annotations", "list", "--site", creds["site_id"])
    assert lines[0].split()[:3] == ["ID", "STATUS", "KIND"] and "FEEDBACK" in lines[0], lines[0]
    listed = {a["id"]: a for a in js(data, "annotations", "list", "--site", creds["site_id"])["items"]}
    for line in lines[1:]:
        ann = listed[line.split()[0]]
        assert line.split()[1:3] == [ann["status"], ann["kind"]], line
        assert ann["body"][:8] in line, line
    assert len(lines) == 1 + len(listed)

    lines = shown("personas", "list")
    assert lines[0].split()[0] == "ID" and "CATEGORY" in lines[0] and "DEFAULT" in lines[0], lines[0]
    assert all(line.rstrip().endswith("yes") for line in lines[1:]), lines  # every default says so

    lines = shown("sites", "list")
    assert lines[0].split()[:2] == ["ID", "NAME"] and "URL" in lines[0], lines[0]
    assert any("Acme storefront" in line for line in lines), lines


def test_a_terminal_just_wide_enough_for_id_status_and_kind_shows_them_whole(store, monkeypatch):
    """README: the free text gives way first, "so an annotation's status and kind always show". At the
    narrowest width holding the id, status and kind, the free text's column was kept with no room
    for a character of it, and rich took its cells from the others: a status came out "resolv…"."""
    import io

    from rich.cells import cell_len
    from rich.console import Console

    from workbench.cli import annotations as annotations_cli

    data, creds = store
    listed = js(data, "annotations", "list", "--site", creds["site_id"])["items"]
    widest = {field: max(cell_len(a[field]) for a in listed) for field in ("id", "status", "kind")}
    width = widest["id"] + 2 + max(widest["status"], len("STATUS")) + 2 + max(widest["kind"], len("KIND"))
    for extra in (0, 2):
        screen = io.StringIO()
        monkeypatch.setattr(annotations_cli, "out", Console(file=screen, force_terminal=True, width=width + extra, color_system=None))
        run(data, "annotations", "list", "--site", creds["site_id"])
        lines = screen.getvalue().splitlines()
        assert lines[0].split() == ["ID", "STATUS", "KIND"], (width + extra, lines[0])
        by_id = {a["id"]: a for a in listed}
        for line in lines[1:]:
            ann = by_id[line.split()[0]]
            assert line.split()[1:] == [ann["status"], ann["kind"]], (width + extra, line)


def test_workspaces_in_an_80_column_terminal_keep_a_row_on_one_line(store, monkeypatch):
    """The counts wrapped over eight lines a row at 80 columns, a replica's URL over more. They
    give way first, as the other listings' least needed columns do; the id and name stay whole."""
    import io

    from rich.console import Console

    from storage import sync_state
    from workbench.cli import workspaces as workspaces_cli
    from workbench.services.context import Workbench

    data, _ = store
    listed = js(data, "workspaces")["items"]
    wb = Workbench.open(str(data), mailer=None)
    try:
        with wb.store.write() as db:  # the store's workspace, shown as a replica of a long URL
            sync_state.add_remote(db, "origin", "https://feedback.example.com:11001/a/long/path", 0)
            sync_state.update_remote(db, "origin", workspace_id=listed[0]["id"])
    finally:
        wb.store.close()
    screen = io.StringIO()
    monkeypatch.setattr(workspaces_cli, "out", Console(file=screen, force_terminal=True, width=80, color_system=None))
    run(data, "workspaces")
    lines = screen.getvalue().splitlines()
    assert len(lines) == 1 + len(listed) and all(len(line) <= 80 for line in lines), lines
    assert lines[0].split() == ["ID", "WORKSPACE", "WHERE", "DEFAULT"], lines[0]
    assert all(line.startswith(ws["id"]) and ws["label"] in line for line, ws in zip(lines[1:], js(data, "workspaces")["items"], strict=True))
