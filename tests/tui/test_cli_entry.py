"""`workbench` with no sub-command opens the TUI (on demo data when the store is empty); `workbench tui` too."""

from __future__ import annotations

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
