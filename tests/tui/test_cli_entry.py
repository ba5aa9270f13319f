"""`workbench` with no sub-command opens the TUI (on demo data when the store is empty); `workbench tui` too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from workbench.cli.main import app as cli
from workbench.services import inbox
from workbench.services.context import Workbench
from workbench.services.local import local_user
from workbench.tui.app import WorkbenchApp


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Replace the terminal session by a record of which store it would have shown."""
    seen: list[Path] = []
    monkeypatch.setattr(WorkbenchApp, "run", lambda self, *a, **k: seen.append(self.wb.store.data_dir))
    return seen


def rows(data_dir: Path) -> int:
    wb = Workbench.open(str(data_dir), mailer=None)
    try:
        return inbox.count(wb, local_user(wb), inbox.InboxFilter(status=inbox.ALL))
    finally:
        wb.store.close()


def test_no_subcommand_opens_the_tui_on_demo_data(tmp_path: Path, opened: list[Path]):
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    assert opened == [(tmp_path / "d").resolve()]
    assert rows(tmp_path / "d") > 300


def test_tui_command_without_demo(tmp_path: Path, opened: list[Path]):
    result = CliRunner().invoke(cli, ["tui", "--no-demo", "--data-dir", str(tmp_path / "e")])
    assert result.exit_code == 0, result.output
    assert opened and rows(tmp_path / "e") == 0


def test_keys_lists_binding_ids(opened: list[Path]):
    result = CliRunner().invoke(cli, ["tui", "--keys"])
    assert result.exit_code == 0
    assert '"inbox.search" = "slash"' in result.output and "[keys]" in result.output
    assert not opened


def test_other_commands_still_work(tmp_path: Path, opened: list[Path]):
    result = CliRunner().invoke(cli, ["demo", "--data-dir", str(tmp_path / "f"), "--annotations", "5", "--json"])
    assert result.exit_code == 0, result.output
    assert not opened


def test_a_data_dir_before_the_subcommand_applies_to_it(tmp_path: Path, opened: list[Path], monkeypatch: pytest.MonkeyPatch):
    # setenv first, so the value the CLI writes is undone after the test.
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "unused"))
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "g"), "demo", "--annotations", "3", "--json"])
    assert result.exit_code == 0, result.output
    assert rows(tmp_path / "g") > 0
    assert not (tmp_path / "unused").exists()


# -- the executable's fast path (workbench.cli.entry) ------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
# Runs the real entry point in a fresh interpreter with the terminal session replaced by a
# report of which store it opened and which heavy modules were loaded by then.
PROBE = """
import sys
from workbench.tui.app import WorkbenchApp
def report(self, *a, **k):
    heavy = sorted(m for m in ("typer", "click", "pydantic", "sqlite_utils", "httpx", "textual_image", "PIL", "psycopg") if m in sys.modules)
    print("TUI", self.wb.store.data_dir, ",".join(heavy) or "-")
WorkbenchApp.run = report
sys.argv = ["workbench", *sys.argv[1:]]
from workbench.cli.entry import run
run()
"""


def probe(*args: str, env: dict[str, str] | None = None, script: str = PROBE) -> subprocess.CompletedProcess[str]:
    """``script`` (one of this file's probes) run in a fresh interpreter with ``args`` as its command line."""
    import os

    return subprocess.run(
        [sys.executable, "-c", script, *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "COLUMNS": "200", **(env or {})},  # Rich would wrap error boxes mid-phrase
    )


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("filled") / "d"
    assert CliRunner().invoke(cli, ["demo", "--data-dir", str(data), "--annotations", "5"]).exit_code == 0
    return data.resolve()


