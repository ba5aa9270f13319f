"""Undo in a replica of a real `workbench serve` (over TCP): before a sync the undone change never goes up,
after one the undo is a compensating change (or a conflict), and a reply can be undone only until it is sent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import TextArea

from tests.served_remote import Served, served
from tests.tui.conftest import SIZE, cursor_on, make_app, press, screen_text, told, told_that, type_text, wait_for
from workbench.services import annotations as annotations_service
from workbench.services import sync as sync_svc
from workbench.services.context import Workbench
from workbench.services.local import local_user
from workbench.tui.screens.annotation import AnnotationScreen
from workbench.tui.screens.forms import FormDialog
from workbench.tui.screens.persona_picker import PersonaPicker
from workbench.tui.screens.test_sessions import StudySource


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[Served]:
    with served(tmp_path) as s:
        yield s


@pytest.fixture
def replica(remote: Served, tmp_path: Path) -> Iterator[Workbench]:
    wb = remote.replica(tmp_path / "local")
    yield wb
    wb.store.close()




def pending(wb: Workbench) -> int:
    return sync_svc.status(wb).pending


async def test_before_sync_an_undone_change_never_goes_up(remote, replica):
    app = make_app(replica)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        row = await cursor_on(app, pilot, "new")
        await press(pilot, "a")
        assert pending(replica) == 1
        await press(pilot, "u")
        await told_that(app, pilot, "Undid: Status → ack")
        assert pending(replica) == 0  # a status set, then undone: no entry left
        # Two changes, both undone: the entries go as the value comes back to the server's.
        await press(pilot, "t", "i")
        assert pending(replica) == 2
        await press(pilot, "u")
        await told_that(app, pilot, "Undid: Status → in progress")
        # triaged is still not the server's value: the first entry carries it up, alone.
        assert pending(replica) == 1
        await press(pilot, "u")
        await told_that(app, pilot, "Undid: Status → triaged")
        assert pending(replica) == 0
    report = remote.sync(replica)
    assert report.sent == 0
    assert remote.annotation(row.id)["status"] == "new"


async def test_after_sync_the_undo_is_sent_as_a_compensating_change(remote, replica):
    app = make_app(replica)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        row = await cursor_on(app, pilot, "new")
        await press(pilot, "A", "down", "enter")  # assign to someone
        await press(pilot, "a")
        remote.sync(replica)
        assert remote.annotation(row.id)["status"] == "ack" and remote.annotation(row.id)["assignee_id"]
        await press(pilot, "u", )
        await told_that(app, pilot, "Undid: Status → ack")
        await press(pilot, "u")
        await told_that(app, pilot, "Undid: Assigned to")
        assert pending(replica) == 2
    remote.sync(replica)
    server = remote.annotation(row.id)
    assert (server["status"], server["assignee_id"]) == ("new", None)
    assert pending(replica) == 0


async def test_after_sync_an_undo_meeting_a_change_on_the_server_is_a_conflict(remote, replica):
    app = make_app(replica)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        row = await cursor_on(app, pilot, "new")
        await press(pilot, "a")
        remote.sync(replica)
        remote.patch(row.id, status="in_progress")  # someone else, meanwhile
        await press(pilot, "u")
        await told_that(app, pilot, "Undid: Status → ack")
    report = remote.sync(replica)
    assert report.conflicts == 1
    [conflict] = sync_svc.conflicts(replica)
    assert (conflict.entity_id, conflict.field, conflict.mine, conflict.theirs) == (row.id, "status", "new", "in_progress")
    assert remote.annotation(row.id)["status"] == "in_progress"  # nothing overwritten silently


async def test_a_reply_is_undone_only_before_it_is_sent(remote, replica):
    principal = local_user(replica)
    app = make_app(replica)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        row = await cursor_on(app, pilot, "new")
        before = [r["body"] for r in remote.annotation(row.id)["replies"]]
        await app.push_screen(AnnotationScreen(row.id))
        await pilot.pause()
        await press(pilot, "c")
        assert isinstance(app.screen, FormDialog)
        said = " ".join(screen_text(app).split())
        assert "Undo (u) works until a sync sends it; a sent reply cannot be taken back" in said
        await type_text(pilot, "draft")
        await press(pilot, "ctrl+s")
        assert pending(replica) == 1
        await press(pilot, "u")
        await told_that(app, pilot, "Undid: Reply on")
        assert pending(replica) == 0
        assert "draft" not in [r["body"] for r in annotations_service.detail(replica, principal, row.id)["replies"]]

        await press(pilot, "c")
        area = app.screen.query_one(TextArea)
        assert area.text == "draft"  # the undone reply's text, back as the draft
        area.clear()
        await type_text(pilot, "sent")
        await press(pilot, "ctrl+s")
        remote.sync(replica)
        await press(pilot, "u")
        await told_that(app, pilot, "Can't undo Reply on")
        assert any("a reply, once sent, has reached the reviewer" in m for m in told(app))
        await press(pilot, "u")  # the sent reply is final: u goes on to the action before it
        await told_that(app, pilot, "Nothing to undo")
    assert [r["body"] for r in remote.annotation(row.id)["replies"]] == [*before, "sent"]


async def test_a_persona_run_says_it_cannot_be_undone_before_it_runs(replica):
    app = make_app(replica)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        row = await cursor_on(app, pilot, "new")
        await app.push_screen(AnnotationScreen(row.id))
        await pilot.pause()
        await press(pilot, "p")
        assert isinstance(app.screen, PersonaPicker)
        assert "Cannot be undone: the reviews are posted as replies on the server" in " ".join(screen_text(app).split())


# -- the sessions' phase actions (store key and JWT given) ------------------------------------------


@pytest.fixture
def session_replica(remote: Served, tmp_path: Path) -> Iterator[tuple[Workbench, str, str]]:
    """A replica with, on the server, a tester's active session and a round in review: (wb, test session, round)."""
    import time

    test_session = remote.as_tester("POST", "/api/sessions", json={"jobId": remote.creds["job_id"], "testerId": "tess"})["sessionId"]
    round_id = remote.as_store("POST", "/api/v1/feedback-sessions")["id"]
    deadline = time.monotonic() + 30
    while remote.as_store("GET", f"/api/v1/feedback-sessions/{round_id}")["status"] != "in_review":  # deployed in the background
        assert time.monotonic() < deadline, "the preview never deployed"
        time.sleep(0.05)
    wb = remote.replica(tmp_path / "local", sessions=True)
    yield wb, test_session, round_id
    wb.store.close()


