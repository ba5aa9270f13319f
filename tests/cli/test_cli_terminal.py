"""Terminal escape injection: hostile text posted to a real server never acts on the terminal of
the person who reads it with the CLI (plain, --markdown, --json, tables, errors)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import ServerProcess, bearer
from tests.mcp.test_mcp_http import seed

# Clear screen, OSC 52 (write the reader's clipboard), 8-bit CSI, a bidi override, Rich markup.
HOSTILE = "[red]x[/red] wipe\x1b[2J clip\x1b]52;c;ZXZpbA==\x07 csi\x9b31m rtl\u202eevil\nsecond\tline"
RAW = [b"\x1b", b"\x07", "\x9b".encode(), "\u202e".encode()]


def cli(data: Path, *args: str, code: int = 0) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run([sys.executable, "-m", "workbench", *args, "--data-dir", str(data)], capture_output=True, timeout=60)
    assert done.returncode == code, done.stderr.decode()
    return done


def assert_inert(output: bytes) -> None:
    assert not [raw for raw in RAW if raw in output], output


def test_hostile_widget_text_is_shown_not_obeyed(tmp_path):
    data = tmp_path / "data"
    creds = seed(data)
    server = ServerProcess(data)
    try:
        r = httpx.post(f"{server.url}/api/widget/sites/{creds['site_id']}/annotations",
                       json={"page_url": "https://shop.acme.example/cart", "body": HOSTILE, "submitter_name": "Eve\x1b[5m"},
                       headers={"X-GF-Widget-Token": creds["widget_token"]})
        assert r.status_code == 201, r.text
        ann = r.json()["id"]
        reply = httpx.post(f"{server.url}/api/v1/annotations/{ann}/replies", json={"body": "ok \x1b[31mred\x1b[0m"},
                           headers=bearer(creds["member_token"]))
        assert reply.status_code == 201
    finally:
        server.stop()

    for args in (("annotation", "show", ann), ("annotation", "show", ann, "--markdown")):
        out = cli(data, *args).stdout
        assert_inert(out)
        text = out.decode()
        assert "wipe\\x1b[2J" in text and "clip\\x1b]52;c;ZXZpbA==\\x07" in text and "\\u202eevil" in text
        assert "[red]x[/red]" in text and "Eve\\x1b[5m" in text and "ok \\x1b[31mred" in text
        assert "second" in text  # newlines and tabs are text, kept

    shown = cli(data, "annotation", "show", ann, "--json").stdout
    assert_inert(shown)
    assert json.loads(shown)["body"] == HOSTILE  # the value itself is intact, only its encoding is escaped

    table = cli(data, "annotations", "list", "--site", creds["site_id"]).stdout
    assert_inert(table)
    assert "[red]x[/red] wipe\\x1b[2J" in table.decode()  # markup in a cell is text, not style

    refused = cli(data, "annotation", "show", "nope\x1b[2J", code=1)
    assert_inert(refused.stdout + refused.stderr)


def test_a_link_in_user_text_shows_where_it_leads(tmp_path):
    """QA: `annotation show` on a terminal drew a markdown link as an OSC 8 hyperlink: the reader saw
    "download the fix" and not that it leads to https://evil.example/…, which anyone posting
    feedback chooses. The address is printed beside the text, as the TUI does."""
    import os

    data = tmp_path / "data"
    cli(data, "demo", "--annotations", "5")
    ann = json.loads(cli(data, "annotations", "list", "--json").stdout)["items"][0]["id"]
    cli(data, "annotation", "reply", ann, "Please [download the fix](https://evil.example/payload.sh) now")
    # FORCE_COLOR: Rich writes as to a terminal, where it would emit hyperlinks.
    shown = subprocess.run([sys.executable, "-m", "workbench", "annotation", "show", ann, "--data-dir", str(data)],
                           capture_output=True, timeout=60, env={**os.environ, "FORCE_COLOR": "1", "COLUMNS": "200"})
    assert shown.returncode == 0, shown.stderr.decode()
    assert b"\x1b]8;" not in shown.stdout  # no OSC 8 hyperlink
    assert b"https://evil.example/payload.sh" in shown.stdout


def test_piped_markdown_keeps_its_wrapping_without_the_padding(tmp_path):
    """`annotation show` and `annotation personas` piped padded every line with blanks to 80
    columns (Rich fills the width): a saved copy's `diff` and `grep ' $'` saw text that was not
    there. The lines are still wrapped at the width, and nothing a terminal would act on is sent."""
    import os

    data = tmp_path / "data"
    cli(data, "demo", "--annotations", "5")
    ann = json.loads(cli(data, "annotations", "list", "--json").stdout)["items"][0]["id"]
    cli(data, "annotation", "reply", ann, "word " * 40 + HOSTILE)
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")} | {"COLUMNS": "80"}
    for args in (("annotation", "show", ann), ("annotation", "personas", ann, "--persona", "ada-screen-reader-user")):
        shown = subprocess.run([sys.executable, "-m", "workbench", *args, "--data-dir", str(data)], capture_output=True, timeout=60, env=env)
        assert shown.returncode == 0, shown.stderr.decode()
        lines = shown.stdout.decode().splitlines()
        assert len(lines) > 3 and all(len(line) <= 80 for line in lines), lines
        assert not [line for line in lines if line != line.rstrip()], lines
        assert_inert(shown.stdout)
