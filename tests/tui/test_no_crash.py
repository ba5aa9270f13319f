"""Inputs that once crashed the app: each now shows why it is refused, and keeps what was typed."""

from __future__ import annotations

from textual import events
from textual.widgets import Input

from tests.tui.conftest import SIZE, errors, press, screen_text, type_text, wait_for
from tests.tui.test_annotation import open_annotations, open_detail
from tests.tui.test_bulk import pick
from workbench.services import annotations as annotations_service
from workbench.services import bulk, inbox
from workbench.tui.screens.bulk import BulkDialog
from workbench.tui.screens.forms import Field, FormDialog
from workbench.tui.screens.inbox import InboxScreen

TOO_LONG_URL = "https://github.com/acme/shop/pull/" + "9" * 2_000


async def test_a_diff_url_over_the_limit_is_refused_inline(app, demo_wb, principal):
    """The model's length limit (a pydantic error, not a domain one) used to end the app."""
    ann = open_annotations(demo_wb, principal, 1)[0]
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(app, pilot, ann.id)
        await press(pilot, "e")
        dialog = app.screen
        assert isinstance(dialog, FormDialog)
        dialog.query_one("#field-diff_url", Input).value = TOO_LONG_URL
        await pilot.pause()
        assert app.is_running and app.screen is dialog
        assert "diff URL: at most 2,000 characters" in str(dialog.query_one("#form-check").render())
        await press(pilot, "ctrl+s")
        assert app.screen is dialog and dialog.query_one("#field-diff_url", Input).value == TOO_LONG_URL
        assert "diff URL: at most 2,000 characters" in str(dialog.query_one("#form-error").render())
        assert annotations_service.detail(demo_wb, principal, ann.id)["resolutions"] == []


async def test_a_file_name_the_system_refuses_is_reported(app, demo_wb, principal):
    """A path component over 255 bytes makes the OS raise (ENAMETOOLONG) while checking the file."""
    ann = open_annotations(demo_wb, principal, 1)[0]
    path = "/tmp/" + "x" * 300 + ".png"
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(app, pilot, ann.id)
        await press(pilot, "e")
        dialog = app.screen
        # Pasted, as such a path would be: typed key by key, its 310 characters took 26 s of CI.
        focused = app.focused
        assert isinstance(focused, Input) and focused.id == "field-before"
        focused.post_message(events.Paste(path))
        await pilot.pause()
        assert app.is_running and app.screen is dialog
        assert "before: File name too long" in str(dialog.query_one("#form-check").render())
        await press(pilot, "ctrl+s")
        assert app.screen is dialog and dialog.query_one("#field-before", Input).value == path


async def test_a_validator_that_raises_shows_its_reason(app):
    """Whatever a form's live check raises is shown in the dialog; typing goes on."""

    def validate(values: dict) -> str | None:
        raise ValueError(f"cannot check {values['name']!r}")

    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        dialog = FormDialog("Probe", [Field("name", "Name", "input")], submit=lambda values: None, validate=validate)
        app.push_screen(dialog)
        await pilot.pause()
        await type_text(pilot, "ab")
        assert app.is_running and app.screen is dialog
        assert "cannot check 'ab'" in str(dialog.query_one("#form-check").render())


async def test_bulk_resolve_with_a_summary_over_the_limit(app, demo_wb, principal):
    """The preview used to promise the change and the worker then died on the model's limit."""
    summary = "s" * 2_001
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        vlist = app.screen.query_one("#inbox-list")
        index = next(i for i in range(vlist.total) if vlist.row_at(i).source == "annotation")
        vlist.move_cursor(index)
        row = vlist.current
        await press(pilot, "b")
        dialog = app.screen
        assert isinstance(dialog, BulkDialog)
        pick(dialog, "resolved")
        await press(pilot, "enter")
        dialog.query_one("#bulk-summary", Input).value = summary
        await press(pilot, "enter")
        assert dialog.stage == "preview"
        text = screen_text(app)
        assert "0 rows will change" in text and "summary" in text
        await press(pilot, "y")  # nothing to apply: stays on the preview
        assert app.is_running and dialog.stage == "preview"
        await press(pilot, "escape", "escape", "escape")
        assert isinstance(app.screen, InboxScreen)
        assert annotations_service.get(demo_wb, principal, row.id).status == row.status
        assert not errors(app)


def test_bulk_apply_reports_a_model_refusal_per_row(demo_wb, principal):
    """Even when called without a preview, one row's refusal is reported and the others go on."""
    rows = inbox.window(demo_wb, principal, inbox.InboxFilter(sources=("annotation",)), 0, 2)
    items = bulk.apply(demo_wb, principal, bulk.BulkAction("set_status", status="won_t_fix", summary="x" * 2_001), rows)
    assert [item.ok for item in items] == [False, False]
    assert all("summary" in item.message for item in items)
    assert all(annotations_service.get(demo_wb, principal, r.id).status == r.status for r in rows)


async def test_a_failing_count_is_shown_not_fatal(app, monkeypatch):
    """The inbox's counts run in workers; a failing read there is a notification, not an exit."""

    def broken(*_args: object) -> int:
        raise RuntimeError("disk went away")

    monkeypatch.setattr(inbox, "summary_counts", broken)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: any("disk went away" in m for m in errors(app)))
        assert app.is_running and isinstance(app.screen, InboxScreen)
