"""The Sites screen (``6``): each site's widget tag and allowed origins, changed from the TUI as ``workbench sites
origins`` and ``sites snippet`` do; a replica's sites are the server's, so there it changes nothing."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

from tests.served_remote import served
from tests.tui.conftest import SIZE, make_app, paste, press, screen_text, told, wait_for
from workbench.services import sites as sites_svc
from workbench.services import widget as widget_svc
from workbench.services import workspaces
from workbench.services.local import local_user
from workbench.tui.screens.forms import ChoiceDialog, FormDialog
from workbench.tui.screens.sites import SitesScreen


async def test_the_sites_screen_shows_each_sites_tag_and_changes_its_origins(app, demo_wb):
    me = local_user(demo_wb)
    site = sites_svc.list_sites(demo_wb, me)[0]
    before = widget_svc.list_origins(demo_wb, me, site.id)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "6")
        assert isinstance(app.screen, SitesScreen)
        await wait_for(pilot, lambda: "Widget tag" in screen_text(app))
        tag = widget_svc.snippet(demo_wb, me, site.id, "http://localhost:11001")
        shown = " ".join(screen_text(app).split())
        assert tag in shown, shown  # the tag whole (it wraps at spaces), with the site's widget token
        assert all(origin in shown for origin in before)
        await press(pilot, "y")
        assert app.clipboard == tag
        assert any("Copied the widget tag" in m for m in told(app))

        # a: a malformed origin is refused in the form, in words, and nothing is saved.
        await press(pilot, "a")
        assert isinstance(app.screen, FormDialog)
        await paste(pilot, "shop.example/path")
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, FormDialog)
        assert "is not an origin" in screen_text(app)
        assert widget_svc.list_origins(demo_wb, me, site.id) == before
        await press(pilot, "escape")

        await press(pilot, "a")
        await paste(pilot, "http://localhost:5173")
        await press(pilot, "ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, SitesScreen))
        now = widget_svc.list_origins(demo_wb, me, site.id)
        assert sorted(now) == sorted([*before, "http://localhost:5173"])
        await wait_for(pilot, lambda: "http://localhost:5173" in screen_text(app))

        # x: the origin chosen stops running the widget.
        await press(pilot, "x")
        assert isinstance(app.screen, ChoiceDialog)
        await press(pilot, *["down"] * now.index("http://localhost:5173"), "enter")  # listed as the preview lists them
        await wait_for(pilot, lambda: isinstance(app.screen, SitesScreen))
        assert widget_svc.list_origins(demo_wb, me, site.id) == before

        # B: the tag's base, refused when it is no URL, then remembered by the store.
        await press(pilot, "B")
        field = app.screen.query_one("#field-base", Input)
        assert field.value == "http://localhost:11001"  # it opens with the base in use
        field.value = ""
        await paste(pilot, "not a url")
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, FormDialog)
        await press(pilot, "escape")
        assert widget_svc.tag_base(demo_wb) == "http://localhost:11001"
        await press(pilot, "B")
        app.screen.query_one("#field-base", Input).value = ""
        await paste(pilot, "https://feedback.acme.example")
        await press(pilot, "ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, SitesScreen))
        assert widget_svc.tag_base(demo_wb) == "https://feedback.acme.example"
        await press(pilot, "y")
        assert app.clipboard == widget_svc.snippet(demo_wb, me, site.id, "https://feedback.acme.example")


async def test_a_site_with_no_allowed_origin_says_no_page_can_run_its_widget(app, demo_wb):
    me = local_user(demo_wb)
    site = sites_svc.list_sites(demo_wb, me)[0]
    for origin in widget_svc.list_origins(demo_wb, me, site.id):
        widget_svc.remove_origin(demo_wb, me, site.id, origin)
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "6")
        await wait_for(pilot, lambda: "no page can run this site's widget" in screen_text(app))
        assert "1 with no allowed origin" in screen_text(app)
        await press(pilot, "x")  # nothing to remove: the key is off, no dialog
        assert isinstance(app.screen, SitesScreen)


async def test_a_replicas_sites_are_the_servers_so_the_screen_changes_nothing(tmp_path: Path):
    with served(tmp_path) as remote:
        wb = remote.replica(tmp_path / "local")
        replica_ws = next(v for v in workspaces.list_workspaces(wb, with_counts=False) if v.remote)
        me = workspaces.choose(wb, replica_ws.id)
        site = sites_svc.list_sites(wb, me)[0]
        before = widget_svc.list_origins(wb, me, site.id)
        app = make_app(wb)
        async with app.run_test(size=SIZE) as pilot:
            await press(pilot, "6")
            await wait_for(pilot, lambda: "kept on" in screen_text(app))
            text = " ".join(screen_text(app).split())
            assert f"kept on {remote.url}" in text
            assert "<script" not in text  # a replica's widget token is a placeholder: no tag to paste
            for key in ("a", "x", "y", "B"):
                await press(pilot, key)
                assert isinstance(app.screen, SitesScreen), key
            assert widget_svc.list_origins(wb, me, site.id) == before
            assert app.clipboard == ""
        wb.store.close()
