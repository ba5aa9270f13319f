"""Writes leave the UI thread (workbench/tui/writes.py): thread workers, in order, outcome shown on completion.

The slow write is real: another connection holds SQLite's write lock (as another process
committing would), so the worker's ``BEGIN IMMEDIATE`` waits on the busy timeout while the
test goes on pressing keys. Nothing sleeps: each step waits for the condition it needs.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from textual.message import Message
from textual.widgets import Button
from textual.worker import Worker, WorkerState

from storage import db as sqlite_store
from tests.disk_limit import pages_capped
from tests.found import found
from tests.tui.conftest import SIZE, cursor_on, errors, make_app, press, told, told_that, type_text, wait_for, writes_landed
from workbench.domain.annotations import AnnotationPatch, ReplyCreate
from workbench.services import annotations as annotations_service
from workbench.services import inbox
from workbench.services import undo as undo_service
from workbench.tui.messages import ActionRefused, ActionSucceeded
from workbench.tui.screens.annotation import AnnotationScreen
from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.screens.forms import FormDialog
from workbench.tui.widgets.virtual_list import VirtualList
from workbench.tui.writes import WRITE_GROUP


@contextmanager
def write_lock_held(wb) -> Iterator[sqlite3.Connection]:
    """Another connection in the middle of a write transaction: every other writer waits."""
    other = sqlite3.connect(wb.store.path, isolation_level=None, timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield other
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()


def status_of(wb, principal, annotation_id: str) -> str:
    return annotations_service.get(wb, principal, annotation_id).status


def new_annotation_row(vlist: VirtualList) -> int:
    return next(i for i in range(vlist.total) if found(vlist.row_at(i)).source == "annotation" and found(vlist.row_at(i)).status == "new")


async def test_the_ui_handles_keys_while_a_write_waits_on_the_lock(demo_wb, principal):
    app = make_app(demo_wb)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        vlist = app.screen.query_one("#inbox-list", VirtualList)
        vlist.move_cursor(new_annotation_row(vlist))
        target = found(vlist.current)
        with write_lock_held(demo_wb) as other:
            await pilot.press("a")  # ack: its worker now waits for the lock
            await pilot.press("t")  # triaged: queued behind it
            assert not app.writes.idle
            cursor = vlist.cursor
            await pilot.press("j")  # the UI still handles a key meanwhile…
            assert vlist.cursor == cursor + 1
            await pilot.press("question_mark")  # …and opens a screen
            assert app.screen.__class__.__name__ == "HelpScreen"
            await pilot.press("question_mark")
            assert status_of(demo_wb, principal, target.id) == "new"  # nothing landed yet
            other.execute("ROLLBACK")  # the other writer is done: the queued writes go through
            await wait_for(pilot, lambda: app.writes.idle, timeout=20)
        await pilot.pause()
        # In the order asked: ack, then triaged; both shown once they landed.
        assert status_of(demo_wb, principal, target.id) == "triaged"
        assert told(app)[-2:] == ["Status → ack", "Status → triaged"]
        assert not errors(app)
        assert found(vlist.row_at(cursor)).status == "triaged"  # the list shows the change


async def reply_form(app, pilot, annotation_id: str) -> tuple[AnnotationScreen, FormDialog]:
    """The annotation's screen, and its reply form opened with ``c``."""
    await pilot.pause()
    screen = AnnotationScreen(annotation_id)
    await app.push_screen(screen)
    await press(pilot, "c")
    dialog = app.screen
    assert isinstance(dialog, FormDialog)
    return screen, dialog


async def test_a_form_stays_open_saying_saving_until_its_write_lands(demo_wb, principal):
    ann = inbox.window(demo_wb, principal, inbox.InboxFilter(sources=("annotation",), status="new"), 0, 1)[0]
    before = len(annotations_service.detail(demo_wb, principal, ann.id)["replies"])
    app = make_app(demo_wb)
    async with app.run_test(size=SIZE) as pilot:
        screen, dialog = await reply_form(app, pilot, ann.id)
        await type_text(pilot, "On it")
        with write_lock_held(demo_wb) as other:
            await pilot.press("ctrl+s")
            submit = dialog.query_one("#submit", Button)
            assert dialog.saving and submit.disabled and str(submit.label) == "Saving…"
            await pilot.press("escape")  # the write is on its way: esc does not pretend to cancel it
            await pilot.press("ctrl+s")  # nor does a second submit send it twice
            assert app.screen is dialog
            other.execute("ROLLBACK")
            await wait_for(pilot, lambda: app.screen is screen, timeout=20)
        await wait_for(pilot, lambda: "Reply posted" in told(app))  # the dialog's result reached the screen
        replies = annotations_service.detail(demo_wb, principal, ann.id)["replies"]
        assert len(replies) == before + 1 and replies[-1]["body"] == "On it"


