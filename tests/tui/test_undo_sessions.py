"""Undo of the feedback-session and test-session actions (screens 2 and 3) in a workspace that does not sync.

Where the transition table leads straight back (pause and resume; a round submitted from review
and returned to review) ``u`` takes the action back and ``U`` makes it again. Every other action
says "Cannot be undone: …" in its dialog before it runs, and ``u`` afterwards names it, says why
it cannot, and the next ``u`` reaches the action before it. tests/tui/test_undo_sync.py does the
same against a server.
"""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.widgets import OptionList

from tests.found import found
from tests.tui.conftest import SIZE, press, screen_text, told, told_that, wait_for
from tests.tui.test_feedback_sessions import select_session, select_session_id, store_named
from workbench.domain.annotations import AnnotationPatch
from workbench.services import annotations as annotations_service
from workbench.services import feedback_sessions as fs_service
from workbench.services import inbox
from workbench.services import test_sessions as ts_service
from workbench.services import undo as undo_service
from workbench.tui.screens.feedback import FeedbackScreen
from workbench.tui.screens.forms import ChoiceDialog, ConfirmDialog, FormDialog
from workbench.tui.screens.test_sessions import TestSessionsScreen


def one_line(app) -> str:
    """The screen's text with its wrapping undone (a dialog's words may wrap anywhere)."""
    return " ".join(screen_text(app).split())


def an_earlier_action(wb, principal) -> tuple[str, str]:
    """An undoable action made before the test's: ``u`` must reach it once past the final one.
    Returns the annotation's id and its status before."""
    ann = next(r for r in inbox.window(wb, principal, inbox.InboxFilter(sources=("annotation",)), 0, 50) if r.status == "new")
    undo_service.apply_patch(wb, principal, ann.id, AnnotationPatch(status="ack"))
    return ann.id, "new"


async def undone_then_redone(app, pilot, label: str, status, before: str, after: str) -> None:
    """``u`` takes the action named ``label`` back to ``before``; ``U`` makes it again, to ``after``."""
    await press(pilot, "u")
    await told_that(app, pilot, f"Undid: {label}")
    assert status() == before
    await press(pilot, "U")
    await told_that(app, pilot, f"Redid: {label}")
    assert status() == after


async def open_feedback(app, pilot) -> FeedbackScreen:
    await press(pilot, "2")
    assert isinstance(app.screen, FeedbackScreen)
    return app.screen


async def open_tests(app, pilot) -> TestSessionsScreen:
    await press(pilot, "3")
    assert isinstance(app.screen, TestSessionsScreen)
    return app.screen


async def on_test_session(screen: TestSessionsScreen, pilot, session_id: str) -> None:
    index = next(i for i in range(screen.sessions.total) if found(screen.sessions.row_at(i)).id == session_id)
    screen.sessions.move_cursor(index)
    await pilot.pause()


# -- test sessions ---------------------------------------------------------------------------------