async def test_a_pause_is_undone_through_the_outbox(remote, session_replica):
    from workbench.tui.screens.test_sessions import TestSessionsScreen

    wb, session_id, _ = session_replica

    def on_server() -> str:
        return remote.as_tester("GET", f"/api/sessions/{session_id}")["status"]

    app = make_app(wb)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "3")
        screen = app.screen
        assert isinstance(screen, TestSessionsScreen)
        study = next(s for s, _ in screen.studies.source_as(StudySource).rows if s.id == remote.creds["job_id"])
        screen.focus_item(study.id, session_id)
        await pilot.pause()
        await press(pilot, "p")
        assert pending(wb) == 1
        await press(pilot, "u")  # before a sync: the pause and its undo cancel, nothing goes up
        await told_that(app, pilot, "Undid: Test session paused (tess)")
        assert pending(wb) == 0
        await press(pilot, "U")
        await told_that(app, pilot, "Redid: Test session paused (tess)")
        assert remote.sync(wb).sent == 1
        assert on_server() == "paused"
        await press(pilot, "u")  # after it: a resume, sent like any change
        await told_that(app, pilot, "Undid: Test session paused (tess)")
        assert pending(wb) == 1
        remote.sync(wb)
    assert on_server() == "active"
    assert pending(wb) == 0


