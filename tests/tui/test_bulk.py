"""Bulk: select rows, choose one action, read the preview, apply, read the per-item outcome."""

from __future__ import annotations

from textual.widgets import OptionList

from tests.tui.conftest import SIZE, press, screen_text, type_text, wait_for
from workbench.domain.annotations import BLANK_RESOLVE_SUMMARY
from workbench.services import annotations as annotations_service
from workbench.services import bulk, inbox
from workbench.tui.screens.bulk import BulkDialog
from workbench.tui.screens.inbox import InboxScreen


def pick(dialog: BulkDialog, label_part: str) -> None:
    options = dialog.query_one("#bulk-actions", OptionList)
    options.highlighted = next(i for i, (label, _) in enumerate(dialog.choices) if label_part in label)


async def test_bulk_status_with_preview_and_per_item_result(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        vlist = app.screen.query_one("#inbox-list")
        # Two annotations and one test session: the test session must be refused, with why.
        anns = [i for i in range(vlist.total) if vlist.row_at(i).source == "annotation" and vlist.row_at(i).status != "triaged"][:2]
        test = next(i for i in range(vlist.total) if vlist.row_at(i).source == "test")
        for index in (*anns, test):
            vlist.move_cursor(index)
            await press(pilot, "space")
        chosen = vlist.selected_rows
        assert len(chosen) == 3
        await press(pilot, "b")
        dialog = app.screen
        assert isinstance(dialog, BulkDialog)
        pick(dialog, "triaged")
        await press(pilot, "enter")
        assert dialog.stage == "preview"
        text = screen_text(app)
        assert "2 rows will change" in text and "1 row refused" in text
        assert "Test sessions are handled on their own screen (3)" in text
        # Nothing written yet.
        assert all(annotations_service.get(demo_wb, principal, r.id).status != "triaged" for r in chosen if r.source == "annotation")
        await press(pilot, "y")
        await wait_for(pilot, lambda: dialog.stage == "results")
        text = screen_text(app)
        assert "2 rows changed" in text and "1 row refused" in text
        assert all(annotations_service.get(demo_wb, principal, r.id).status == "triaged" for r in chosen if r.source == "annotation")
        await press(pilot, "escape")
        assert isinstance(app.screen, InboxScreen)
        assert not app.screen.list.selection


async def test_bulk_resolve_asks_for_a_summary_and_resolves_comments_too(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        vlist = app.screen.query_one("#inbox-list")
        ann = next(i for i in range(vlist.total) if vlist.row_at(i).source == "annotation")
        comment = next(i for i in range(vlist.total) if vlist.row_at(i).source == "comment")
        for index in (ann, comment):
            vlist.move_cursor(index)
            await press(pilot, "space")
        rows = vlist.selected_rows
        await press(pilot, "b")
        dialog = app.screen
        pick(dialog, "resolved")
        await press(pilot, "enter")
        assert dialog.stage == "summary"
        for blank in ("", "   "):  # an annotation is not resolved without saying what was done
            await type_text(pilot, blank)
            await press(pilot, "enter")
            assert dialog.stage == "summary" and BLANK_RESOLVE_SUMMARY in str(dialog.query_one("#form-error").render())
        await press(pilot, "ctrl+u")
        await type_text(pilot, "Shipped in v3")
        await press(pilot, "enter", "y")
        await wait_for(pilot, lambda: dialog.stage == "results")
        got = annotations_service.get(demo_wb, principal, rows[0].id)
        assert (got.status, got.summary) == ("resolved", "Shipped in v3")
        comments = inbox.window(demo_wb, principal, inbox.InboxFilter(sources=("comment",), status="resolved"), 0, 500)
        assert rows[1].id in {c.id for c in comments}


async def test_bulk_assign_and_back_out(app, demo_wb, principal):
    members = inbox.facets(demo_wb, principal).members
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.screen.apply_filter(inbox.InboxFilter(sources=("annotation",)))
        await pilot.pause()
        await press(pilot, "space", "space", "space", "b")
        dialog = app.screen
        pick(dialog, f"Assign to [b]{members[1][1]}")
        await press(pilot, "enter")
        assert dialog.stage == "preview"
        await press(pilot, "escape")  # back to the choices, nothing applied
        assert dialog.stage == "choose"
        pick(dialog, "Unassign")
        await press(pilot, "enter", "y")
        await wait_for(pilot, lambda: dialog.stage == "results")
        rows = inbox.window(demo_wb, principal, inbox.InboxFilter(sources=("annotation",)), 0, 3)
        assert all(annotations_service.get(demo_wb, principal, r.id).assignee_id is None for r in rows)


async def test_bulk_without_selection_uses_the_cursor_row(app):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await press(pilot, "b")
        assert isinstance(app.screen, BulkDialog)
        assert len(app.screen.rows) == 1


def test_preview_and_apply_report_each_refusal(demo_wb, principal):
    rows = inbox.window(demo_wb, principal, inbox.InboxFilter(), 0, 400)
    sample = [next(r for r in rows if r.source == s) for s in ("annotation", "comment", "test")]
    action = bulk.BulkAction("set_status", status="ack")
    preview = bulk.preview(action, sample)
    assert [i.ok for i in preview] == [sample[0].status != "ack", False, False]
    assert preview[1].message == "Feedback comments can only be resolved"
    applied = bulk.apply(demo_wb, principal, action, sample)
    assert [(i.ok, i.message) for i in applied] == [(i.ok, i.message) if not i.ok else (True, i.message) for i in preview]
    dup = bulk.preview(bulk.BulkAction("set_status", status="duplicate"), sample[:1])
    assert not dup[0].ok and "duplicate of" in dup[0].message


async def test_at_80_columns_a_refusal_s_reason_is_read_in_full(app):
    """QA: at 80 columns the preview's columns were wider than the dialog, whose edge cut a refusal's reason
    mid-sentence with no "…" ("Test sessions are"): the rule that refused the row could not be read. The list
    fits the dialog, and the highlighted row's reason is under it in full."""
    from workbench.tui.widgets.virtual_list import GUTTER, VirtualList

    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        vlist = app.screen.query_one("#inbox-list", VirtualList)
        vlist.move_cursor(next(i for i in range(vlist.total) if vlist.row_at(i).source == "test"))
        await press(pilot, "space", "b")
        dialog = app.screen
        assert isinstance(dialog, BulkDialog)
        pick(dialog, "triaged")
        await press(pilot, "enter")
        await wait_for(pilot, lambda: dialog.stage == "preview")
        preview = dialog.query_one("#bulk-preview", VirtualList)
        width = preview.scrollable_content_region.width
        shown = [w for w in preview.layout_widths(width) if w]
        assert GUTTER + sum(shown) + len(shown) - 1 <= width, (width, preview.layout_widths(width))
        await wait_for(pilot, lambda: "own screen (3)" in screen_text(app))
        assert "Test sessions are handled on their own screen (3)" in " ".join(screen_text(app).split())


async def test_a_row_already_at_the_value_reads_as_is_not_refused(app, demo_wb, principal):
    # A row already triaged was marked "✗ refused" and counted in "1 row refused", though no rule
    # refused anything: README says such rows read "Already …" and are not counted.
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        vlist = app.screen.query_one("#inbox-list")
        ann = [i for i in range(vlist.total) if vlist.row_at(i).source == "annotation"]
        triaged = next(i for i in ann if vlist.row_at(i).status == "triaged")
        other = next(i for i in ann if vlist.row_at(i).status not in ("triaged", "resolved"))
        test = next(i for i in range(vlist.total) if vlist.row_at(i).source == "test")
        for index in (triaged, other, test):
            vlist.move_cursor(index)
            await press(pilot, "space")
        await press(pilot, "b")
        dialog = app.screen
        assert isinstance(dialog, BulkDialog)
        pick(dialog, "triaged")
        await press(pilot, "enter")
        text = screen_text(app)
        assert "1 row will change, 1 row already so, 1 row refused" in text
        line = next(li for li in text.splitlines() if "Already triaged" in li)
        assert "refused" not in line and "= as is" in line
        await press(pilot, "y")
        await wait_for(pilot, lambda: dialog.stage == "results")
        assert "Done: 1 row changed, 1 row already so, 1 row refused" in screen_text(app)
