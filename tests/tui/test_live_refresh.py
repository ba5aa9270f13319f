"""Live: another process changes the store; open screens refresh within a second, keeping selection and scroll."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from textual.widgets import Static

from tests.found import found
from tests.tui.conftest import FIXED_MS, SIZE, make_app, press, screen_text, wait_for
from workbench.services import annotations as annotations_service
from workbench.services import inbox
from workbench.tui.screens.annotation import AnnotationScreen
from workbench.tui.screens.feedback import FeedbackScreen, SessionSource
from workbench.tui.screens.inbox import InboxScreen
from workbench.tui.screens.test_sessions import TestSessionsScreen

ROOT = Path(__file__).resolve().parents[2]

PATCH = """
import sys
from workbench.domain.annotations import AnnotationPatch
from workbench.services import annotations
from workbench.services.context import Workbench
from workbench.services.local import local_user
wb = Workbench.open(sys.argv[1], mailer=None)
annotations.patch(wb, local_user(wb), sys.argv[2], AnnotationPatch(status=sys.argv[3]))
"""


async def watcher_up(pilot, app) -> None:
    """Wait until the app's store watcher reports changes: touch the store (a no-op write of the
    schema version) until it has seen one. How long the watcher takes to start depends on the machine."""
    from storage.db import SCHEMA_VERSION

    seen = app.store_changes

    def reported() -> bool:
        if app.store_changes > seen:
            return True
        with app.wb.store.write() as db:
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        return False

    await wait_for(pilot, reported, timeout=20)


def other_process(data_dir: Path, ann_id: str, status: str) -> None:
    subprocess.run([sys.executable, "-c", PATCH, str(data_dir), ann_id, status], cwd=ROOT, check=True, timeout=60)


PRELUDE = """
import json, sys
from workbench.services.context import Workbench
from workbench.services.local import local_user
wb = Workbench.open(sys.argv[1], mailer=None, clock=lambda: int(sys.argv[2]))
principal = local_user(wb)
args = json.loads(sys.argv[3])
"""


def in_another_process(data_dir: Path, code: str, **args: str) -> None:
    """Run ``code`` in a new Python process on the same store (``wb``, ``principal`` and ``args`` defined there),
    its clock a second past the demo's so what it creates is the newest."""
    script = PRELUDE + textwrap.dedent(code)
    subprocess.run([sys.executable, "-c", script, str(data_dir), str(FIXED_MS + 1000), json.dumps(args)], cwd=ROOT,
                   check=True, timeout=60)


async def test_another_process_s_change_shows_within_a_second(demo_wb, principal):
    app = make_app(demo_wb, watch=True)
    async with app.run_test(size=SIZE) as pilot:
        await watcher_up(pilot, app)
        screen = app.screen
        assert isinstance(screen, InboxScreen)
        vlist = screen.list
        # Scroll down a bit and put the cursor on an annotation below the first one.
        vlist.move_cursor(30)
        await pilot.pause()
        index = next(i for i in range(30, vlist.total) if found(vlist.row_at(i)).source == "annotation" and found(vlist.row_at(i)).status != "ack")
        vlist.move_cursor(index)
        await press(pilot, "space")  # select it (the cursor moves on)
        await press(pilot, "k")
        target = found(vlist.current)
        scroll_before, line_before = vlist.scroll_y, vlist.cursor - int(vlist.scroll_y)
        changes = app.store_changes
        other_process(demo_wb.store.data_dir, target.id, "ack")
        started = time.monotonic()
        await wait_for(pilot, lambda: vlist.current is not None and vlist.current.status == "ack", timeout=5)
        assert time.monotonic() - started < 1.0
        assert app.store_changes > changes
        assert found(vlist.current).id == target.id  # the cursor stays on the item…
        assert vlist.cursor - int(vlist.scroll_y) == line_before  # …on the same screen line
        assert vlist.scroll_y == scroll_before
        assert target.key in vlist.selection  # the selection survives
        # An item above the cursor leaves the list: the cursor still follows its item.
        above = found(next(vlist.row_at(i) for i in range(vlist.cursor) if found(vlist.row_at(i)).source == "annotation"))
        other_process(demo_wb.store.data_dir, above.id, "resolved")
        await wait_for(pilot, lambda: vlist.total == inbox.count(demo_wb, principal, inbox.InboxFilter()), timeout=5)
        await pilot.pause()  # the refresh the change caused is drawn
        assert found(vlist.current).id == target.id


async def test_other_screens_refresh_too(demo_wb, principal):
    from workbench.services import feedback_sessions as fs_service
    from workbench.services import stores

    app = make_app(demo_wb, watch=True)
    async with app.run_test(size=SIZE) as pilot:
        await watcher_up(pilot, app)
        await press(pilot, "2")
        screen = app.screen
        assert isinstance(screen, FeedbackScreen)
        before = screen.sessions.total
        store = next(s for s in stores.list_stores(demo_wb, principal) if s.name == "Acme storefront (AI-built)")
        fs_service.start(demo_wb, store)  # this process, another thread's connection: still a file change
        await wait_for(pilot, lambda: screen.sessions.total == before + 1, timeout=3)