async def test_a_submitted_round_is_returned_to_review_through_the_outbox(remote, session_replica):
    from tests.tui.test_feedback_sessions import select_session_id
    from workbench.tui.screens.feedback import FeedbackScreen

    wb, _, round_id = session_replica

    def on_server() -> str:
        return remote.as_store("GET", f"/api/v1/feedback-sessions/{round_id}")["status"]

    app = make_app(wb)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "2")
        screen = app.screen
        assert isinstance(screen, FeedbackScreen)
        select_session_id(screen, round_id)
        await press(pilot, "s", "y")
        assert pending(wb) == 1
        await press(pilot, "u")
        await told_that(app, pilot, "Undid: Round submitted for task review")
        assert pending(wb) == 0
        assert remote.sync(wb).sent == 0
        select_session_id(screen, round_id)
        await press(pilot, "s", "y")
        remote.sync(wb)
        assert on_server() == "task_review"
        await press(pilot, "u")
        await told_that(app, pilot, "Undid: Round submitted for task review")
        assert pending(wb) == 1
        remote.sync(wb)
        assert on_server() == "in_review"
        # Finalizing cannot be undone: u says so and sends nothing.
        select_session_id(screen, round_id)
        await press(pilot, "F")
        assert "Cannot be undone: a finalized round is done" in " ".join(screen_text(app).split())
        await press(pilot, "y")
        remote.sync(wb)
        await press(pilot, "u")
        await told_that(app, pilot, "Can't undo Round finalized on")
        assert pending(wb) == 0
    assert on_server() == "done"




def _history_text(screen: AnnotationScreen) -> str:
    import io

    from rich.console import Console
    from textual.widgets import Static

    console = Console(width=160, file=io.StringIO(), color_system=None, record=True)
    console.print(screen.query_one("#ann-history", Static).content)
    return console.export_text()


def _local_user_and_record(replica):  # ANN202
    """The replica's local user, and the user row whose name the history should show."""
    from storage import accounts as accounts_repo

    principal = local_user(replica)
    user = accounts_repo.get_user(replica.store.db, principal.user_id or "")
    assert user is not None
    return principal, user


async def test_the_history_names_the_replicas_own_changes_by_the_users_name(remote, replica):
    # The replica's local user is no member the server lists, so its own changes read as its id
    # ("01a2…c55c  status: new → ack") while the thread above named the same person.
    principal, user = _local_user_and_record(replica)
    app = make_app(replica)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        row = await cursor_on(app, pilot, "new")
        screen = AnnotationScreen(row.id)
        await app.push_screen(screen)
        await pilot.pause()
        await press(pilot, "a")
        await told_that(app, pilot, "Status → ack")
        await wait_for(pilot, lambda: "status: new → ack" in _history_text(screen))
        line = next(li for li in _history_text(screen).splitlines() if "status: new → ack" in li)
        assert user.name in line and (principal.user_id or "") not in line


async def test_a_resolution_attached_on_a_replica_does_not_claim_the_submitter_was_notified(remote, replica, tmp_path: Path):
    # deliver() leaves a replica's resolution pending (its server notifies once a sync sends it);
    # the notice said "submitter notified (pending)", which the offline reviewer reads as done.
    app = make_app(replica)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        row = await cursor_on(app, pilot, "new")
        await app.push_screen(AnnotationScreen(row.id))
        await pilot.pause()
        await press(pilot, "e")
        dialog = app.screen
        assert isinstance(dialog, FormDialog)
        dialog.query_one("#field-explanation", TextArea).text = "Raised the contrast to 4.5:1."
        await pilot.pause()
        await press(pilot, "ctrl+s")
        await told_that(app, pilot, "Resolution attached")
        notice = next(m for m in told(app) if "Resolution attached" in m)
        assert "notified (" not in notice and "once a sync sends it" in notice


async def test_a_settled_conflict_in_the_history_names_who_settled_it(remote, replica):
    # Keep mine / take theirs were recorded with the actor "sync" and no remote: the history read
    # "someone on  (via sync)  sync conflict on status: kept mine", though the reviewer settled it here.
    from workbench.domain.annotations import AnnotationPatch

    principal, user = _local_user_and_record(replica)
    app = make_app(replica)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        row = await cursor_on(app, pilot, "new")
    annotations_service.patch(replica, principal, row.id, AnnotationPatch(status="ack"))
    remote.patch(row.id, status="triaged")
    assert remote.sync(replica).conflicts == 1
    [conflict] = sync_svc.conflicts(replica)
    sync_svc.settle(replica, keep_mine_ids=[conflict.id], take_theirs_ids=[])
    app = make_app(replica)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = AnnotationScreen(row.id)
        await app.push_screen(screen)
        await wait_for(pilot, lambda: "kept mine" in _history_text(screen))
        line = next(li for li in _history_text(screen).splitlines() if "kept mine" in li)
        assert user.name in line and "someone on" not in line, line
