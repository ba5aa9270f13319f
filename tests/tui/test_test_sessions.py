"""Test sessions: studies, sessions by status, complete, analyze (result appears when ready), confirm, notes, feedback."""

from __future__ import annotations

from textual.widgets import Select, Switch, TextArea

from tests.found import found
from tests.tui.conftest import SIZE, errors, paste, press, resized, screen_text, wait_for
from workbench.services import inbox
from workbench.services import test_sessions as ts_service
from workbench.tui.screens.test_sessions import TestSessionsScreen


async def open_tests(app, pilot) -> TestSessionsScreen:
    await press(pilot, "3")
    assert isinstance(app.screen, TestSessionsScreen)
    return app.screen


def select_status(screen: TestSessionsScreen, status: str) -> None:
    for i in range(screen.sessions.total):
        if found(screen.sessions.row_at(i)).status == status:
            screen.sessions.move_cursor(i)
            return
    raise AssertionError(f"no {status} session")


async def test_studies_and_their_sessions(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tests(app, pilot)
        studies = ts_service.list_studies(demo_wb, principal)
        assert screen.studies.total == len(studies) == 3
        study = found(screen.studies.current)[0]
        _, total = ts_service.list_for_study(demo_wb, principal, study.id)
        assert screen.sessions.total == total == 7
        await press(pilot, "f")
        dialog = app.screen
        dialog.query_one("#choices").highlighted = next(i for i, (_, v) in enumerate(dialog.options) if v == "handle")
        await press(pilot, "enter")
        assert {found(screen.sessions.row_at(i)).status for i in range(screen.sessions.total)} == {"completed", "analyzed"}
        # Another study: tab to the studies, move down.
        await press(pilot, "tab", "j")
        assert screen.session_source.study.id != study.id


async def test_complete_then_analyze_then_confirm(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tests(app, pilot)
        select_status(screen, "active")
        session_id = found(screen.sessions.current).id
        # Confirming an active session is not offered: C opens nothing.
        await press(pilot, "C")
        assert app.screen is screen and not errors(app)
        # Complete, analyze: the analysis runs in a worker and appears when ready.
        await press(pilot, "c", "y")  # each asks first: neither can be undone
        assert ts_service.get(demo_wb, principal, session_id).status == "completed"
        await press(pilot, "z", "y")
        await wait_for(pilot, lambda: ts_service.get(demo_wb, principal, session_id).status == "analyzed")
        await wait_for(pilot, lambda: "Analysis ready" in [m for _, m in app.notices])
        await pilot.pause()
        assert found(screen.sessions.current).id == session_id
        analysis = found(ts_service.get(demo_wb, principal, session_id).analysis)
        assert analysis["summary"][:40] in screen_text(app)
        # Confirm with a rating of 4 and a comment.
        await press(pilot, "C")
        dialog = app.screen
        await press(pilot, "enter", "down", "enter")  # rating select: 5 → 4
        assert dialog.query_one("#field-rating", Select).value == 4
        dialog.query_one("#field-comment", TextArea).text = "Clear notes."
        await press(pilot, "ctrl+s")
        got = ts_service.get(demo_wb, principal, session_id)
        assert (got.status, got.rating, got.confirm_comment, got.payout_queued) == ("confirmed", 4, "Clear notes.", True)


async def test_analyze_not_offered_when_not_completed(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tests(app, pilot)
        select_status(screen, "analyzed")
        session_id = found(screen.sessions.current).id
        await press(pilot, "z")
        assert not errors(app) and ts_service.get(demo_wb, principal, session_id).status == "analyzed"


async def test_notes_add_and_edit_and_refused_after_confirm(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tests(app, pilot)
        select_status(screen, "paused")
        session_id = found(screen.sessions.current).id
        before = ts_service.list_notes(demo_wb, principal, session_id)
        await press(pilot, "N")
        await paste(pilot, "Asked where the basket went")
        await press(pilot, "ctrl+s")
        notes = ts_service.list_notes(demo_wb, principal, session_id)
        assert len(notes) == len(before) + 1 and notes[-1].content == "Asked where the basket went"
        assert "Asked where the basket went" in screen_text(app)
        # Edit: pick the new note (the last one) when there are several.
        await press(pilot, "e")
        if len(notes) > 1:
            await press(pilot, "end", "enter")
        dialog = app.screen
        area = dialog.query_one("#field-text", TextArea)
        assert area.text == "Asked where the basket went"
        area.text = "Asked twice where the basket went"
        await press(pilot, "ctrl+s")
        notes = ts_service.list_notes(demo_wb, principal, session_id)
        assert notes[-1].content == "Asked twice where the basket went" and len(notes) == len(before) + 1
        # A confirmed session's notes are frozen: the add-note form is not offered.
        select_status(screen, "confirmed")
        await pilot.pause()
        await press(pilot, "N")
        assert app.screen is screen


async def test_tester_feedback_once(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tests(app, pilot)
        select_status(screen, "active")
        session_id = found(screen.sessions.current).id
        await press(pilot, "b")
        assert app.screen is screen  # not completed yet: no form
        await press(pilot, "c", "y", "b")
        dialog = app.screen
        dialog.query_one("#field-technical", Switch).value = True
        dialog.query_one("#field-comment", TextArea).text = "The back button broke."
        await press(pilot, "ctrl+s")
        fb = inbox.test_session_feedback(demo_wb, principal, session_id)
        assert (fb.clarity, fb.difficulty, fb.technical_issues, fb.comment) == (4, 2, True, "The back button broke.")
        assert "technical issues: yes" in screen_text(app)
        await press(pilot, "b")  # feedback already given: the form does not open again
        assert app.screen is screen


async def test_a_session_left_analyzing_can_be_resumed(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tests(app, pilot)
        select_status(screen, "analyzing")
        session_id = found(screen.sessions.current).id
        await pilot.pause()
        assert "Analysis running" in screen_text(app)
        await press(pilot, "z")
        await wait_for(pilot, lambda: ts_service.get(demo_wb, principal, session_id).status == "analyzed")


async def test_inbox_test_row_opens_on_this_screen(app):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        vlist = app.screen.query_one("#inbox-list")
        index = next(i for i in range(vlist.total) if vlist.row_at(i).source == "test")
        vlist.move_cursor(index)
        row = vlist.current
        await press(pilot, "enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TestSessionsScreen)
        assert found(screen.sessions.current).id == row.id
        assert app.focused is screen.sessions


async def test_the_preview_head_wraps_between_its_facts_never_inside_one(app):
    """At 80 columns the head of a rated, paid session wrapped inside "rated ★★★★★": "rated" ended one line."""
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_tests(app, pilot)
        select_status(screen, "confirmed")
        await pilot.pause()
        session = found(screen.sessions.current)
        assert session.rating and session.payout_queued
        for width in (80, 64, 200):
            lines = await resized(app, pilot, width, "#ts-detail-body")
            head = next(i for i, line in enumerate(lines) if f"{session.tester_id} · variant" in line)
            shown = lines[head:head + 3]
            for fact in (f"variant {session.variant}", "rated " + "★" * session.rating, "payout queued"):
                assert any(fact in line for line in shown), (width, shown)
            assert ("payout queued" in lines[head]) == (width == 200), (width, shown)


async def test_an_analysis_says_when_the_offline_engine_stood_in_and_odd_fields_draw_nothing(app, demo_wb, principal):
    """An analysis written by the offline engine for a configured one that failed says why (it read as
    "offline" alone, as if none were configured); a replica's analysis, as its server sent it, may hold a
    number where text goes or a string where the findings list goes: those are left out, not drawn as a
    crash. Its text still goes through screen_safe (an escape sequence shows as ``\\x1b``)."""
    from storage import test_sessions as repo

    odd = {
        "summary": "Checkout \x1b[2Jconfused them", "findings": "not a list", "sentiment": 3, "engine": "offline",
        "fallbackReason": "openai-compatible:tiny-model: ConnectError", "analyzedAt": "2026-12-05T01:17:48Z",
    }
    with demo_wb.store.write() as db:
        analyzed = [r[0] for r in db.execute("SELECT id FROM test_sessions WHERE status = 'analyzed'")]
        for session_id in analyzed:
            repo.update_session(db, session_id, {"analysis": odd})
    assert analyzed
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tests(app, pilot)
        select_status(screen, "analyzed")
        await wait_for(pilot, lambda: "ConnectError" in screen_text(app))
        text = screen_text(app)
        assert "Written by the offline engine, as the configured one failed: openai-compatible:tiny-model: ConnectError" in text
        assert "Analysis (, offline) Checkout \\x1b[2Jconfused them" in text
        assert "not a list" not in text and not errors(app)


async def test_the_sessions_list_offers_no_open_and_the_studies_list_does(app, demo_wb, principal):
    """A study opens its sessions on enter; a session is acted on by c/z/C/N, and its list (focused
    first) offered "⏎ Open", which did nothing."""
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tests(app, pilot)
        assert app.focused is screen.sessions and "⏎ Open" not in screen_text(app).splitlines()[-1]
        await press(pilot, "tab")
        assert app.focused is screen.studies and "⏎ Open" in screen_text(app).splitlines()[-1]
        await press(pilot, "tab")
        before = screen_text(app)
        await press(pilot, "enter")
        assert screen_text(app) == before and app.screen is screen and not errors(app)


async def test_editing_a_note_names_whose_session_it_is(app, demo_wb, principal):
    """"Add a note — user_demo000" named the session; "Edit which note?" and "Edit note" did not, and a
    reviewer going through several sessions' notes (offline, then settling a note's conflict) could
    not tell from the dialog which tester's note was open."""
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tests(app, pilot)
        select_status(screen, "paused")
        session = found(screen.sessions.current)
        assert len(ts_service.list_notes(demo_wb, principal, session.id)) > 1
        await press(pilot, "e")
        assert f"Edit which note of {session.tester_id}?" in screen_text(app)
        await press(pilot, "enter")
        assert isinstance(app.screen.query_one("#field-text", TextArea), TextArea)
        assert f"Edit a note — {session.tester_id}" in screen_text(app)


def next_step(screen: TestSessionsScreen) -> str:
    cell = screen.session_source.cells(found(screen.sessions.current))[-1]
    return cell if isinstance(cell, str) else cell.plain


async def test_next_step_says_what_can_be_done_not_who_did_it(app, demo_wb, principal):
    """A paused session's next step said "tester paused", though the reviewer may have paused it
    (p) here: it offers what resumes it, as a completed one offers what analyzes it."""
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_tests(app, pilot)
        select_status(screen, "active")
        session_id = found(screen.sessions.current).id
        assert next_step(screen) == "tester is running"
        await press(pilot, "p")
        await wait_for(pilot, lambda: ts_service.get(demo_wb, principal, session_id).status == "paused")
        await wait_for(pilot, lambda: found(screen.sessions.current).status == "paused")
        assert found(screen.sessions.current).id == session_id
        assert next_step(screen) == "resume (r)"
        assert "tester paused" not in screen_text(app)