async def test_the_annotation_detail_refreshes_and_keeps_its_scroll(demo_wb, principal):
    from workbench.domain.annotations import ReplyCreate

    ann = inbox.window(demo_wb, principal, inbox.InboxFilter(sources=("annotation",), status="new"), 0, 1)[0]
    for n in range(1, 9):  # a long thread: more than a screen of detail to scroll
        annotations_service.reply(demo_wb, principal, ann.id, ReplyCreate(body=f"Reply number {n}"))
    app = make_app(demo_wb, watch=True)
    async with app.run_test(size=SIZE) as pilot:
        await watcher_up(pilot, app)
        screen = AnnotationScreen(ann.id)
        await app.push_screen(screen)
        await pilot.pause()
        detail = screen.query_one("#detail")
        await press(pilot, *["j"] * 12)
        assert detail.scroll_y == 12 < detail.max_scroll_y
        shown = screen_text(app)
        assert "Reply number 5" in shown and "set status" not in shown  # scrolled past the head

        def line_of(text: str, part: str) -> int:
            return next(i for i, line in enumerate(text.splitlines()) if part in line)

        changes = app.store_changes
        other_process(demo_wb.store.data_dir, ann.id, "ack")
        await wait_for(pilot, lambda: screen.ann.status == "ack", timeout=5)
        await pilot.pause()  # the refresh the change caused is drawn
        assert app.store_changes > changes
        assert app.screen is screen
        assert detail.scroll_y == 12  # the same part of the detail stays in view…
        assert line_of(screen_text(app), "Reply number 5") == line_of(shown, "Reply number 5")
        assert " ack " in str(screen.query_one("#ann-head", Static).content)  # …and the change is shown
        detail.scroll_end(animate=False)
        await pilot.pause()
        assert "status: new → ack" in screen_text(app)


async def test_the_studies_screen_refreshes_and_keeps_the_cursor_on_its_session(demo_wb, principal):
    app = make_app(demo_wb, watch=True)
    async with app.run_test(size=SIZE) as pilot:
        await watcher_up(pilot, app)
        await press(pilot, "3")
        screen = app.screen
        assert isinstance(screen, TestSessionsScreen)
        sessions = screen.sessions
        study = found(screen.studies.current)[0]
        index = next(i for i in range(sessions.total) if found(sessions.row_at(i)).status == "paused")
        await press(pilot, *["j"] * (index - sessions.cursor))
        target = found(sessions.current)
        assert target.status == "paused" and sessions.cursor == index > 0
        before = sessions.total
        # A tester starts a new session of the study (the newest: listed first, above the cursor) and the
        # highlighted one completes.
        in_another_process(demo_wb.store.data_dir, """
            from workbench.domain.test_sessions import CompleteRequest, TestSessionCreate
            from workbench.services import test_sessions as ts
            ts.create(wb, principal, TestSessionCreate(jobId=args["study"], testerId="user_late"))
            ts.complete(wb, principal, args["session"], CompleteRequest())
        """, study=study.id, session=target.id)
        await wait_for(pilot, lambda: sessions.total == before + 1, timeout=5)
        await pilot.pause()  # the refresh the change caused is drawn
        assert found(sessions.row_at(0)).tester_id == "user_late"
        assert found(sessions.current).id == target.id  # the cursor follows its session down one row
        assert sessions.cursor == index + 1
        assert found(sessions.current).status == "completed"
        shown = screen_text(app)
        assert f"Sessions — {study.name} ({before + 1} sessions)" in shown
        head = next(line for line in shown.splitlines() if f"{target.tester_id} · variant {target.variant} · started" in line)
        assert head.split()[0] == "completed"  # the detail pane: still this session, as it is now


async def test_the_feedback_screen_refreshes_and_keeps_the_cursor_on_its_session(demo_wb, principal):
    from workbench.services import feedback_sessions as fs_service
    from workbench.services import stores

    app = make_app(demo_wb, watch=True)
    async with app.run_test(size=SIZE) as pilot:
        await watcher_up(pilot, app)
        await press(pilot, "2")
        screen = app.screen
        assert isinstance(screen, FeedbackScreen)
        rows = screen.sessions.source_as(SessionSource).rows
        index = next(i for i, r in enumerate(rows) if r.store.name == "Acme outlet (AI-built)" and r.session.status == "in_review")
        await press(pilot, *["j"] * (index - screen.sessions.cursor))
        target = found(screen.sessions.current)
        assert screen.sessions.cursor == index > 0
        before, comments_before = screen.sessions.total, screen.comments.total
        storefront = next(s for s in stores.list_stores(demo_wb, principal) if s.name == "Acme storefront (AI-built)")
        # Another process starts a round on another store (the newest: listed first) and a reviewer
        # comments on the highlighted round.
        in_another_process(demo_wb.store.data_dir, """
            from workbench.domain.feedback_sessions import CommentCreate
            from workbench.services import feedback_sessions as fs
            from workbench.services import stores
            store = next(s for s in stores.list_stores(wb, principal) if s.id == args["store"])
            fs.start(wb, store)
            fs.add_comment(wb, args["session"], args["token"], CommentCreate(content="Live from elsewhere", pagePath="/wishlist"))
        """, store=storefront.id, session=target.session.id, token=target.session.review_token)
        await wait_for(pilot, lambda: screen.sessions.total == before + 1, timeout=5)
        await pilot.pause()  # the refresh the change caused is drawn
        assert screen.sessions.source_as(SessionSource).rows[0].store.id == storefront.id
        assert found(screen.sessions.current).session.id == target.session.id  # the cursor follows its session
        assert screen.sessions.cursor == index + 1
        assert screen.comments.total == comments_before + 1 == len(
            fs_service.list_comments(demo_wb, target.store, target.session.id))
        shown = screen_text(app)
        assert "/wishlist" in shown and "Live from elsewhere" in shown
        assert f"Comments — {target.store.name} · in review" in shown
