"""Feedback sessions: start, the phase actions (with the domain's refusals shown), comments and resolve."""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.widgets import OptionList

from storage import feedback_sessions as fs_repo
from tests.found import found
from tests.tui.conftest import SIZE, errors, press, screen_text, told, wait_for
from workbench.domain import feedback_sessions as fs_domain
from workbench.services import feedback_sessions as fs_service
from workbench.services import stores
from workbench.tui.screens.feedback import CommentSource, FeedbackScreen, SessionSource
from workbench.tui.screens.forms import ChoiceDialog, ConfirmDialog
from workbench.tui.widgets.virtual_list import GUTTER, VirtualList


def store_named(wb, principal, name: str):  # ANN201
    return next(s for s in stores.list_stores(wb, principal) if s.name == name)


def select_session(screen: FeedbackScreen, store_name: str, status: str) -> None:
    for i, row in enumerate(screen.sessions.source_as(SessionSource).rows):
        if row.store.name == store_name and row.session.status == status:
            screen.sessions.move_cursor(i)
            return
    raise AssertionError(f"no {status} session on {store_name}")


async def open_feedback(app, pilot) -> FeedbackScreen:
    await press(pilot, "2")
    assert isinstance(app.screen, FeedbackScreen)
    return app.screen


def shown_rows(app, vlist: VirtualList) -> list[dict[str, str]]:
    """The rows of ``vlist`` as the terminal shows them: {column label: cell text}, cut where the screen cuts."""
    region = vlist.scrollable_content_region
    lines = screen_text(app).splitlines()[region.y : region.bottom]
    header, *rows = [line[region.x : region.right].ljust(region.width) for line in lines]
    widths = vlist.layout_widths(region.width)
    rows_cells = []
    for line in [header, *rows]:
        cells, x = [], GUTTER
        for width in widths:
            cells.append(line[x : x + width].strip())
            x += width + 1
        rows_cells.append(cells)
    labels = rows_cells[0]
    assert labels == [c.label for c in vlist.columns]
    return [dict(zip(labels, cells, strict=True)) for cells in rows_cells[1:] if any(cells)]


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
        comments = fs_service.list_comments(demo_wb, found(screen.sessions.current).store, found(screen.sessions.current).session.id)
        assert screen.comments.total == len(comments)
        rows = shown_rows(app, screen.comments)
        assert [(r["STATUS"], r["PAGE"]) for r in rows] == [(c.status, c.page_path) for c in comments]
        assert ("open", "/checkout") in [(r["STATUS"], r["PAGE"]) for r in rows]  # the demo's promo code comment


async def test_comments_list_shows_the_task_instruction(app, demo_wb):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_feedback(app, pilot)
        select_session(screen, "Acme outlet (AI-built)", "in_review")
        await press(pilot, "tab")
        assert app.focused is screen.comments
        row = found(screen.sessions.current)
        comments = fs_service.list_comments(demo_wb, row.store, row.session.id)
        assert comments and all(c.task_instruction for c in comments)
        # At 120 columns the comment and its task instruction both stay readable, side by side.
        widths = dict(zip([c.label for c in screen.comments.columns],
                          screen.comments.layout_widths(screen.comments.scrollable_content_region.width), strict=True))
        assert widths["COMMENT"] >= 30 and widths["TASK"] >= 30
        rows = shown_rows(app, screen.comments)
        assert len(rows) == len(comments)
        for shown, comment in zip(rows, comments, strict=True):
            task = found(comment.task_instruction)
            assert shown["TASK"] == (task if len(task) <= widths["TASK"] else task[: widths["TASK"] - 1] + "…")
            assert shown["PAGE"] == comment.page_path
        assert any(r["TASK"].endswith("…") for r in rows)  # long ones are cut, not wrapped
        # The preview still shows the highlighted comment's whole instruction.
        assert f"task {comments[0].task_instruction}" in screen_text(app)


