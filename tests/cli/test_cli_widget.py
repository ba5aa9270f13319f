"""`workbench sites origins` (list, --add, --remove, --json, validation) and `workbench sites snippet`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from workbench.cli.main import app
from workbench.services.bootstrap import bootstrap
from workbench.services.context import Workbench

runner = CliRunner()


def run(data: Path, *args: str, code: int = 0):
    result = runner.invoke(app, [*args, "--data-dir", str(data)])
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    return result


def seeded(tmp_path: Path) -> tuple[Path, dict]:
    data = tmp_path / "cli"
    wb = Workbench.open(str(data), mailer=None)
    creds = bootstrap(wb)
    wb.store.close()
    return data, creds


def test_origins_add_list_remove(tmp_path):
    data, creds = seeded(tmp_path)
    site = creds["site_id"]
    # A new site starts with its own URL's origin.
    assert json.loads(run(data, "sites", "origins", site, "--json").stdout) == {"site_id": site, "origins": ["https://shop.acme.example"]}
    out = run(data, "sites", "origins", site, "--add", "HTTP://LocalHost:8080/", "--add", "https://preview.acme.example").stdout
    assert out.split() == ["http://localhost:8080", "https://preview.acme.example", "https://shop.acme.example"]
    run(data, "sites", "origins", site, "--add", "http://localhost:8080")  # again: a no-op
    got = json.loads(run(data, "sites", "origins", site, "--remove", "https://shop.acme.example", "--json").stdout)
    assert got["origins"] == ["http://localhost:8080", "https://preview.acme.example"]
    # A malformed --add is a usage error (exit 2), as snippet's --base is, judged before any --add is saved.
    bad = run(data, "sites", "origins", site, "--add", "https://ok.example", "--add", "https://shop.example/cart", code=2)
    assert "no path" in bad.stderr and bad.stderr.startswith("error: --add:")
    assert "ftp" in run(data, "sites", "origins", site, "--add", "ftp://shop.example", code=2).stderr
    assert "https://ok.example" not in run(data, "sites", "origins", site).stdout
    missing = run(data, "sites", "origins", site, "--remove", "https://never.example", code=1)
    assert "is not an allowed origin" in missing.stderr
    assert "Site not found" in run(data, "sites", "origins", "nope", code=1).stderr
    run(data, "sites", "origins", site, "--remove", "http://localhost:8080", "--remove", "https://preview.acme.example")
    assert "No allowed origins" in run(data, "sites", "origins", site).stdout


def test_a_bad_remove_changes_nothing_and_is_judged_as_a_bad_add_is(tmp_path):
    """`--add A --remove B` saved A, then refused B (exit 1): the call failed yet changed the site,
    and a malformed --remove was a refusal where the same value in --add is a usage error."""
    data, creds = seeded(tmp_path)
    site = creds["site_id"]
    bad = run(data, "sites", "origins", site, "--add", "https://ok.example", "--remove", "not an origin", code=2)
    assert bad.stderr.startswith("error: --remove:") and "not an origin" in bad.stderr
    missing = run(data, "sites", "origins", site, "--add", "https://ok.example", "--remove", "https://never.example", "--json", code=1)
    assert json.loads(missing.stderr)["error"]["code"] == "not_found"
    assert run(data, "sites", "origins", site).stdout.split() == ["https://shop.acme.example"]  # neither call added ok.example
    # One call may still allow an origin and take it back again.
    run(data, "sites", "origins", site, "--add", "https://ok.example", "--remove", "https://ok.example")


def test_snippet_prints_the_tag(tmp_path):
    data, creds = seeded(tmp_path)
    site = creds["site_id"]
    tag = run(data, "sites", "snippet", site, "--base", "https://feedback.acme.example/").stdout.strip()
    assert tag == (
        f'<script src="https://feedback.acme.example/widget.js" data-site="{site}" '
        f'data-widget-token="{creds["widget_token"]}" async></script>'
    )
    got = json.loads(run(data, "sites", "snippet", site, "--json").stdout)
    assert got["snippet"].startswith('<script src="http://localhost:11001/widget.js"') and got["origins"] == ["https://shop.acme.example"]
    assert "http" in run(data, "sites", "snippet", site, "--base", "shop.example", code=2).stderr
    # Issue 14: a base that would break out of the attribute (or carry markup) is refused, never printed.
    for base in ('https://x"><script>alert(1)</script>', "https://x'onload='y", "https://a b.example", "https://", "https://x.example/?q=1"):
        refused = run(data, "sites", "snippet", site, "--base", base, code=2)
        assert refused.stdout == "" and refused.stderr.startswith("error: The base URL") and refused.stderr.count("\n") == 1
    with_path = run(data, "sites", "snippet", site, "--base", "https://acme.example/feedback").stdout
    assert with_path.startswith('<script src="https://acme.example/feedback/widget.js" data-site=')
    for cmd in (["sites", "origins", "--help"], ["sites", "snippet", "--help"]):
        assert runner.invoke(app, cmd).exit_code == 0


def test_a_stored_origin_is_shown_inert(tmp_path):
    """`sites origins` printed each stored origin raw, the one listing not passed through
    terminal_safe: only the checks of the process that stored it vouched that it held no escape."""
    from storage import sites as sites_repo

    data, creds = seeded(tmp_path)
    wb = Workbench.open(str(data), mailer=None)
    try:
        with wb.store.write() as db:  # as another version or a hand edit could have stored it
            sites_repo.add_origin(db, creds["site_id"], "https://x.example\x1b]52;c;ZXZpbA==\x07", 0)
    finally:
        wb.store.close()
    shown = run(data, "sites", "origins", creds["site_id"]).stdout
    assert "\x1b" not in shown and "\x07" not in shown and "https://x.example\\x1b]52;c;ZXZpbA==\\x07" in shown
