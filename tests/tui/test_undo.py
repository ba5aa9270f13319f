"""Undo and redo (``u`` / ``U``) in a workspace that does not sync: each action, a bulk batch, a restart,
and what cannot be undone said before it runs. tests/tui/test_undo_sync.py does the same against a server."""

from __future__ import annotations

from textual.widgets import OptionList

from tests.found import found
from tests.tui.conftest import SIZE, cursor_on, make_app, paste, press, screen_text, told_that, type_text, wait_for
from workbench.services import annotations as annotations_service
from workbench.services import inbox
from workbench.services.context import Workbench
from workbench.services.local import local_user
from workbench.tui.screens.annotation import AnnotationScreen
from workbench.tui.screens.bulk import BulkDialog
from workbench.tui.screens.feedback import CommentSource
from workbench.tui.screens.forms import FormDialog
from workbench.tui.screens.persona_picker import PersonaPicker


def visible(ann) -> tuple:
    return ann.status, ann.summary, ann.assignee_id




async def test_u_undoes_a_status_change_and_U_redoes_it(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await press(pilot, "u")
        await told_that(app, pilot, "Nothing to undo")
        row = await cursor_on(app, pilot, "new")
        await press(pilot, "a")
        assert annotations_service.get(demo_wb, principal, row.id).status == "ack"
        await press(pilot, "u")
        await told_that(app, pilot, f"Undid: Status → ack on …{row.id[-8:]}")
        assert annotations_service.get(demo_wb, principal, row.id).status == "new"
        await press(pilot, "U")
        await told_that(app, pilot, f"Redid: Status → ack on …{row.id[-8:]}")
        assert annotations_service.get(demo_wb, principal, row.id).status == "ack"
        await press(pilot, "U")
        await told_that(app, pilot, "Nothing to redo")


async def test_undo_goes_back_action_by_action_through_assign_and_duplicate(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        row = await cursor_on(app, pilot, "new")
        before = visible(annotations_service.get(demo_wb, principal, row.id))
        await press(pilot, "t")  # status
        await press(pilot, "A")  # assign to the first member
        await press(pilot, "down", "enter")
        await press(pilot, "w")  # won't fix, with a summary
        await paste(pilot, "Working as intended")
        await press(pilot, "enter")
        now = annotations_service.get(demo_wb, principal, row.id)
        assert now.status == "won_t_fix" and now.summary == "Working as intended" and now.assignee_id
        for _ in range(3):
            await press(pilot, "u")
        await told_that(app, pilot, "Undid: Status → triaged")
        assert visible(annotations_service.get(demo_wb, principal, row.id)) == before


async def test_a_bulk_batch_is_undone_as_one(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        vlist = app.screen.query_one("#inbox-list")
        picked = [i for i in range(vlist.total) if vlist.row_at(i).source == "annotation" and vlist.row_at(i).status != "triaged"][:4]
        for index in picked:
            vlist.move_cursor(index)
            await press(pilot, "space")
        rows = [r for r in vlist.selected_rows]
        before = {r.id: visible(annotations_service.get(demo_wb, principal, r.id)) for r in rows}
        await press(pilot, "b")
        dialog = app.screen
        assert isinstance(dialog, BulkDialog)
        dialog.query_one("#bulk-actions", OptionList).highlighted = next(i for i, (label, _) in enumerate(dialog.choices) if "triaged" in label)
        await press(pilot, "enter", "y")
        await wait_for(pilot, lambda: dialog.stage == "results")
        assert "then u undoes the whole batch" in screen_text(app)
        await press(pilot, "escape")
        assert all(annotations_service.get(demo_wb, principal, r.id).status == "triaged" for r in rows)
        await press(pilot, "u")
        await told_that(app, pilot, "Undid: Bulk: status → triaged on 4 rows")
        assert {r.id: visible(annotations_service.get(demo_wb, principal, r.id)) for r in rows} == before


async def test_the_history_survives_a_restart(tmp_path, seeded_ids):
    from tests.conftest import FIXED_MS
    from workbench.services.demo import load_demo

    wb = Workbench.open(str(tmp_path / "data"), mailer=None, clock=lambda: FIXED_MS)
    load_demo(wb)
    app = make_app(wb)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        row = await cursor_on(app, pilot, "new")
        await press(pilot, "i")
        await press(pilot, "q")
    wb.store.close()

    again = Workbench.open(str(tmp_path / "data"), mailer=None, clock=lambda: FIXED_MS)  # a new process's view of the store
    principal = local_user(again)
    assert annotations_service.get(again, principal, row.id).status == "in_progress"
    app = make_app(again)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await press(pilot, "u")
        await told_that(app, pilot, f"Undid: Status → in progress on …{row.id[-8:]}")
    assert annotations_service.get(again, principal, row.id).status == "new"
    again.store.close()


async def test_a_reply_is_undone_where_it_never_leaves_the_machine(app, demo_wb, principal):
    ann = inbox.window(demo_wb, principal, inbox.InboxFilter(sources=("annotation",)), 0, 1)[0]
    before = annotations_service.detail(demo_wb, principal, ann.id)["replies"]
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(AnnotationScreen(ann.id))
        await pilot.pause()
        await press(pilot, "c")
        assert isinstance(app.screen, FormDialog)
        assert "Undo (u) works: this workspace does not sync" in screen_text(app)
        await type_text(pilot, "On it")
        await press(pilot, "ctrl+s")
        assert len(annotations_service.detail(demo_wb, principal, ann.id)["replies"]) == len(before) + 1
        await press(pilot, "u")
        await told_that(app, pilot, f"Undid: Reply on …{ann.id[-8:]}")
        assert annotations_service.detail(demo_wb, principal, ann.id)["replies"] == before
        await press(pilot, "U")
        await told_that(app, pilot, "Redid: Reply")
        assert [r["body"] for r in annotations_service.detail(demo_wb, principal, ann.id)["replies"]][-1] == "On it"


async def test_what_cannot_be_undone_says_so_before_it_runs(app, demo_wb, principal):
    ann = inbox.window(demo_wb, principal, inbox.InboxFilter(sources=("annotation",)), 0, 1)[0]
    async with app.run_test(size=SIZE) as pilot:
        screen = AnnotationScreen(ann.id)
        await app.push_screen(screen)
        await pilot.pause()
        await press(pilot, "p")
        assert isinstance(app.screen, PersonaPicker)
        assert "Cannot be undone: the reviews stay on the thread" in screen_text(app)
        await press(pilot, "escape", "e")
        assert isinstance(app.screen, FormDialog)
        assert "Cannot be undone: the submitter is notified" in screen_text(app)
        await press(pilot, "escape")
        # A persona run is in the history only to be named: u says it cannot take it back, and
        # the next u reaches the action before it.
        await press(pilot, "t" if ann.status != "triaged" else "a")
        await press(pilot, "p", "ctrl+s")
        await wait_for(pilot, lambda: not screen.personas_running)
        await press(pilot, "u")
        await told_that(app, pilot, "Can't undo Persona reviews on")
        await press(pilot, "u")
        await told_that(app, pilot, "Undid: Status →")
        assert annotations_service.get(demo_wb, principal, ann.id).status == ann.status


async def test_a_comment_resolved_on_the_feedback_screen_is_reopened_by_u(app, demo_wb, principal):
    from workbench.services import feedback_sessions as fs_service
    from workbench.tui.screens.feedback import FeedbackScreen

    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await press(pilot, "2")
        screen = app.screen
        assert isinstance(screen, FeedbackScreen)
        sessions = screen.sessions
        index = next(i for i in range(sessions.total) if found(sessions.row_at(i)).session.status == "in_progress")
        sessions.move_cursor(index)
        await press(pilot, "tab")
        row = found(screen.sessions.current)
        open_index = next(i for i, c in enumerate(screen.comments.source_as(CommentSource).rows) if c.status == "open")
        screen.comments.move_cursor(open_index)
        comment_id = found(screen.comments.current).id
        await press(pilot, "r")

        def status() -> str:
            return {c.id: c.status for c in fs_service.list_comments(demo_wb, row.store, row.session.id)}[comment_id]

        assert status() == "resolved"
        await press(pilot, "u")
        await told_that(app, pilot, "Undid: Comment resolved")
        assert status() == "open"


async def test_a_note_edit_is_undone(app, demo_wb, principal):
    from textual.widgets import TextArea

    from workbench.services import test_sessions as ts_service
    from workbench.tui.screens.test_sessions import TestSessionsScreen

    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "3")
        screen = app.screen
        assert isinstance(screen, TestSessionsScreen)
        with_notes = [i for i in range(screen.sessions.total)
                      if found(screen.sessions.row_at(i)).status == "paused"
                      and ts_service.list_notes(demo_wb, principal, found(screen.sessions.row_at(i)).id)]
        screen.sessions.move_cursor(with_notes[0])
        session_id = found(screen.sessions.current).id
        before = [n.content for n in ts_service.list_notes(demo_wb, principal, session_id)]
        await press(pilot, "e")
        if len(before) > 1:
            await press(pilot, "enter")
        app.screen.query_one("#field-text", TextArea).text = "Rewritten"
        await press(pilot, "ctrl+s")
        assert "Rewritten" in [n.content for n in ts_service.list_notes(demo_wb, principal, session_id)]
        await press(pilot, "u")
        await told_that(app, pilot, "Undid: Note edited")
        assert [n.content for n in ts_service.list_notes(demo_wb, principal, session_id)] == before


def history_text(app) -> str:
    """The annotation screen's History section, as plain text at a width that keeps each line whole."""
    import io

    from rich.console import Console
    from textual.widgets import Static

    console = Console(width=200, file=io.StringIO(), record=True, color_system=None)
    console.print(app.screen.query_one("#ann-history", Static).content)
    return console.export_text()


async def test_the_history_lists_each_undo_and_redo_with_who_and_when(app, demo_wb, principal):
    """QA 4: after t, A, c, then u u u and U, History agrees with the fields: each undo and redo is a line."""
    ann = inbox.window(demo_wb, principal, inbox.InboxFilter(sources=("annotation",), status="ack"), 0, 1)[0]
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(AnnotationScreen(ann.id))
        await pilot.pause()
        await press(pilot, "t", "A", "down", "down", "enter")
        assignee = annotations_service.get(demo_wb, principal, ann.id).assignee_id
        name = dict(inbox.facets(demo_wb, principal).members)[found(assignee)]
        await press(pilot, "c")
        await type_text(pilot, "On it")
        await press(pilot, "ctrl+s", "u", "u", "u", "U")
        await told_that(app, pilot, "Redid: Status → triaged")
        now = annotations_service.get(demo_wb, principal, ann.id)
        assert (now.status, now.assignee_id) == ("triaged", None)
        lines = [line.split() for line in history_text(app).splitlines()]
        me = principal.display_name
        ours = [" ".join(words) for words in lines if " ".join(words).startswith(f"just now {me}")]
        assert ours[-7:] == [
            f"just now {me} status: ack → triaged",
            f"just now {me} assignee: — → {name}",
            f"just now {me} replied",
            f"just now {me} took a reply back (undo)",
            f"just now {me} assignee: {name} → — (undo)",
            f"just now {me} status: triaged → ack (undo)",
            f"just now {me} status: ack → triaged (redo)",
        ], ours


async def test_an_undo_that_changes_nothing_says_so_once(app, demo_wb, principal):
    """QA: the status had changed since, so `u` changed nothing, yet the notice read "Undid: …" and
    "1 left as they are: status of … changed since; left as it is"."""
    from workbench.domain.annotations import AnnotationPatch
    from workbench.tui.app import WorkbenchApp

    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        row = await cursor_on(app, pilot, "new")
        await press(pilot, "t")
        annotations_service.apply_patch(demo_wb, principal, row.id, AnnotationPatch(status="won_t_fix"))  # not in the history
        await press(pilot, "u")
        await told_that(app, pilot, "Not undone: Status → triaged")
        assert isinstance(app, WorkbenchApp)
        assert app.notices[-1][1] == f"Not undone: Status → triaged on …{row.id[-8:]}\nstatus of …{row.id[-8:]} changed since; left as it is"
        assert annotations_service.get(demo_wb, principal, row.id).status == "won_t_fix"
