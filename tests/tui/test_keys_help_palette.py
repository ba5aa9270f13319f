"""Keyboard first: `?` shows the screen's keys, ctrl+p lists every action, keys.toml rebinds them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol, runtime_checkable

import pytest
from textual.binding import Binding
from textual.command import Command, CommandList, CommandPalette
from textual.screen import Screen
from textual.widgets import Button, Input

from tests.tui.conftest import SIZE, make_app, press, screen_text, told, type_text, wait_for
from tests.tui.test_annotation import open_annotations, open_detail
from workbench.tui import keys
from workbench.tui.help import binding_rows
from workbench.tui.screens.annotation import AnnotationScreen
from workbench.tui.screens.feedback import FeedbackScreen
from workbench.tui.screens.forms import ConfirmDialog, FormDialog
from workbench.tui.screens.help import HelpScreen
from workbench.tui.screens.inbox import InboxScreen
from workbench.tui.screens.inbox_dialogs import ViewsDialog
from workbench.tui.screens.personas import PersonasScreen
from workbench.tui.screens.reply import ReplyDialog
from workbench.tui.screens.sync import SyncScreen
from workbench.tui.screens.test_sessions import TestSessionsScreen

# Every screen a user can be on: the five modes (keys 1-5) and the annotation detail (enter on an annotation).
SCREENS = [
    pytest.param("1", InboxScreen, keys.INBOX, id="inbox"),
    pytest.param("2", FeedbackScreen, keys.FEEDBACK, id="feedback"),
    pytest.param("3", TestSessionsScreen, keys.TESTS, id="tests"),
    pytest.param("4", PersonasScreen, keys.PERSONAS, id="personas"),
    pytest.param("5", SyncScreen, keys.SYNC, id="sync"),
    pytest.param("annotation", AnnotationScreen, keys.ANNOTATION, id="annotation"),
]


@runtime_checkable
class Sectioned(Protocol):
    """A screen with a section of its own in the help (each of SCREENS declares one; Textual's Screen does not)."""

    HELP_SECTION: str


async def go_to(app, pilot, where: str) -> Screen:
    """Switch to a mode with its number key, or open the first annotation of the inbox with enter."""
    if where != "annotation":
        await press(pilot, where)
        return app.screen
    await press(pilot, "1")
    vlist = app.screen.query_one("#inbox-list")
    vlist.move_cursor(next(i for i in range(vlist.total) if vlist.row_at(i).source == "annotation"))
    await press(pilot, "enter")
    return app.screen


def highlighted_command(app) -> str:
    """The text of the command the palette's enter would run now ("" before its search found one)."""
    commands = app.screen.query_one(CommandList)
    if commands.highlighted is None:
        return ""
    return str(commands.get_option_at_index(commands.highlighted).hit.text)


def reaching_keys(app, screen: Screen, binding: Binding, node=None) -> list[str]:
    """How the help shows the keys of ``binding`` (of ``node``, default the screen) that reach it: a focused
    widget may take one (e.g. down scrolls the annotation's text)."""
    active, node = screen.active_bindings, node or screen
    reach = [k for k in binding.key.split(",") if k in active and active[k].node is node and active[k].binding.action == binding.action]
    assert reach, f"no key reaches {binding.id} ({binding.key}) on {type(screen).__name__}"
    return [app.get_key_display(Binding(k, binding.action, key_display=binding.key_display)) for k in reach]


def keys_listed_for(text: str, description: str) -> set[str]:
    """The keys the help screen shows in front of ``description`` (one row per action)."""
    found = [m.group(1) for m in re.finditer(rf"(?<!\S)((?:\S+ )*\S+) {{2,}}{re.escape(description)}(?!\S)", text)]
    assert found, f"{description!r} is not listed"
    return {key for keys_ in found for key in keys_.split(" ")}


def help_column(app, index: int) -> str:
    """A column of the help screen as shown: 0, the keys of the screen itself; 1, the list's and the global keys."""
    region = list(app.screen.query(".help-column"))[index].region
    lines = screen_text(app).splitlines()[region.y : region.bottom]
    return "\n".join(line[region.x : region.right] for line in lines)


@pytest.mark.parametrize(("where", "screen_type", "group"), SCREENS)
async def test_help_and_palette_list_every_key_of_the_screen(app, where, screen_type, group):
    async with app.run_test(size=(120, 60)) as pilot:
        await pilot.pause()
        screen = await go_to(app, pilot, where)
        assert isinstance(screen, screen_type) and isinstance(screen, Sectioned)
        expected = {b.description: reaching_keys(app, screen, b) for b in group}
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert f"Keys — {screen.HELP_SECTION}" in screen_text(app)
        text = help_column(app, 0)
        assert screen.HELP_SECTION in [line.strip() for line in text.splitlines()]  # the section's heading
        for description, shown_keys in expected.items():
            assert set(shown_keys) <= keys_listed_for(text, description), description
        shared = help_column(app, 1)
        for b in keys.APP:
            assert isinstance(b, Binding)
            if b.id != "app.help":  # ? itself is not listed: the help is open
                assert set(reaching_keys(app, screen, b, app)) <= keys_listed_for(shared, b.description), b.description
        await press(pilot, "question_mark")  # ? again closes the help
        assert app.screen is screen
        # The palette offers the same actions, each with its key.
        await press(pilot, "ctrl+p")
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        await wait_for(pilot, lambda: palette.has_class("-ready"))
        offered = {option.hit.text: option.hit.help for option in palette.query_one(CommandList).options if isinstance(option, Command)}
        for description, shown_keys in expected.items():
            label = f"{screen.HELP_SECTION}: {description}"
            assert label in offered, label
            assert set(shown_keys) <= set(offered[label].removeprefix("key: ").split(" ")), label
        await press(pilot, "escape")
        assert app.screen is screen


async def test_quit_is_one_row_with_both_its_keys(app):
    """QA: ? listed "^q Quit" and "q Quit" as two rows (Textual's own ctrl+q and ours), and the palette offered
    Quit twice: one action, one row, our key first."""
    async with app.run_test(size=(120, 60)) as pilot:
        await pilot.pause()
        quits = [(key, action) for _s, key, description, _n, action in binding_rows(app.screen) if description == "Quit"]
        assert quits == [("q ^q", "app.quit")], quits
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        shown = help_column(app, 1)
        assert [line.split() for line in shown.splitlines() if "Quit" in line] == [["q", "^q", "Quit"]], shown
        await press(pilot, "question_mark", "ctrl+p")
        palette = app.screen
        assert isinstance(palette, CommandPalette)
        await wait_for(pilot, lambda: palette.has_class("-ready"))
        offered = [option.hit.help for option in palette.query_one(CommandList).options if isinstance(option, Command) and option.hit.text == "Global: Quit"]
        assert offered == ["key: q ^q"], offered


async def test_every_bound_action_is_in_the_palette(app):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        described = {row[2] for row in binding_rows(app.screen)}
        assert {"Search", "Filter", "Views", "Bulk…", "New", "Ack", "Triaged", "In progress", "Resolve…"} <= described
        await press(pilot, "ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await type_text(pilot, "views")
        await wait_for(pilot, lambda: highlighted_command(app).endswith(": Views"))  # the palette searches asynchronously
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


def dialog_keys(dialog: Screen) -> dict[str, set[str]]:
    """Description → keys of the dialog's own bindings, as the help should list them."""
    rows = [row for row in binding_rows(dialog) if row[3] is dialog]
    assert rows
    return {description: set(key.split(" ")) for _section, key, description, _node, _action in rows}


async def test_help_over_a_dialog_shows_the_dialogs_keys(app):
    """What ``?`` runs (app.help) while a dialog is open: the dialog's keys, over the dialog."""
    async with app.run_test(size=(120, 60)) as pilot:
        await pilot.pause()
        await press(pilot, "2", "D")  # feedback: the highlighted (processing) round's builder is done?
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        expected = dialog_keys(dialog)
        assert {"Yes", "No"} <= set(expected)
        await app.run_action("app.help")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = help_column(app, 0)
        for description, shown in expected.items():
            assert shown <= keys_listed_for(text, description), description
        assert "Start…" not in text + help_column(app, 1)  # not the keys of the screen under the dialog
        # Over the help screen, app.help closes it (what ? does there) instead of stacking another.
        await app.run_action("app.help")
        await pilot.pause()
        assert app.screen is dialog
        await press(pilot, "n")
        assert isinstance(app.screen, FeedbackScreen)


async def test_question_mark_in_a_dialog_shows_its_keys_and_closes_again(app):
    async with app.run_test(size=(120, 60)) as pilot:
        await pilot.pause()
        await press(pilot, "f")
        dialog = app.screen
        assert isinstance(dialog, FormDialog)
        focused = app.focused
        expected = dialog_keys(dialog)
        assert {"Cancel", "Apply"} <= set(expected)  # its buttons' words
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = help_column(app, 0)
        for description, shown in expected.items():
            assert shown <= keys_listed_for(text, description), description
        assert "Bulk…" not in text + help_column(app, 1)
        await press(pilot, "question_mark")  # closes the help: back in the dialog, where it was
        assert app.screen is dialog and app.focused is focused
        # In a text field ? is a character, not the help.
        dialog.query_one("#field-text").focus()
        await press(pilot, "question_mark")
        assert app.screen is dialog and dialog.query_one("#field-text", Input).value == "?"
        await press(pilot, "escape")
        assert isinstance(app.screen, InboxScreen)
        # A confirm dialog too: its yes and no.
        await press(pilot, "2", "D", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert "y" in keys_listed_for(help_column(app, 0), "Yes") and {"n", "esc"} <= keys_listed_for(help_column(app, 0), "No")
        await press(pilot, "escape")
        assert isinstance(app.screen, ConfirmDialog)


async def test_help_names_the_form_keys_as_the_dialogs_buttons_do(app, demo_wb, principal):
    """QA: in the reply dialog ? listed esc as "Cancel", though its button says "Close" (leaving keeps
    the draft), and ctrl+s as "Save" beside a "Send" button: one binding serves every form."""
    [ann] = open_annotations(demo_wb, principal, 1)
    async with app.run_test(size=(120, 60)) as pilot:
        await open_detail(app, pilot, ann.id)
        await press(pilot, "c")
        dialog = app.screen
        assert isinstance(dialog, ReplyDialog)
        assert [str(b.label) for b in dialog.query(Button)] == ["Close", "Send"]
        await app.run_action("app.help")  # what ? does where the reply's text does not take it
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = help_column(app, 0)
        assert "esc" in keys_listed_for(text, "Close") and "^s" in keys_listed_for(text, "Send"), text
        assert not re.search(r"(?<!\S)(Cancel|Save)(?!\S)", text), text
        # The palette lists the same words (its commands are these rows).
        said = {description for _s, _k, description, node, _a in binding_rows(dialog) if node is dialog}
        assert {"Close", "Send"} <= said and not {"Cancel", "Save"} & said, said


async def test_help_stacks_its_columns_on_a_narrow_terminal(app):
    """QA: at 50 columns, where the footer keeps little beyond `? Keys`, the help's two columns left
    each description four letters ("Sear…", "Filt…"). Under 70 columns the columns stack, whole."""
    async with app.run_test(size=(50, 15)) as pilot:
        await pilot.pause()
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        own, shared = app.screen.query(".help-column")
        assert shared.region.y >= own.region.bottom and shared.region.x == own.region.x
        text = screen_text(app)
        for description in ("Search", "Filter", "Views"):
            assert re.search(rf"\s{description}\s", text), description
        assert "…" not in help_column(app, 0).replace("Bulk…", "")
        await pilot.resize_terminal(80, 24)  # from 70 columns up they stay side by side
        await wait_for(pilot, lambda: shared.region.y == own.region.y)
        assert shared.region.x >= own.region.right


async def test_the_inbox_help_says_what_esc_clears(app):
    # "esc  Clear" left a triager guessing: a filter or a saved view stays, only the search and the selection go.
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await press(pilot, "space")
        await press(pilot, "question_mark")
        words = " ".join(help_column(app, 0).split())  # at 80 columns the description wraps, as others do
        assert "esc Clear query/selection" in words
        await press(pilot, "question_mark")
        await press(pilot, "escape")
        assert not app.screen.query_one("#inbox-list").selection
