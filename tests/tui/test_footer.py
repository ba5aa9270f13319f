"""The key footer: it follows the focused widget's keys, and is not rebuilt when they are unchanged."""

from __future__ import annotations

import pytest
from textual.widgets._footer import FooterKey

from tests.tui.conftest import SIZE, press
from workbench.tui.screens.feedback import FeedbackScreen
from workbench.tui.screens.inbox import InboxScreen
from workbench.tui.widgets.footer import Footer


def footer_keys(app) -> list[FooterKey]:
    return list(app.screen.query_one(Footer).query(FooterKey))


def descriptions(app) -> list[str]:
    return [key.description for key in footer_keys(app)]


async def test_footer_follows_focus(app):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "Select" in descriptions(app)  # the list's own key, while the list has focus
        await press(pilot, "slash")
        assert app.focused.id == "search"
        assert "Select" not in descriptions(app)
        await press(pilot, "enter")
        assert "Select" in descriptions(app)


async def test_returning_to_a_screen_keeps_its_footer(app):
    """Coming back to a screen does not rebuild its footer (~100 ms a switch when it did)."""
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        before = footer_keys(app)
        assert before and isinstance(app.screen, InboxScreen)
        await press(pilot, "2")
        assert isinstance(app.screen, FeedbackScreen) and "Start" in " ".join(descriptions(app))
        await press(pilot, "1")
        assert isinstance(app.screen, InboxScreen)
        assert footer_keys(app) == before  # the same widgets, not new ones



@pytest.mark.parametrize(("width", "keys"), [(20, ["Keys", "Quit"]), (14, ["Quit"]), (50, ["Open", "Keys", "Quit", "palette"])])
async def test_the_way_out_is_the_last_key_a_narrow_footer_leaves_out(app, width, keys):
    """QA 17: at 20 columns the palette covered q Quit."""
    async with app.run_test(size=(width, 8)) as pilot:
        await pilot.pause()
        assert descriptions(app) == keys
