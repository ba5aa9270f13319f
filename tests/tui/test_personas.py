"""Personas by category: create, edit, delete, reset one default and all of them; refusals inline."""

from __future__ import annotations

from textual.widgets import Input, TextArea

from tests.found import found
from tests.tui.conftest import SIZE, paste, press, screen_text, type_text, wait_for
from workbench.domain.personas import DEFAULT_PERSONAS
from workbench.services import personas as personas_service
from workbench.tui.screens.forms import ConfirmDialog, FormDialog
from workbench.tui.screens.personas import PersonasScreen


async def open_personas(app, pilot) -> PersonasScreen:
    await press(pilot, "4")
    assert isinstance(app.screen, PersonasScreen)
    return app.screen


async def test_listed_by_category(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_personas(app, pilot)
        mine = personas_service.list_mine(demo_wb, principal)
        assert screen.list.total == len(mine) == len(DEFAULT_PERSONAS)
        categories = [found(screen.list.row_at(i)).category for i in range(screen.list.total)]
        assert categories == sorted(categories)
        assert mine[0].name in screen_text(app)
        await press(pilot, "f")
        await press(pilot, "down", "down", "enter")  # the second category
        second = sorted({p.category for p in mine})[1]
        assert screen.source.category == second
        assert {found(screen.list.row_at(i)).category for i in range(screen.list.total)} == {second}


async def test_create_edit_delete(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_personas(app, pilot)
        await press(pilot, "n")
        dialog = app.screen
        assert isinstance(dialog, FormDialog)
        await paste(pilot, "Nora, night-shift nurse")  # a name is checked on save, not per key
        await press(pilot, "tab")
        await type_text(pilot, "Health")  # uppercase: refused by the category rule
        await press(pilot, "ctrl+s")
        assert app.screen is dialog
        assert "category" in str(dialog.query_one("#form-error").render())
        dialog.query_one("#field-category", Input).value = "health"
        dialog.query_one("#field-focus", Input).value = "dark mode, contrast, fatigue"
        await press(pilot, "ctrl+s")
        created = next(p for p in personas_service.list_mine(demo_wb, principal) if p.name == "Nora, night-shift nurse")
        assert (created.category, created.focus, created.is_default) == ("health", ["dark mode", "contrast", "fatigue"], False)
        assert found(screen.list.current).id == created.id
        # Edit (enter or e): change the voice.
        await press(pilot, "e")
        dialog = app.screen
        dialog.query_one("#field-voice", Input).value = "tired but kind"
        dialog.query_one("#field-description", TextArea).text = "Reads the site at 3 am."
        await press(pilot, "ctrl+s")
        edited = personas_service.get(demo_wb, principal, created.id)
        assert (edited.voice, edited.description) == ("tired but kind", "Reads the site at 3 am.")
        # A second persona with the same name (so the same slug) is refused.
        await press(pilot, "n")
        await paste(pilot, "Nora, night-shift nurse")
        await press(pilot, "tab")
        await type_text(pilot, "health")
        await press(pilot, "ctrl+s")
        assert "already exists" in str(app.screen.query_one("#form-error").render())
        await press(pilot, "escape")
        # Delete asks first.
        await press(pilot, "d")
        assert isinstance(app.screen, ConfirmDialog)
        await press(pilot, "y")
        assert all(p.id != created.id for p in personas_service.list_mine(demo_wb, principal))


async def test_reset_one_default_and_all(app, demo_wb, principal):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_personas(app, pilot)
        persona = found(screen.list.current)
        default_name = persona.name
        await press(pilot, "e")
        app.screen.query_one("#field-name", Input).value = "Renamed"
        await press(pilot, "ctrl+s")
        assert personas_service.get(demo_wb, principal, persona.id).name == "Renamed"
        await press(pilot, "r", "y")
        assert personas_service.get(demo_wb, principal, persona.id).name == default_name
        # Delete a default, then reset all brings it back.
        await press(pilot, "d", "y")
        assert len(personas_service.list_mine(demo_wb, principal)) == len(DEFAULT_PERSONAS) - 1
        await press(pilot, "R", "y")
        assert len(personas_service.list_mine(demo_wb, principal)) == len(DEFAULT_PERSONAS)
        assert screen.list.total == len(DEFAULT_PERSONAS)


async def test_at_80x24_the_preview_shows_each_default_persona_s_voice(app):
    """QA: at 80 columns the list leaves the VOICE column out (the screen's edge cut it before), so the preview
    must show it; but it came after the focus words, and a long head and description pushed it past the
    preview's last line (Kofi's read "… modal   voice" and stopped). It now comes before them."""
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "4")
        screen = app.screen
        assert isinstance(screen, PersonasScreen)
        region = screen.query_one("#preview").region
        for i in range(screen.list.total):
            persona = found(screen.list.row_at(i))
            screen.list.move_cursor(i)
            await wait_for(pilot, lambda p=persona: p.name in screen_text(app).splitlines()[region.y + 1])
            shown = " ".join(" ".join(screen_text(app).splitlines()[region.y : region.bottom]).split())
            assert f"voice {' '.join(persona.voice.split())}" in shown, (persona.name, shown)
