"""Keyboard first: `?` shows the screen's keys, ctrl+p lists every action, keys.toml rebinds them."""

from __future__ import annotations

from pathlib import Path

from textual.command import CommandPalette

from tests.tui.conftest import SIZE, make_app, press, screen_text, told, type_text
from workbench.tui import keys
from workbench.tui.help import binding_rows
from workbench.tui.screens.help import HelpScreen
from workbench.tui.screens.inbox import InboxScreen
from workbench.tui.screens.inbox_dialogs import ViewsDialog
from workbench.tui.screens.personas import PersonasScreen


async def test_question_mark_shows_the_keys_of_the_current_screen(app):
    async with app.run_test(size=(120, 60)) as pilot:
        await pilot.pause()
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for label in ("Search", "Filter", "Views", "Bulk", "Resolve", "Won't fix", "Duplicate", "Assign", "Select", "Feedback sessions"):
            assert label in text, label
        await press(pilot, "escape")
        await press(pilot, "4", "question_mark")
        text = screen_text(app)
        assert "Reset defaults" in text and "Bulk" not in text
        await press(pilot, "question_mark")
        assert isinstance(app.screen, PersonasScreen)


async def test_every_bound_action_is_in_the_palette(app):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        described = {row[2] for row in binding_rows(app.screen)}
        assert {"Search", "Filter", "Views", "Bulk…", "New", "Ack", "Triaged", "In progress", "Resolve…"} <= described
        await press(pilot, "ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await type_text(pilot, "views")
        await pilot.pause(0.3)
        await press(pilot, "enter")
        await pilot.pause()
        assert isinstance(app.screen, ViewsDialog)


async def test_keys_toml_rebinds_and_reports_problems(demo_wb, tmp_path: Path):
    config = tmp_path / "keys.toml"
    config.write_text('[keys]\n"inbox.search" = "ctrl+f"\n"app.personas" = "P"\n"nope.nothing" = "x"\n')
    keymap = keys.load_keymap(config)
    assert keymap.bindings == {"inbox.search": "ctrl+f", "app.personas": "P"}
    assert keymap.problems == ["unknown binding id 'nope.nothing'"]
    app = make_app(demo_wb, keymap=keymap)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "unknown binding id 'nope.nothing'" in told(app)
        await press(pilot, "slash")
        assert not app.screen.query_one("#search").has_focus
        await press(pilot, "ctrl+f")
        assert app.screen.query_one("#search").has_focus
        await press(pilot, "escape", "P")
        assert isinstance(app.screen, PersonasScreen)


def test_a_broken_keys_file_is_reported_not_fatal(tmp_path: Path):
    config = tmp_path / "keys.toml"
    config.write_text("[keys\n")
    keymap = keys.load_keymap(config)
    assert keymap.bindings == {} and keymap.problems and str(config) in keymap.problems[0]
    assert keys.load_keymap(tmp_path / "missing.toml").bindings == {}


def test_keys_file_location_follows_the_platform_or_the_env(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("WORKBENCH_KEYS", str(tmp_path / "k.toml"))
    assert keys.config_path() == tmp_path / "k.toml"
    monkeypatch.delenv("WORKBENCH_KEYS")
    assert keys.config_path().name == "keys.toml" and "workbench" in str(keys.config_path())


async def test_mouse_click_moves_the_cursor_and_double_click_opens(app):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        vlist = app.screen.query_one("#inbox-list")
        await pilot.click("#inbox-list", offset=(10, 4))  # line 0 is the header: row 3
        assert vlist.cursor == 3
        await pilot.click("#inbox-list", offset=(10, 4), times=2)
        await pilot.pause()
        assert not isinstance(app.screen, InboxScreen)