async def test_a_refused_write_keeps_the_form_open_with_the_reason(demo_wb, principal):
    ann = inbox.window(demo_wb, principal, inbox.InboxFilter(sources=("annotation",), status="new"), 0, 1)[0]
    app = make_app(demo_wb)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.push_screen(AnnotationScreen(ann.id))
        await press(pilot, "c")
        dialog = app.screen
        assert isinstance(dialog, FormDialog)
        await press(pilot, "ctrl+s")  # an empty reply: the domain refuses it in the worker
        assert app.screen is dialog and not dialog.saving and not dialog.query_one("#submit", Button).disabled
        assert str(dialog.query_one("#form-error").render()).strip()


async def test_write_workers_report_through_messages(demo_wb, principal):
    """As harlequin tests its workers: the messages the app saw, in order."""
    seen: list[Message] = []
    app = make_app(demo_wb)
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, WorkbenchScreen)
        ann = inbox.window(demo_wb, principal, inbox.InboxFilter(sources=("annotation",), status="new"), 0, 1)[0]
        screen.write(annotations_service.apply_patch, demo_wb, principal, ann.id, AnnotationPatch(status="ack"), succeeded="acked")
        screen.write(annotations_service.apply_patch, demo_wb, principal, "no-such-annotation", AnnotationPatch(status="ack"))
        await writes_landed(pilot)

    states: dict[Worker, list[WorkerState]] = {}
    for m in seen:
        if isinstance(m, Worker.StateChanged) and m.worker.group == WRITE_GROUP:
            states.setdefault(m.worker, []).append(m.state)
    # Two thread workers, one per write, each run to its end (a refusal is an outcome, not a crash).
    assert [w.name for w in states] == ["apply_patch", "apply_patch"]
    assert all(s == [WorkerState.PENDING, WorkerState.RUNNING, WorkerState.SUCCESS] for s in states.values())
    first, second = states
    assert first.is_finished and second.is_finished
    outcomes = [m for m in seen if isinstance(m, ActionSucceeded | ActionRefused)]
    assert [type(m) for m in outcomes] == [ActionSucceeded, ActionRefused]
    acked, refused = outcomes
    assert isinstance(acked, ActionSucceeded) and isinstance(refused, ActionRefused)  # as just asserted; narrows the types
    assert acked.text == "acked" and acked.payload.changes
    assert "not found" in refused.reason.lower()
    assert status_of(demo_wb, principal, ann.id) == "ack"


async def test_u_pressed_while_a_write_waits_undoes_that_write(demo_wb, principal):
    # Undo joins the write queue: run at once, it would take back the action before the one
    # still waiting on the lock, and the waiting one would then land with nothing to undo it.
    app = make_app(demo_wb)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        target = await cursor_on(app, pilot, "new")
        with write_lock_held(demo_wb) as other:
            await pilot.press("t")  # triaged: waits for the lock
            await pilot.press("u")  # queued behind it
            assert status_of(demo_wb, principal, target.id) == "new"
            other.execute("ROLLBACK")
            await wait_for(pilot, lambda: app.writes.idle, timeout=20)
        await told_that(app, pilot, f"Undid: Status → triaged on …{target.id[-8:]}")
        assert status_of(demo_wb, principal, target.id) == "new"
        assert not errors(app)


def disk_full_text(wb) -> str:
    return f"cannot write to the store in {wb.store.data_dir}: the disk is full (SQLITE_FULL); free space there and try again: nothing was changed"


HUGE_REPLY = "🙂" * 20_000  # the longest reply there is: 80 KB, some 20 pages


