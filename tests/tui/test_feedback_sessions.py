"""Feedback sessions: start, cancel, finalize (with the documented refusals shown), comments and resolve."""

from __future__ import annotations

from storage import feedback_sessions as fs_repo
from tests.tui.conftest import SIZE, errors, press, screen_text, wait_for
from workbench.services import feedback_sessions as fs_service
from workbench.services import stores
from workbench.tui.screens.feedback import FeedbackScreen
from workbench.tui.screens.forms import ChoiceDialog, ConfirmDialog


def store_named(wb, principal, name: str):  # noqa: ANN001, ANN201
    return next(s for s in stores.list_stores(wb, principal) if s.name == name)


def select_session(screen: FeedbackScreen, store_name: str, status: str) -> None:
    for i, row in enumerate(screen.sessions.source.rows):
        if row.store.name == store_name and row.session.status == status:
            screen.sessions.move_cursor(i)
            return
    raise AssertionError(f"no {status} session on {store_name}")


async def open_feedback(app, pilot) -> FeedbackScreen:  # noqa: ANN001
    await press(pilot, "2")
    assert isinstance(app.screen, FeedbackScreen)
    return app.screen


async def test_sessions_list_with_progress(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_feedback(app, pilot)
        assert screen.sessions.total == 8
        text = screen_text(app)
        assert "100.0% 6/7 resolved" in text  # a done round reads full
        assert "No comments" in text
        assert "█" in text
        # The highlighted session's comments are listed with page path and status.
        select_session(screen, "Acme outlet (AI-built)", "in_review")
        await pilot.pause()
        assert screen.comments.total == len(fs_service.list_comments(demo_wb, screen.sessions.current.store, screen.sessions.current.session.id))
        assert "/checkout" in screen_text(app) or "/" in screen_text(app)


async def test_start_deploys_in_a_worker(app, demo_wb, principal):
    store = store_named(demo_wb, principal, "Acme storefront (AI-built)")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_feedback(app, pilot)
        await press(pilot, "n")
        dialog = app.screen
        assert isinstance(dialog, ChoiceDialog)
        index = next(i for i, (_, value) in enumerate(dialog.options) if value == store.id)
        dialog.query_one("#choices").highlighted = index
        await press(pilot, "enter")
        assert isinstance(app.screen, FeedbackScreen)
        await wait_for(pilot, lambda: any("Preview deployed" in m for _, m in app.notices))
        active = fs_repo.active_session(demo_wb.store.db, store.id, ["created", "in_review"])
        assert active is not None and active.status == "in_review" and active.deployment_url
        await pilot.pause()
        assert screen.sessions.total == 9


async def test_start_refusals_are_shown_in_the_dialog(app, demo_wb, principal):
    busy = store_named(demo_wb, principal, "Acme outlet (AI-built)")
    plain = store_named(demo_wb, principal, "Acme classic store")
    async with app.run_test(size=SIZE) as pilot:
        await open_feedback(app, pilot)
        await press(pilot, "n")
        dialog = app.screen
        for store, reason in ((busy, "A feedback session is already in progress"), (plain, "Store is not AI-built")):
            index = next(i for i, (_, value) in enumerate(dialog.options) if value == store.id)
            dialog.query_one("#choices").highlighted = index
            await press(pilot, "enter")
            assert app.screen is dialog
            assert reason in str(dialog.query_one("#form-error").render())
        await press(pilot, "escape")
        assert fs_service.list_sessions(demo_wb, plain)[1]["count"] == 0


async def test_cancel_is_refused_past_preparing_and_finalize_works(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_feedback(app, pilot)
        select_session(screen, "Acme outlet (AI-built)", "in_review")
        session_id = screen.sessions.current.session.id
        await press(pilot, "x")
        assert isinstance(app.screen, ConfirmDialog)
        await press(pilot, "y")
        assert "Session is past the preparing phase (finalize instead)" in errors(app)
        await press(pilot, "F", "y")
        store = store_named(demo_wb, principal, "Acme outlet (AI-built)")
        assert fs_service.get(demo_wb, store, session_id)["status"] == "done"
        # Finalizing again: the round is over.
        select_session(screen, "Acme outlet (AI-built)", "done")
        await press(pilot, "F", "y")
        assert "Session is already done" in errors(app)


async def test_finalize_refused_while_processing(app):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_feedback(app, pilot)
        select_session(screen, "Acme home (AI-built)", "processing")
        await press(pilot, "F", "y")
        assert any(m.startswith("Session is processing") for m in errors(app))


async def test_cancel_a_preparing_session(app, demo_wb, principal):
    store = store_named(demo_wb, principal, "Acme storefront (AI-built)")
    session = fs_service.start(demo_wb, store)  # created, not deployed yet
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_feedback(app, pilot)
        select_session(screen, store.name, "created")
        await press(pilot, "x", "y")
        assert fs_service.get(demo_wb, store, session.id)["status"] == "canceled"
        assert not errors(app)


async def test_resolve_and_reopen_a_comment(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_feedback(app, pilot)
        select_session(screen, "Acme kids (AI-built)", "in_progress")
        row = screen.sessions.current
        await press(pilot, "tab")
        assert app.focused is screen.comments
        open_index = next(i for i, c in enumerate(screen.comments.source.rows) if c.status == "open")
        screen.comments.move_cursor(open_index)
        comment_id = screen.comments.current.id
        await press(pilot, "r")
        comments = {c.id: c for c in fs_service.list_comments(demo_wb, row.store, row.session.id)}
        assert comments[comment_id].status == "resolved"
        progress = fs_service.get(demo_wb, row.store, row.session.id)["progress"]
        assert progress["label"] in screen_text(app)
        await press(pilot, "r")
        comments = {c.id: c for c in fs_service.list_comments(demo_wb, row.store, row.session.id)}
        assert comments[comment_id].status == "open"


async def test_resolve_refused_on_a_finished_session(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_feedback(app, pilot)
        select_session(screen, "Acme outlet (AI-built)", "done")
        await press(pilot, "tab", "r")
        assert "Session is already done" in errors(app)


async def test_status_filter(app):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_feedback(app, pilot)
        await press(pilot, "f")
        dialog = app.screen
        index = next(i for i, (_, value) in enumerate(dialog.options) if value == "done")
        dialog.query_one("#choices").highlighted = index
        await press(pilot, "enter")
        assert screen.sessions.total == 2
        assert all(r.session.status == "done" for r in screen.sessions.source.rows)


async def test_opening_a_comment_from_the_inbox_lands_on_it(app):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        vlist = app.screen.query_one("#inbox-list")
        index = next(i for i in range(vlist.total) if vlist.row_at(i).source == "comment")
        vlist.move_cursor(index)
        comment = vlist.current
        await press(pilot, "enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, FeedbackScreen)
        assert screen.sessions.current.session.id == comment.parent_id
        assert screen.comments.current.id == comment.id
        assert app.focused is screen.comments
