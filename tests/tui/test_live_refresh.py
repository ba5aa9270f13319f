"""Live: another process changes the store; open screens refresh within a second, keeping selection and scroll."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.tui.conftest import SIZE, make_app, press, wait_for
from workbench.services import inbox
from workbench.tui.screens.feedback import FeedbackScreen

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


def other_process(data_dir: Path, ann_id: str, status: str) -> None:
    subprocess.run([sys.executable, "-c", PATCH, str(data_dir), ann_id, status], cwd=ROOT, check=True, timeout=60)


async def test_another_process_s_change_shows_within_a_second(demo_wb, principal):
    app = make_app(demo_wb, watch=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)  # the watcher is up
        screen = app.screen
        vlist = screen.list
        # Scroll down a bit and put the cursor on an annotation below the first one.
        vlist.move_cursor(30)
        await pilot.pause()
        index = next(i for i in range(30, vlist.total) if vlist.row_at(i).source == "annotation" and vlist.row_at(i).status != "ack")
        vlist.move_cursor(index)
        await press(pilot, "space")  # select it (the cursor moves on)
        await press(pilot, "k")
        target = vlist.current
        scroll_before, line_before = vlist.scroll_y, vlist.cursor - int(vlist.scroll_y)
        changes = app.store_changes
        other_process(demo_wb.store.data_dir, target.id, "ack")
        started = time.monotonic()
        await wait_for(pilot, lambda: vlist.current is not None and vlist.current.status == "ack", timeout=5)
        assert time.monotonic() - started < 1.0
        assert app.store_changes > changes
        assert vlist.current.id == target.id  # the cursor stays on the item…
        assert vlist.cursor - int(vlist.scroll_y) == line_before  # …on the same screen line
        assert vlist.scroll_y == scroll_before
        assert target.key in vlist.selection  # the selection survives
        # An item above the cursor leaves the list: the cursor still follows its item.
        above = next(vlist.row_at(i) for i in range(vlist.cursor) if vlist.row_at(i).source == "annotation")
        other_process(demo_wb.store.data_dir, above.id, "resolved")
        await wait_for(pilot, lambda: vlist.total == inbox.count(demo_wb, principal, inbox.InboxFilter()), timeout=5)
        await pilot.pause(0.2)
        assert vlist.current.id == target.id


async def test_other_screens_refresh_too(demo_wb, principal):
    from workbench.services import feedback_sessions as fs_service
    from workbench.services import stores

    app = make_app(demo_wb, watch=True)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "2")
        await pilot.pause(0.3)
        screen = app.screen
        assert isinstance(screen, FeedbackScreen)
        before = screen.sessions.total
        store = next(s for s in stores.list_stores(demo_wb, principal) if s.name == "Acme storefront (AI-built)")
        fs_service.start(demo_wb, store)  # this process, another thread's connection: still a file change
        await wait_for(pilot, lambda: screen.sessions.total == before + 1, timeout=3)