async def test_a_write_the_disk_refuses_is_a_notice_and_the_queue_goes_on(demo_wb, principal):
    """Issue: a full disk mid-session. The write queue's worker tells it as a notice (where, what to do,
    nothing saved) instead of an "Unexpected error", the app goes on, and the next write lands."""
    ann = inbox.window(demo_wb, principal, inbox.InboxFilter(sources=("annotation",), status="new"), 0, 1)[0]
    before = len(annotations_service.detail(demo_wb, principal, ann.id)["replies"])
    app = make_app(demo_wb)
    # Thread workers run on the loop's pooled threads; with one, the reply below surely runs on the
    # thread whose connection just committed the ack.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(1))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, WorkbenchScreen)
        with pages_capped(demo_wb.store) as free:
            # A small write still finds room; it is an action of its own, so the reply's notice below
            # says that nothing of the reply was saved, not that something before it stays.
            screen.write(undo_service.apply_patch, demo_wb, principal, ann.id, AnnotationPatch(status="ack"), succeeded="acked")
            screen.write(undo_service.reply, demo_wb, principal, ann.id, ReplyCreate(body=HUGE_REPLY), succeeded="Reply posted")
            await writes_landed(pilot)
            assert status_of(demo_wb, principal, ann.id) == "ack"
            assert errors(app) == [disk_full_text(demo_wb)]
            assert len(annotations_service.detail(demo_wb, principal, ann.id)["replies"]) == before
            free()
            screen.write(undo_service.reply, demo_wb, principal, ann.id, ReplyCreate(body=HUGE_REPLY), succeeded="Reply posted")
            await writes_landed(pilot)
        assert app.is_running and app.screen is screen
        await told_that(app, pilot, "Reply posted")
        assert len(annotations_service.detail(demo_wb, principal, ann.id)["replies"]) == before + 1


async def test_a_write_another_writer_keeps_out_is_a_notice_in_words_and_the_next_one_lands(demo_wb, principal, monkeypatch):
    """A sync or another command holding the store past the busy timeout: the TUI said "Unexpected error:
    OperationalError". Now the notice says who holds it and what to do, and nothing of the write was made."""
    monkeypatch.setattr(sqlite_store, "BUSY_TIMEOUT_MS", 200)  # read as each thread connects and as each write waits
    ann = inbox.window(demo_wb, principal, inbox.InboxFilter(sources=("annotation",), status="new"), 0, 1)[0]
    app = make_app(demo_wb)
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(1))  # a new thread: its connection gets the 200 ms
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, WorkbenchScreen)
        with write_lock_held(demo_wb):
            screen.write(undo_service.apply_patch, demo_wb, principal, ann.id, AnnotationPatch(status="ack"), succeeded="acked")
            await writes_landed(pilot)
            assert errors(app) == [f"cannot write to the store in {demo_wb.store.data_dir}: another writer has held it for over 0.2 s "
                                   "(SQLITE_BUSY); wait for that writer to finish and try again: nothing was changed"]
            assert status_of(demo_wb, principal, ann.id) == "new"
        screen.write(undo_service.apply_patch, demo_wb, principal, ann.id, AnnotationPatch(status="ack"), succeeded="acked")
        await writes_landed(pilot)
        await told_that(app, pilot, "acked")
    assert status_of(demo_wb, principal, ann.id) == "ack"