async def test_start_deploys_in_a_worker(app, demo_wb, principal):
    store = store_named(demo_wb, principal, "Acme storefront (AI-built)")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_feedback(app, pilot)
        await press(pilot, "n")
        dialog = app.screen
        assert isinstance(dialog, ChoiceDialog)
        index = next(i for i, (_, value) in enumerate(dialog.options) if value == store.id)
        dialog.query_one("#choices", OptionList).highlighted = index
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
            dialog.query_one("#choices", OptionList).highlighted = index
            await press(pilot, "enter")
            assert app.screen is dialog
            assert reason in str(dialog.query_one("#form-error").render())
        await press(pilot, "escape")
        assert fs_service.list_sessions(demo_wb, plain)[1]["count"] == 0


async def test_cancel_is_not_offered_past_preparing_and_finalize_works(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_feedback(app, pilot)
        select_session(screen, "Acme outlet (AI-built)", "in_review")
        session_id = found(screen.sessions.current).session.id
        await press(pilot, "x")  # the transition table has no in_review → cancel: nothing to confirm
        assert app.screen is screen and not errors(app)
        await press(pilot, "F", "y")
        store = store_named(demo_wb, principal, "Acme outlet (AI-built)")
        assert fs_service.get(demo_wb, store, session_id)["status"] == "done"
        # Finalizing again: the round is over, F is not offered.
        select_session(screen, "Acme outlet (AI-built)", "done")
        await press(pilot, "F")
        assert app.screen is screen and not errors(app)


async def test_finalize_not_offered_while_processing(app):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_feedback(app, pilot)
        select_session(screen, "Acme home (AI-built)", "processing")
        await press(pilot, "F")
        assert app.screen is screen and not errors(app)


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
    from textual.widgets._footer import FooterKey

    from workbench.tui.widgets.footer import Footer

    def r_says() -> str | None:
        # The footer's word for r, as drawn: it said "Resolve" on a resolved comment, which r reopens.
        return next((str(k.description) for k in app.screen.query_one(Footer).query(FooterKey) if k.action == "resolve"), None)

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_feedback(app, pilot)
        select_session(screen, "Acme kids (AI-built)", "in_progress")
        row = found(screen.sessions.current)
        await press(pilot, "tab")
        assert app.focused is screen.comments
        open_index = next(i for i, c in enumerate(screen.comments.source_as(CommentSource).rows) if c.status == "open")
        screen.comments.move_cursor(open_index)
        comment_id = found(screen.comments.current).id
        await wait_for(pilot, lambda: r_says() == "Resolve")
        await press(pilot, "r")
        comments = {c.id: c for c in fs_service.list_comments(demo_wb, row.store, row.session.id)}
        assert comments[comment_id].status == "resolved"
        progress = fs_service.get(demo_wb, row.store, row.session.id)["progress"]
        assert progress["label"] in screen_text(app)
        await wait_for(pilot, lambda: r_says() == "Reopen")
        await press(pilot, "r")
        comments = {c.id: c for c in fs_service.list_comments(demo_wb, row.store, row.session.id)}
        assert comments[comment_id].status == "open"
        await wait_for(pilot, lambda: r_says() == "Resolve")


async def test_resolve_not_offered_on_a_finished_session(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_feedback(app, pilot)
        select_session(screen, "Acme outlet (AI-built)", "done")
        row = found(screen.sessions.current)
        before = [c.status for c in fs_service.list_comments(demo_wb, row.store, row.session.id)]
        await press(pilot, "tab", "r")
        assert not errors(app)
        assert [c.status for c in fs_service.list_comments(demo_wb, row.store, row.session.id)] == before


@pytest.mark.parametrize(("store_name", "status", "greyed"), [
    ("Acme kids (AI-built)", "in_progress", False),
    ("Acme outlet (AI-built)", "done", True),
])
async def test_the_footer_follows_the_comments_list_and_greys_resolve_on_a_finished_round(app, store_name, status, greyed):
    """At 80 columns the round's phase keys filled the footer and cut ``r Resolve`` even with the
    comments focused; now the focused list's keys lead, greyed where the round is done (README's rule)."""
    from textual.widgets._footer import FooterKey

    from workbench.tui.widgets.footer import Footer

    def footer() -> list[tuple[str, bool]]:
        return [(k.action, k.has_class("-disabled")) for k in app.screen.query_one(Footer).query(FooterKey)]

    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_feedback(app, pilot)
        select_session(screen, store_name, status)
        await wait_for(pilot, lambda: [a for a, _ in footer()][:2] == ["activate", "start"])  # the sessions' keys
        assert "resolve" not in [a for a, _ in footer()]
        await press(pilot, "tab")
        assert app.focused is screen.comments
        await wait_for(pilot, lambda: [a for a, _ in footer()][:2] == ["activate", "resolve"])
        assert dict(footer())["resolve"] is greyed
        await press(pilot, "tab")  # back to the sessions: their keys lead again
        await wait_for(pilot, lambda: "resolve" not in [a for a, _ in footer()])


async def test_status_filter(app):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_feedback(app, pilot)
        await press(pilot, "f")
        dialog = app.screen
        index = next(i for i, (_, value) in enumerate(dialog.options) if value == "done")
        dialog.query_one("#choices", OptionList).highlighted = index
        await press(pilot, "enter")
        assert screen.sessions.total == 2
        assert all(r.session.status == "done" for r in screen.sessions.source_as(SessionSource).rows)


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
        assert found(screen.sessions.current).session.id == comment.parent_id
        assert found(screen.comments.current).id == comment.id
        assert app.focused is screen.comments


# --- phase actions: start work (w), submit (s), back to review (b), approve tasks (a) ---------


def select_session_id(screen: FeedbackScreen, session_id: str) -> None:
    for i, row in enumerate(screen.sessions.source_as(SessionSource).rows):
        if row.session.id == session_id:
            screen.sessions.move_cursor(i)
            return
    raise AssertionError(f"session {session_id} is not listed")


async def focus_comment(pilot, screen: FeedbackScreen, session_id: str, comment_id: str) -> None:
    """The comments pane focused on one comment of a session (its preview shown)."""
    select_session_id(screen, session_id)
    await pilot.pause()
    screen.comments.focus()
    screen.comments.move_cursor(next(i for i, c in enumerate(screen.comments.source_as(CommentSource).rows) if c.id == comment_id))


@pytest.mark.parametrize(
    ("store_name", "before", "key", "after", "yes", "question", "notice"),
    [
        ("Acme outlet (AI-built)", "in_review", "w", "in_progress", "Start work", "Start working through the comments", "Work started"),
        ("Acme kids (AI-built)", "in_progress", "s", "task_review", "Submit round", "Submit the round on Acme kids (AI-built)",
         "Round submitted for task review"),
        ("Acme outlet (AI-built)", "in_review", "s", "task_review", "Submit round", "for task review?", "Round submitted"),
        ("Acme gear (AI-built)", "task_review", "b", "in_review", "Return to review", "Return the round on Acme gear (AI-built)",
         "Round returned to review"),
        ("Acme gear (AI-built)", "task_review", "a", "processing", "Approve tasks", "Approve the tasks of the round on Acme gear",
         "Tasks approved"),
    ],
)
async def test_phase_action_key_and_confirm_apply_the_transition(
    app, demo_wb, principal, store_name, before, key, after, yes, question, notice
):
    store = store_named(demo_wb, principal, store_name)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_feedback(app, pilot)
        select_session(screen, store_name, before)
        session_id = found(screen.sessions.current).session.id
        await press(pilot, key)
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert dialog.yes == yes  # a human label, not "Start_work"
        assert question in Text.from_markup(dialog.message).plain
        await press(pilot, "y")
        assert isinstance(app.screen, FeedbackScreen)
        assert fs_service.get(demo_wb, store, session_id)["status"] == after
        assert not errors(app)
        assert any(notice in m for m in told(app))
        # The list shows the new status without a manual refresh.
        assert found(screen.sessions.current).session.id == session_id
        assert found(screen.sessions.current).session.status == after


async def test_phase_action_answered_no_changes_nothing(app, demo_wb, principal):
    store = store_named(demo_wb, principal, "Acme gear (AI-built)")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_feedback(app, pilot)
        select_session(screen, store.name, "task_review")
        session_id = found(screen.sessions.current).session.id
        await press(pilot, "a")
        assert isinstance(app.screen, ConfirmDialog)
        await press(pilot, "n")
        assert isinstance(app.screen, FeedbackScreen)
        assert fs_service.get(demo_wb, store, session_id)["status"] == "task_review"
        assert not told(app)


async def test_a_round_walks_the_table_through_the_keys(app, demo_wb, principal):
    """in_review → in_progress → task_review → in_review → task_review → processing, then the builder's turn."""
    store = store_named(demo_wb, principal, "Acme outlet (AI-built)")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_feedback(app, pilot)
        select_session(screen, store.name, "in_review")
        session_id = found(screen.sessions.current).session.id
        for key, status in (("w", "in_progress"), ("s", "task_review"), ("b", "in_review"), ("s", "task_review"), ("a", "processing")):
            select_session_id(screen, session_id)
            await press(pilot, key, "y")
            assert fs_service.get(demo_wb, store, session_id)["status"] == status, key
        assert not errors(app)
        # Processing: finalize waits for the builder, and approving again is not offered.
        await press(pilot, "F", "a")
        assert app.screen is screen and not errors(app)
        assert fs_service.get(demo_wb, store, session_id)["status"] == "processing"
        # Offline no builder reports back: D records that it finished, and the round is back in review.
        await press(pilot, "D", "y")
        assert fs_service.get(demo_wb, store, session_id)["status"] == "in_review"
        assert not errors(app)


async def test_a_failed_builder_interrupts_the_round(app, demo_wb, principal):
    store = store_named(demo_wb, principal, "Acme home (AI-built)")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_feedback(app, pilot)
        select_session(screen, store.name, "processing")
        session_id = found(screen.sessions.current).session.id
        await press(pilot, "E")
        assert isinstance(app.screen, ConfirmDialog)
        await press(pilot, "y")
        got = fs_service.get(demo_wb, store, session_id)
        assert got["status"] == "interrupted" and got["errorMessage"] == "The builder failed to apply the tasks"


@pytest.mark.parametrize(
    ("store_name", "status", "key", "action"),
    [
        ("Acme home (AI-built)", "processing", "w", "start_work"),
        ("Acme home (AI-built)", "processing", "s", "submit_round"),
        ("Acme kids (AI-built)", "in_progress", "b", "return_to_review"),
        ("Acme outlet (AI-built)", "done", "s", "submit_round"),
        ("Acme storefront (AI-built)", "canceled", "a", "approve_tasks"),
        ("Acme outlet (AI-built)", "in_review", "a", "approve_tasks"),
        ("Acme outlet (AI-built)", "in_review", "x", "cancel"),
        ("Acme outlet (AI-built)", "in_review", "D", "builder_finished"),
    ],
)
async def test_phase_actions_the_table_refuses_are_not_offered(app, demo_wb, principal, store_name, status, key, action):
    assert not fs_domain.can(status, action)
    store = store_named(demo_wb, principal, store_name)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_feedback(app, pilot)
        select_session(screen, store_name, status)
        await pilot.pause()
        session_id = found(screen.sessions.current).session.id
        assert screen.active_bindings[key].enabled is False  # greyed out in the footer
        await press(pilot, key)
        assert app.screen is screen  # no confirm dialog for a refusal
        assert not errors(app)
        assert fs_service.get(demo_wb, store, session_id)["status"] == status


async def test_a_long_page_path_leaves_the_comment_preview_room_for_the_comment(app, demo_wb):
    """QA: a comment's page path was printed whole, so a long one wrapped over the preview's few lines at
    80×24 and the comment itself was out of sight. The path is cut with "…" to the preview's width, after a
    resize too, and the reviewer and the comment stay in view."""
    session_id, token = demo_wb.store.db.execute("SELECT id, review_token FROM feedback_sessions WHERE status = 'in_review'").fetchone()
    comment = fs_service.add_comment(demo_wb, session_id, token, fs_domain.CommentCreate(
        content="The voucher field rejects valid codes", pagePath="/landing/" + "deep/" * 60, reviewerName="Dee"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_feedback(app, pilot)
        await focus_comment(pilot, screen, session_id, comment.id)
        for width in (80, 60, 120):
            await pilot.resize_terminal(width, 24)
            preview = screen.query_one("#preview")
            await wait_for(pilot, lambda w=width, p=preview: p.region.right <= w and "/landing/deep" in screen_text(app))
            await pilot.pause()
            region = preview.region
            lines = [line[region.x : region.right].strip() for line in screen_text(app).splitlines()[region.y : region.bottom]]
            assert [line for line in lines if line.startswith("open  /landing/deep/") and "…  by Dee · " in line], (width, lines)
            assert "The voucher field rejects valid codes" in lines, (width, lines)


async def test_an_eta_under_a_minute_away_reads_in_under_1m_not_in_now(app):
    """QA: a round in review whose ETA was seconds away showed "in now" in the ETA column."""
    from datetime import UTC, datetime

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_feedback(app, pilot)
        source = screen.sessions.source_as(SessionSource)
        row = source.rows[0]
        soon = datetime.fromtimestamp((screen.now() + 30_000) / 1000, UTC).isoformat().replace("+00:00", "Z")
        later = datetime.fromtimestamp((screen.now() + 3 * 3_600_000 + 1_800_000) / 1000, UTC).isoformat().replace("+00:00", "Z")
        row.progress = {"fillPct": 45.0, "label": "1/2 resolved", "eta": soon}
        assert str(source.cells(row)[3]) == "in <1m"
        row.progress = {"fillPct": 45.0, "label": "1/2 resolved", "eta": later}
        assert str(source.cells(row)[3]) == "in 3h"


async def test_on_a_replica_a_comments_reviewer_is_not_called_anonymous(tmp_path):
    """QA: offline, a comment Rita left on the review page read "by anonymous": the documented API's
    comments carry no reviewer name, so a replica never knows it. Unknown is not anonymous."""
    from pathlib import Path

    from tests.sync.conftest import Hub
    from tests.tui.conftest import make_app
    from workbench.domain.feedback_sessions import CommentCreate

    hub = Hub(Path(tmp_path))
    try:
        store = found(fs_repo.get_store(hub.wb.store.db, hub.creds["store_id"]))
        started = fs_service.start(hub.wb, store)
        fs_service.deploy(hub.wb, started.id, env={})
        token = found(fs_repo.get_session_any(hub.wb.store.db, started.id)).review_token
        fs_service.add_comment(hub.wb, started.id, token, CommentCreate(content="The button is hidden", pagePath="/", reviewerName="Rita"))
        r = hub.replica(sessions=True)
        assert r.sync().ok
        app = make_app(r.wb)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_feedback(app, pilot)
            select_session(screen, store.name, "in_review")
            await wait_for(pilot, lambda: screen.comments.total == 1)
            await press(pilot, "tab")
            await wait_for(pilot, lambda: "The button is hidden" in screen_text(app))
            assert "anonymous" not in screen_text(app)
            source = screen.comments.source_as(CommentSource)
            assert source.reviewer(None) is None and source.reviewer("Rita") == "Rita"
    finally:
        hub.close()
