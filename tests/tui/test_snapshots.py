"""Snapshots of the main screens at 120x36, and of every screen at 80x24 and 200x50.

Fixed clock, seeded ids, no cursor blink.

Update them after an intended change with ``pytest tests/tui/test_snapshots.py --snapshot-update``
and look at the report (``snapshot_report.html``) before committing.
"""

from __future__ import annotations

import pytest

from tests.tui.conftest import SIZE, make_app, wait_for
from workbench.services import annotations as annotations_service
from workbench.services import inbox
from workbench.tui.screens.annotation import AnnotationScreen


@pytest.fixture(autouse=True)
def stable_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_KEYS", "/home/you/.config/workbench/keys.toml")
    monkeypatch.delenv("WORKBENCH_PUBLIC_URL", raising=False)


def app_for(demo_wb):  # ANN201
    return make_app(demo_wb, cursor_blink=False)


async def settle(pilot) -> None:
    """Let the count workers finish so the status bar is complete."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


class TestInbox:
    def test_inbox(self, snap_compare, demo_wb):
        assert snap_compare(app_for(demo_wb), press=["j", "j", "j"], terminal_size=SIZE, run_before=settle)

    def test_search(self, snap_compare, demo_wb):
        async def run_before(pilot) -> None:
            await settle(pilot)
            await pilot.press("slash", *"checkout")
            await wait_for(pilot, lambda: pilot.app.screen.filter.text == "checkout")  # the debounced search applied
            await settle(pilot)

        assert snap_compare(app_for(demo_wb), terminal_size=SIZE, run_before=run_before)

    def test_filter_dialog(self, snap_compare, demo_wb):
        assert snap_compare(app_for(demo_wb), press=["f"], terminal_size=SIZE, run_before=settle)

    def test_views_dialog(self, snap_compare, demo_wb, principal):
        inbox.save_view(demo_wb, principal, "Copy nits", inbox.InboxFilter(kind="copy"))
        assert snap_compare(app_for(demo_wb), press=["v"], terminal_size=SIZE, run_before=settle)

    def test_bulk_preview(self, snap_compare, demo_wb):
        # Rows 0-2 (two annotations and a test session), then "set status → triaged" (no action is preselected: three downs).
        assert snap_compare(
            app_for(demo_wb), press=["space", "space", "space", "b", "down", "down", "down", "enter"], terminal_size=SIZE, run_before=settle
        )


class TestAnnotation:
    def test_detail(self, snap_compare, demo_wb, principal):
        rows = inbox.window(demo_wb, principal, inbox.InboxFilter(sources=("annotation",), status="resolved"), 0, 400)
        target = next(
            r.id for r in rows
            if annotations_service.detail(demo_wb, principal, r.id)["resolutions"] and annotations_service.get(demo_wb, principal, r.id).computed_styles
        )

        async def run_before(pilot) -> None:
            await settle(pilot)
            await pilot.app.push_screen(AnnotationScreen(target))
            await pilot.pause()

        assert snap_compare(app_for(demo_wb), terminal_size=SIZE, run_before=run_before)

    def test_resolution_dialog(self, snap_compare, demo_wb):
        assert snap_compare(app_for(demo_wb), press=["enter", "e"], terminal_size=SIZE, run_before=settle)

    def test_reply_dialog_with_its_draft_back(self, snap_compare, demo_wb, principal):
        from workbench.services import drafts

        [first] = inbox.window(demo_wb, principal, inbox.InboxFilter(), 0, 1)  # the row enter opens
        drafts.save(demo_wb, principal, first.id, "Reproduced on iOS 17: the coupon field loses focus.\n\n- open /checkout")
        assert snap_compare(app_for(demo_wb), press=["enter", "c"], terminal_size=SIZE, run_before=settle)


class TestOtherScreens:
    def test_feedback_sessions(self, snap_compare, demo_wb):
        assert snap_compare(app_for(demo_wb), press=["2", "j"], terminal_size=SIZE, run_before=settle)

    def test_test_sessions(self, snap_compare, demo_wb):
        assert snap_compare(app_for(demo_wb), press=["3", "j", "j"], terminal_size=SIZE, run_before=settle)

    def test_personas(self, snap_compare, demo_wb):
        assert snap_compare(app_for(demo_wb), press=["4", "j", "j"], terminal_size=SIZE, run_before=settle)

    def test_help(self, snap_compare, demo_wb):
        assert snap_compare(app_for(demo_wb), press=["question_mark"], terminal_size=SIZE, run_before=settle)


# Every screen and the main dialogs at the smallest supported terminal (80×24) and a wide one
# (200×50, where the inbox's preview sits beside the list). Nothing may be cut off: the footer
# keeps ? and q, the summary and sync lines show, dialogs scroll to their buttons.
SCREEN_KEYS = {
    "inbox": ["j"],
    "annotation": ["enter"],
    "feedback_sessions": ["2", "j"],
    "feedback_comments": ["2", "j", "tab"],  # the comments' keys lead the footer (r Resolve)
    "test_sessions": ["3", "j"],
    "personas": ["4", "j"],
    "sync": ["5"],
    "sites": ["6"],
    "help": ["question_mark"],
    "reply_dialog": ["enter", "c"],
    "resolution_dialog": ["enter", "e"],
    "bulk_dialog": ["space", "b"],
    "filter_dialog": ["f"],
    "persona_picker": ["enter", "p"],
    "confirm_dialog": ["3", "j", "C"],
}


@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
@pytest.mark.parametrize("name", list(SCREEN_KEYS))
def test_every_screen_at_size(snap_compare, demo_wb, name, size):
    if name == "sites":
        # The Sites screen shows each widget tag whole, token and all: the demo's tokens come from the secrets
        # module, which the seeded ids do not reach, so each process drew others.
        with demo_wb.store.write() as db:
            db.execute("UPDATE sites SET widget_token = 'gfw_demo_' || substr(id, 25)")
    assert snap_compare(app_for(demo_wb), press=SCREEN_KEYS[name], terminal_size=size, run_before=settle)


# Below 80×24 only the inbox is laid out for it (README: "Smaller than 80×24"): its columns give
# way to the feedback text, the preview below the list goes under 20 rows, and the footer keeps q.
@pytest.mark.parametrize("size", [(50, 15), (20, 8)], ids=["50x15", "20x8"])
def test_narrow_inbox(snap_compare, demo_wb, size):
    assert snap_compare(app_for(demo_wb), press=["j"], terminal_size=size, run_before=settle)