async def test_pause_and_resume_are_undone_by_u_and_redone_by_U(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tests(app, pilot)
        active = found(next(screen.sessions.row_at(i) for i in range(screen.sessions.total) if found(screen.sessions.row_at(i)).status == "active"))

        def status() -> str:
            return ts_service.get(demo_wb, principal, active.id).status

        await on_test_session(screen, pilot, active.id)
        await press(pilot, "p")
        assert status() == "paused"
        await undone_then_redone(app, pilot, f"Test session paused ({active.tester_id})", status, "active", "paused")
        await on_test_session(screen, pilot, active.id)
        await press(pilot, "r")
        assert status() == "active"
        await undone_then_redone(app, pilot, f"Test session resumed ({active.tester_id})", status, "paused", "active")


async def test_test_session_actions_that_cannot_be_undone_say_so_before_and_after(app, demo_wb, principal):
    """complete, tester feedback, a new note, analyze, confirm: each dialog says why not; u then names each, newest first."""
    from textual.widgets import TextArea

    ann_id, was = an_earlier_action(demo_wb, principal)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tests(app, pilot)
        s = found(next(screen.sessions.row_at(i) for i in range(screen.sessions.total) if found(screen.sessions.row_at(i)).status == "active"))
        who = s.tester_id

        await on_test_session(screen, pilot, s.id)
        await press(pilot, "c")
        assert isinstance(app.screen, ConfirmDialog)
        assert "Cannot be undone: a completed test session cannot be resumed" in Text.from_markup(app.screen.message).plain
        await press(pilot, "y")
        await on_test_session(screen, pilot, s.id)
        await press(pilot, "b")
        assert isinstance(app.screen, FormDialog)
        assert "Cannot be undone: a tester's feedback is given once per session" in one_line(app)
        await press(pilot, "ctrl+s")
        await press(pilot, "N")
        assert "Cannot be undone: the notes API cannot delete a note once it is created" in one_line(app)
        app.screen.query_one("#field-text", TextArea).text = "Lost the basket twice"
        await press(pilot, "ctrl+s")
        await press(pilot, "z")
        assert isinstance(app.screen, ConfirmDialog)
        assert "Cannot be undone: an analysis runs once it is asked for" in Text.from_markup(app.screen.message).plain
        await press(pilot, "y")
        await wait_for(pilot, lambda: ts_service.get(demo_wb, principal, s.id).status == "analyzed")
        await on_test_session(screen, pilot, s.id)
        await press(pilot, "C")
        assert "Cannot be undone: confirming queues the tester's payout" in one_line(app)
        await press(pilot, "ctrl+s")
        assert ts_service.get(demo_wb, principal, s.id).status == "confirmed"

        for label, why in (("Test session confirmed", "queues the tester's payout"), ("Test session analysis", "runs once it is asked for"),
                           ("Note added", "cannot delete a note"), ("Tester feedback", "once per session"),
                           ("Test session completed", "cannot be resumed")):
            await press(pilot, "u")
            await told_that(app, pilot, f"Can't undo {label} ({who}): ")
            assert any(why in m and "Press u again for the action before it" in m for m in told(app))
        assert ts_service.get(demo_wb, principal, s.id).status == "confirmed"
        assert [n.content for n in ts_service.list_notes(demo_wb, principal, s.id)][-1] == "Lost the basket twice"
        await press(pilot, "u")  # past the final ones: the action before them
        await told_that(app, pilot, f"Undid: Status → ack on …{ann_id[-8:]}")
        assert annotations_service.get(demo_wb, principal, ann_id).status == was
        assert [a["state"] for a in undo_service.history(demo_wb, principal, 6)] == ["final"] * 5 + ["undone"]


# -- feedback sessions -----------------------------------------------------------------------------


async def test_a_round_submitted_from_review_is_returned_by_u_and_submitted_again_by_U(app, demo_wb, principal):
    store = store_named(demo_wb, principal, "Acme outlet (AI-built)")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_feedback(app, pilot)
        select_session(screen, store.name, "in_review")
        session_id = found(screen.sessions.current).session.id

        def status() -> str:
            return fs_service.get(demo_wb, store, session_id)["status"]

        await press(pilot, "s")
        assert "Undo (u) works: it goes back to in review" in Text.from_markup(app.screen.message).plain
        await press(pilot, "y")
        assert status() == "task_review"
        await undone_then_redone(app, pilot, f"Round submitted for task review on {store.name}", status, "in_review", "task_review")
        # Back to review is undone the other way: submitted again.
        select_session_id(screen, session_id)
        await press(pilot, "b")
        assert "Undo (u) works: it goes back to task review" in Text.from_markup(app.screen.message).plain
        await press(pilot, "y")
        assert status() == "in_review"
        await undone_then_redone(app, pilot, f"Round returned to review on {store.name}", status, "task_review", "in_review")


@pytest.mark.parametrize(
    ("store_name", "before", "key", "after", "why", "label"),
    [
        ("Acme outlet (AI-built)", "in_review", "F", "done", "a finalized round is done", "Round finalized"),
        ("Acme outlet (AI-built)", "in_review", "w", "in_progress", "no action takes a round in progress back to review", "Work started"),
        ("Acme kids (AI-built)", "in_progress", "s", "task_review", "a round submitted from in progress can only go back to review",
         "Round submitted for task review"),
        ("Acme gear (AI-built)", "task_review", "a", "processing", "approved tasks go to the builder", "Tasks approved"),
        ("Acme home (AI-built)", "processing", "D", "in_review", "the builder's report is recorded", "Builder finished"),
        ("Acme home (AI-built)", "processing", "E", "interrupted", "an interrupted round is finished", "Builder failed"),
        ("Acme storefront (AI-built)", "created", "x", "canceled", "a canceled round is finished", "Round canceled"),
    ],
)
async def test_phase_actions_that_cannot_be_undone_say_so_before_and_after(
    app, demo_wb, principal, store_name, before, key, after, why, label
):
    store = store_named(demo_wb, principal, store_name)
    if before == "created":
        fs_service.start(demo_wb, store)  # preparing: not deployed yet
    ann_id, was = an_earlier_action(demo_wb, principal)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_feedback(app, pilot)
        select_session(screen, store_name, before)
        session_id = found(screen.sessions.current).session.id
        await press(pilot, key)
        assert isinstance(app.screen, ConfirmDialog)
        assert f"Cannot be undone: {why}" in Text.from_markup(app.screen.message).plain
        await press(pilot, "y")
        assert fs_service.get(demo_wb, store, session_id)["status"] == after
        await press(pilot, "u")
        await told_that(app, pilot, f"Can't undo {label} on {store_name}: {why}")
        assert fs_service.get(demo_wb, store, session_id)["status"] == after
        await press(pilot, "u")
        await told_that(app, pilot, f"Undid: Status → ack on …{ann_id[-8:]}")
        assert annotations_service.get(demo_wb, principal, ann_id).status == was


async def test_starting_a_round_says_it_cannot_be_undone(app, demo_wb, principal):
    store = store_named(demo_wb, principal, "Acme storefront (AI-built)")
    rounds = fs_service.list_sessions(demo_wb, store)[1]["count"]
    async with app.run_test(size=SIZE) as pilot:
        await open_feedback(app, pilot)
        await press(pilot, "n")
        dialog = app.screen
        assert isinstance(dialog, ChoiceDialog)
        assert "Cannot be undone: a started round stays listed" in one_line(app)
        dialog.query_one("#choices", OptionList).highlighted = next(i for i, (_, value) in enumerate(dialog.options) if value == store.id)
        await press(pilot, "enter")
        await wait_for(pilot, lambda: any("Preview deployed" in m for m in told(app)))
        await press(pilot, "u")
        await told_that(app, pilot, f"Can't undo Round started on {store.name}: a started round stays listed")
        assert fs_service.list_sessions(demo_wb, store)[1]["count"] == rounds + 1  # still there
        await press(pilot, "u")
        await told_that(app, pilot, "Nothing to undo")