async def test_a_form_whose_write_the_disk_refuses_stays_open_saying_so(demo_wb, principal):
    """A form's refusal is shown in the form, which keeps what was typed: a full disk too, and once
    there is room the same submit saves it."""
    ann = inbox.window(demo_wb, principal, inbox.InboxFilter(sources=("annotation",), status="new"), 0, 1)[0]
    before = len(annotations_service.detail(demo_wb, principal, ann.id)["replies"])
    app = make_app(demo_wb)
    async with app.run_test(size=SIZE) as pilot:
        screen, dialog = await reply_form(app, pilot, ann.id)
        dialog.set_value("text", HUGE_REPLY)
        with pages_capped(demo_wb.store) as free:
            await press(pilot, "ctrl+s")
            assert app.screen is dialog and not dialog.saving
            assert str(dialog.query_one("#form-error").render()) == disk_full_text(demo_wb)
            assert dialog.values()["text"] == HUGE_REPLY
            free()
            await press(pilot, "ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen)
        assert len(annotations_service.detail(demo_wb, principal, ann.id)["replies"]) == before + 1


async def test_q_pressed_while_writes_wait_quits_once_they_land(demo_wb, principal):
    """QA: `t` then `q` at once lost the change. Quitting cancelled the write's worker before its thread
    ran and dropped the writes queued behind it, though the screen had already said they were asked."""
    app = make_app(demo_wb)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        target = await cursor_on(app, pilot, "new")
        with write_lock_held(demo_wb) as other:
            await pilot.press("a")  # ack: waits for the lock
            await pilot.press("t")  # triaged: queued behind it
            await pilot.press("q")
            await pilot.pause()
            assert app.is_running  # still saving: the app says so instead of quitting
            await told_that(app, pilot, "Saving")
            other.execute("ROLLBACK")
            await wait_for(pilot, lambda: app.return_code is not None or not app.is_running, timeout=20)
    assert status_of(demo_wb, principal, target.id) == "triaged"


async def test_a_write_refused_while_quitting_keeps_the_app_open_with_the_reason(demo_wb, principal):
    """Quitting waits for the writes to land; one that is refused was not saved, so the app stays to say why."""
    app = make_app(demo_wb)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, WorkbenchScreen)
        with write_lock_held(demo_wb) as other:
            screen.write(annotations_service.apply_patch, demo_wb, principal, "no-such-annotation", AnnotationPatch(status="ack"))
            await pilot.press("q")
            other.execute("ROLLBACK")
            await writes_landed(pilot)
        assert app.is_running and app.screen is screen
        assert any("not found" in e.lower() for e in errors(app))
        await pilot.press("q")  # asked again, with nothing left to save: it quits
        await wait_for(pilot, lambda: app.return_code is not None or not app.is_running)


async def test_quitting_with_an_unsent_form_asks_first(demo_wb, principal):
    """QA: ctrl+q in a form quit at once and what was typed there was gone. Quitting now asks
    while a form holds text not sent; "no" goes back to it as it was, "yes" (or ctrl+q again) quits."""
    from workbench.tui.screens.forms import ConfirmDialog

    async def persona_form(app, pilot) -> FormDialog:
        await pilot.pause()
        await press(pilot, "4", "n")
        dialog = app.screen
        assert isinstance(dialog, FormDialog)
        return dialog

    app = make_app(demo_wb)
    async with app.run_test(size=SIZE) as pilot:
        await persona_form(app, pilot)
        await pilot.press("ctrl+q")  # nothing typed yet: nothing to lose, no question
        await wait_for(pilot, lambda: app.return_code is not None or not app.is_running)
    app = make_app(demo_wb)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await persona_form(app, pilot)
        await type_text(pilot, "Nora, night-shift nurse")
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        ask = app.screen
        assert isinstance(ask, ConfirmDialog) and app.is_running and "persona" in ask.message
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is dialog)
        assert dialog.values()["name"] == "Nora, night-shift nurse"
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("ctrl+q")  # asked twice: the user means it
        await wait_for(pilot, lambda: app.return_code is not None or not app.is_running)


async def test_quitting_over_a_reply_keeps_it_as_the_draft_without_asking(demo_wb, principal, monkeypatch):
    """QA: ctrl+q within a pause of typing a reply asked "Quit and lose it?", though esc keeps the
    text as the annotation's draft. A quit keeps it the same way, on the write queue it waits for."""
    from workbench.services import drafts
    from workbench.tui.screens import reply

    monkeypatch.setattr(reply, "DRAFT_DELAY", 3600)  # no pause has kept it yet
    ann = inbox.window(demo_wb, principal, inbox.InboxFilter(sources=("annotation",), status="new"), 0, 1)[0]
    app = make_app(demo_wb)
    async with app.run_test(size=SIZE) as pilot:
        await reply_form(app, pilot, ann.id)
        await type_text(pilot, "A long careful reply")
        assert drafts.load(demo_wb, principal, ann.id) is None
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: app.return_code is not None or not app.is_running)
    kept = drafts.load(demo_wb, principal, ann.id)
    assert kept is not None and kept.text == "A long careful reply"
