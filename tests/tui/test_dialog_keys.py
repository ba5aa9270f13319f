"""Dialog keys are rebindable in keys.toml like every screen's, and their hints name the keys in force."""

from __future__ import annotations

from pathlib import Path

from tests.found import found
from tests.tui.conftest import SIZE, make_app, press, screen_text, wait_for
from tests.tui.test_bulk import pick
from workbench.services import annotations as annotations_service
from workbench.tui import keys
from workbench.tui.screens.bulk import BulkDialog
from workbench.tui.screens.forms import FormDialog
from workbench.tui.screens.inbox import InboxScreen
from workbench.tui.widgets.virtual_list import VirtualList


def keymap_with(tmp_path: Path, text: str) -> keys.Keymap:
    config = tmp_path / "keys.toml"
    config.write_text("[keys]\n" + text)
    keymap = keys.load_keymap(config)
    assert not keymap.problems
    return keymap


def test_every_dialog_key_has_an_id():
    ids = keys.all_binding_ids()
    for binding_id in ("form.save", "form.cancel", "form.browse", "confirm.yes", "confirm.no", "choice.cancel",
                       "files.parent", "views.save", "views.delete", "bulk.apply", "bulk.close", "duplicate.to_list"):
        assert binding_id in ids
        assert f'"{binding_id}"' in keys.describe_bindings()


async def test_a_rebound_bulk_apply(demo_wb, principal, tmp_path: Path):
    app = make_app(demo_wb, keymap=keymap_with(tmp_path, '"bulk.apply" = "A"\n'))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        vlist = app.screen.query_one("#inbox-list", VirtualList)
        vlist.move_cursor(next(i for i in range(vlist.total) if found(vlist.row_at(i)).source == "annotation"
                               and found(vlist.row_at(i)).status != "triaged"))
        row = found(vlist.current)
        await press(pilot, "b")
        dialog = app.screen
        assert isinstance(dialog, BulkDialog)
        pick(dialog, "triaged")
        await press(pilot, "enter")
        assert "A: apply · esc: back" in screen_text(app)
        await press(pilot, "y")  # the default key no longer applies
        assert dialog.stage == "preview"
        await press(pilot, "A")
        await wait_for(pilot, lambda: dialog.stage == "results")
        assert annotations_service.get(demo_wb, principal, row.id).status == "triaged"


async def test_a_rebound_form_save_and_its_hint(demo_wb, tmp_path: Path):
    app = make_app(demo_wb, keymap=keymap_with(tmp_path, '"form.save" = "ctrl+t"  # ctrl+e is form.editor\n'))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await press(pilot, "f")
        dialog = app.screen
        assert isinstance(dialog, FormDialog)
        text = screen_text(app)
        assert "^t / enter in the search box: apply · esc: cancel" in text and "^s" not in text
        await press(pilot, "ctrl+s")
        assert app.screen is dialog
        await press(pilot, "ctrl+t")
        assert isinstance(app.screen, InboxScreen)


async def test_a_forms_hint_and_keys_name_what_it_has(app):
    """QA: the test session's Confirm form said "^s save" under its Confirm button, and its keys (?)
    listed "^o Browse files" though it has no file to browse. The hint names the buttons; browse is
    offered where a file field is."""
    from tests.tui.test_test_sessions import open_tests, select_status
    from workbench.tui.help import binding_rows

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tests(app, pilot)
        select_status(screen, "analyzed")
        await press(pilot, "C")
        form = app.screen
        assert isinstance(form, FormDialog) and form.submit_label == "Confirm"
        assert "^s: confirm · esc: cancel" in screen_text(app)
        described = [description for _, _, description, _, _ in binding_rows(form)]
        assert "Confirm" in described and "Browse files" not in described
        await press(pilot, "escape")
        # The attach dialog has files to browse: its hint and keys say so.
        await press(pilot, "1")
        await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen))
        vlist = app.screen.query_one("#inbox-list", VirtualList)
        vlist.move_cursor(next(i for i in range(vlist.total) if found(vlist.row_at(i)).source == "annotation"))
        await press(pilot, "enter", "e")
        attach = app.screen
        assert isinstance(attach, FormDialog) and attach.submit_label == "Attach"
        assert "^s: attach · esc: cancel · ^o: browse" in screen_text(app)
        assert "Browse files" in [description for _, _, description, _, _ in binding_rows(attach)]
        await press(pilot, "escape", "r")  # the resolve prompt, under its Resolve button
        assert "enter / ^s: resolve · esc: cancel" in screen_text(app)


async def test_a_form_without_text_to_write_offers_no_editor(app):
    """QA: ? on the inbox filter listed "^e Write in $EDITOR", which only said there was no text field."""
    from workbench.tui.help import binding_rows

    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await press(pilot, "f")
        form = app.screen
        assert isinstance(form, FormDialog) and form.submit_label == "Apply"
        described = [description for _, _, description, _, _ in binding_rows(form)]
        assert "Apply" in described and "Write in $EDITOR" not in described