@pytest.mark.parametrize("form", ["separate", "equals", "env"])
def test_the_tui_opens_without_loading_the_cli_or_the_write_path(filled: Path, form: str):
    args = {"separate": ["--data-dir", str(filled)], "equals": [f"--data-dir={filled}"], "env": []}[form]
    result = probe(*args, env={"WORKBENCH_DATA_DIR": str(filled)} if form == "env" else None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["TUI", str(filled), "-"]


def test_shell_completion_completes_and_never_opens_the_tui(filled: Path):
    """The scripts `workbench --install-completion` installs run `workbench` with no arguments and
    the words typed in the environment: the fast path read that as `workbench` alone and opened
    the TUI inside the shell's completion. Lazily built groups complete too."""
    env = {"_WORKBENCH_COMPLETE": "complete_bash", "COMP_WORDS": "workbench ann", "COMP_CWORD": "1",
           "WORKBENCH_DATA_DIR": str(filled)}
    result = probe(env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["annotations", "annotation"]
    deeper = probe(env={**env, "COMP_WORDS": "workbench sync co", "COMP_CWORD": "2"})
    assert deeper.stdout.split() == ["conflicts"]


def test_an_empty_data_dir_is_refused_not_the_default_directory(tmp_path: Path):
    """`workbench --data-dir ""` (a script's unset variable) opened the TUI over the default data
    directory: the fast path read "" as no directory. It is the CLI's refusal of an empty path now."""
    xdg = tmp_path / "xdg"  # where the default directory would be: nothing may be made there
    result = probe("--data-dir", "", env={"XDG_DATA_HOME": str(xdg)})
    assert (result.returncode, result.stdout) == (2, ""), (result.stdout, result.stderr)
    assert result.stderr.startswith("error: Invalid value for '--data-dir'") and "empty" in result.stderr
    assert not xdg.exists()


# The end of the probes that paint: the real entry point, its app run headless at 120x36 (the probe's
# patches stop it once they have seen what they look for).
RUN_HEADLESS = """
from textual.app import App
App.run = lambda self, _run=App.run, **kw: _run(self, headless=True, size=(120, 36))
sys.argv = ["workbench", *sys.argv[1:]]
from workbench.cli.entry import run
run()
"""

# As PROBE, but up to the inbox's first painted rows: what mounting the screens loads counts too
# (pydantic came back once through a storage module's import of an enum; the outbox's module and
# the annotations' repository, ~9 ms, through the inbox's question whether it is a replica's).
PAINT_PROBE = """
import sys
from workbench.tui.widgets.virtual_list import VirtualList
original = VirtualList.render_lines
def render_lines(self, crop):
    lines = original(self, crop)
    if self.id == "inbox-list" and self.total > 0 and not getattr(self.app, "reported", False):
        self.app.reported = True
        heavy = sorted(m for m in ("typer", "click", "pydantic", "sqlite_utils", "httpx", "textual_image", "PIL", "psycopg",
                                   "storage.sync_state", "storage.annotations") if m in sys.modules)
        print("PAINTED", ",".join(heavy) or "-", flush=True)
        self.app.call_after_refresh(self.app.exit)
    return lines
VirtualList.render_lines = render_lines
""" + RUN_HEADLESS


def test_the_first_painted_inbox_has_loaded_nothing_heavy(filled: Path):
    result = probe("--data-dir", str(filled), script=PAINT_PROBE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["PAINTED", "-"]


# What the UI thread loads right after the first paint (the sync line, the title), with the
# threads that load modules on purpose (the warm-up, the resumed jobs) held back: the sync line
# read its status through the sync use cases, whose op registry cost ~100 ms there.
AFTER_PAINT_PROBE = """
import sys
from workbench.tui.app import WorkbenchApp
WorkbenchApp.warm_up = WorkbenchApp.resume_unfinished = lambda self: None
original = WorkbenchApp._after_first_paint
def after(self):
    original(self)
    assert self.sync_status is not None, "the sync line was read"
    print("AFTER", ",".join(m for m in ("workbench.services.sync", "sync.ops", "pydantic") if m in sys.modules) or "-", flush=True)
    self.exit()
WorkbenchApp._after_first_paint = after
""" + RUN_HEADLESS


def test_what_follows_the_first_paint_on_the_ui_thread_loads_no_use_case_modules(filled: Path):
    result = probe("--data-dir", str(filled), script=AFTER_PAINT_PROBE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["AFTER", "-"], result.stdout


def test_anything_else_goes_to_the_cli(filled: Path):
    result = probe("--help")
    assert result.returncode == 0 and "serve" in result.stdout and "TUI" not in result.stdout
    result = probe("sites", "list", "--data-dir", str(filled), "--json")
    assert result.returncode == 0, result.stderr
    assert "Acme" in result.stdout


# A command as a script or an agent runs it, then what it loaded: the keyring, Typer's help
# screens, and which of the root's lazily built sub-command modules (workbench.cli.main
# LAZY_COMMANDS / LAZY_GROUPS).
MODULES_PROBE = """
import sys
sys.argv = ["workbench", *sys.argv[1:]]
from workbench.cli.entry import run
try:
    run()
except SystemExit:
    pass
lazy = ("annotations", "widget", "remote", "sync", "undo", "workspaces", "mcp_cmd")
print("KEYRING", "keyring" in sys.modules)
print("HELP", "typer.rich_utils" in sys.modules or "rich.markdown" in sys.modules)
print("MODULES", ",".join(m for m in lazy if f"workbench.cli.{m}" in sys.modules) or "-")
"""


def test_a_command_that_keeps_no_secret_does_not_load_the_keyring(filled: Path):
    """Loading keyring and its backends' entry points took ~40 ms of every command's start."""
    result = probe("sites", "list", "--data-dir", str(filled), "--json", script=MODULES_PROBE)
    assert result.returncode == 0, result.stderr
    assert "Acme" in result.stdout
    assert result.stdout.split()[-6:-4] == ["KEYRING", "False"]


@pytest.mark.parametrize(("words", "loaded"), [
    (["remote", "list"], "remote"),
    (["annotations", "list", "--json"], "annotations"),
    (["sites", "list", "--json"], "annotations,widget"),
    (["sync", "status", "--json"], "remote,sync"),  # sync reads its remote's credentials through remote's prompts
    (["undo", "--list", "--json"], "annotations,undo"),  # its plumbing (local, refusals) is the annotations module's
    (["workspaces", "--json"], "workspaces"),
])
def test_a_command_loads_its_own_sub_commands_module_only(filled: Path, words: list[str], loaded: str):
    """The root built every sub-command of every module (Typer reading each signature) before running
    one: `remote list` 372 -> 245 ms (bench/bench_cli.py)."""
    result = probe(*words, "--data-dir", str(filled), script=MODULES_PROBE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-4:] == ["HELP", "False", "MODULES", loaded], result.stdout


@pytest.mark.parametrize("words", [["--bogus"], ["annotation", "set-status", "x", "bogus"], ["sync", "--bogus", "--json"]])
def test_a_refused_command_line_is_one_line_without_loading_the_help_screens(filled: Path, words: list[str]):
    """Typer's Rich help module (and Rich's Markdown, ~37 ms) loaded at every start so that its
    error report could be replaced; the refusals are caught before Typer's report now."""
    result = probe(*words, "--data-dir", str(filled), script=MODULES_PROBE)
    assert result.stdout.split()[-4:-2] == ["HELP", "False"], result.stdout
    said = result.stderr.splitlines()  # --json's error object too
    assert said[0].startswith("{\"error\": {\"code\": " if "--json" in words else "error: ") and len(said) <= 2, result


def test_an_unusable_data_dir_is_reported_by_the_cli(tmp_path: Path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    result = probe("--data-dir", str(not_a_dir))
    assert result.returncode == 2
    assert "is a file" in result.stderr and "TUI" not in result.stdout
