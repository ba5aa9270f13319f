"""Ages on screen follow the clock while the app stays open, with no write to the store."""

from __future__ import annotations

from textual.widgets import Static

from tests.tui.conftest import FIXED_MS, SIZE, make_app, wait_for
from workbench.domain.annotations import WidgetAnnotationCreate
from workbench.services import annotations as annotations_service
from workbench.services import sites as sites_service
from workbench.tui.app import WorkbenchApp
from workbench.tui.screens.annotation import AnnotationScreen

HOUR_MS = 3_600_000


async def test_an_open_annotation_and_the_inbox_behind_it_age_as_time_passes(demo_wb, principal, monkeypatch):
    """QA: left open, the TUI said "just now" of an annotation for as long as nothing was written:
    ages were worked out only when a screen re-read the store."""
    site = sites_service.list_sites(demo_wb, principal)[0]
    ann_id = annotations_service.submit_from_widget(demo_wb, site.id, site.widget_token, None, WidgetAnnotationCreate(
        page_url="https://shop.example/cart", body="The total jumps when the coupon applies",
    )).id
    now = [FIXED_MS]
    demo_wb.clock = lambda: now[0]
    monkeypatch.setattr(WorkbenchApp, "AGES_EVERY_S", 0.05)
    app = make_app(demo_wb)
    async with app.run_test(size=SIZE) as pilot:
        inbox = app.screen
        await app.push_screen(AnnotationScreen(ann_id))

        def head() -> str:
            return str(app.screen.query_one("#ann-head", Static).content)

        def preview() -> str:
            return str(inbox.query_one("#preview", Static).content)

        await wait_for(pilot, lambda: "just now" in head())
        assert "The total jumps" in preview() and "just now" in preview()
        now[0] += 2 * HOUR_MS
        await wait_for(pilot, lambda: "2h ago" in head())
        await wait_for(pilot, lambda: "2h ago" in preview())
