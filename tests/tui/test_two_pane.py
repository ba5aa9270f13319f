"""The list screens' shared frame (workbench/tui/screens/two_pane.py): bars, tab between panes, the preview."""

from __future__ import annotations

from typing import TypeVar

import pytest
from rich.color import Color, ColorSystem
from textual.theme import BUILTIN_THEMES
from textual.widgets import Static

from tests.tui.conftest import SIZE, press, wait_for
from workbench.tui.screens.feedback import FeedbackScreen
from workbench.tui.screens.personas import PersonasScreen
from workbench.tui.screens.sync import SyncScreen
from workbench.tui.screens.test_sessions import TestSessionsScreen
from workbench.tui.screens.two_pane import TwoPaneScreen
from workbench.tui.widgets.virtual_list import VirtualList

S = TypeVar("S", bound=TwoPaneScreen)

SCREENS = [("2", FeedbackScreen), ("3", TestSessionsScreen), ("4", PersonasScreen), ("5", SyncScreen)]


def preview_text(screen: TwoPaneScreen) -> str:
    body = "#ts-detail-body" if isinstance(screen, TestSessionsScreen) else "#preview"
    return str(screen.query_one(body, Static).render()).strip()


async def open_screen(app, pilot, key: str, kind: type[S], theme: str | None = None) -> S:
    """Press ``key`` (in ``theme``, when one is named) and return the screen it opens, checked to be ``kind``."""
    if theme is not None:
        app.theme = theme
    await press(pilot, key)
    screen = app.screen
    assert isinstance(screen, kind)
    return screen


def row_start(pane: VirtualList, index: int) -> tuple[str, Color]:
    """The cursor mark and the first cell's background of ``pane``'s row ``index`` as drawn (1: the header line)."""
    mark, first_cell, *_ = list(pane.render_line(1 + index - int(pane.scroll_y)))
    assert first_cell.style is not None and first_cell.style.bgcolor is not None
    return mark.text, first_cell.style.bgcolor


@pytest.mark.parametrize(("key", "kind"), SCREENS, ids=[kind.__name__ for _, kind in SCREENS])
async def test_tab_walks_the_panes_in_order_and_the_bars_are_filled(app, key, kind):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(app, pilot, key, kind)
        assert screen.sub_title == screen.HELP_SECTION
        assert str(screen.query_one("#filterbar", Static).render()).strip()
        assert str(screen.query_one("#statusbar", Static).render()).strip()
        ids = list(screen.PANES)
        start = ids.index(screen.focused.id)
        for step in range(1, len(ids) + 1):
            if len(ids) > 1:
                await press(pilot, "tab")
            else:  # personas: one pane, no tab key; switching keeps it
                screen.action_switch_pane()
                await pilot.pause()
            assert screen.focused.id == ids[(start + step) % len(ids)]


@pytest.mark.parametrize(("key", "kind"), SCREENS[:3], ids=[kind.__name__ for _, kind in SCREENS[:3]])
async def test_the_preview_follows_the_highlighted_row(app, key, kind):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(app, pilot, key, kind)
        pane = screen.active_pane() if not isinstance(screen, TestSessionsScreen) else screen.sessions
        assert pane.total > 1
        first = preview_text(screen)
        assert first
        await press(pilot, "j")
        await wait_for(pilot, lambda: preview_text(screen) != first)


async def test_an_empty_pane_has_an_empty_preview_and_says_why(app, demo_wb):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(app, pilot, "5", SyncScreen)
        assert screen.conflict_list.total == 0 and screen.refusal_list.total == 0  # the demo store has no remote
        assert preview_text(screen) == ""
        await press(pilot, "m")
        assert "No conflict to settle" in [message for _, message in app.notices]


@pytest.mark.parametrize(("key", "kind"), SCREENS, ids=[kind.__name__ for _, kind in SCREENS])
async def test_at_80_columns_every_list_fits_its_pane(app, key, kind):
    """QA: at 80 columns the feedback sessions' and the personas' columns were wider than their lists, so the
    screen's edge cut the last one shown mid-word with no ellipsis ("Update the Orde", "screen-reader, ari")
    and hid the ones after it (REVIEWER and AGE, VOICE): a reader could not tell there was more. Each list
    now gives back cells and drops what its preview shows, as the inbox and the sync screen do."""
    from workbench.tui.widgets.virtual_list import GUTTER

    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_screen(app, pilot, key, kind)
        await pilot.pause()
        for vlist in screen.query(VirtualList):
            width = vlist.scrollable_content_region.width
            shown = [w for w in vlist.layout_widths(width) if w]
            assert GUTTER + sum(shown) + len(shown) - 1 <= width, (vlist.id, width, vlist.layout_widths(width))


@pytest.mark.parametrize("theme", ["textual-dark", "dracula", "tokyo-night", "solarized-dark", "atom-one-dark", "textual-light", "rose-pine-dawn"])
async def test_the_focused_lists_cursor_differs_from_the_other_lists_in_256_and_16_colours(app, theme):
    # Both cursors were tints of $primary (45 % and 30 %) that 256 colours made one colour on these
    # themes, the default among them, so only bold told where the keys act. In 256 colours the two
    # bars must differ; in 16, where every dark tint is colour 8, the "›" mark says which has focus.
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(app, pilot, "2", FeedbackScreen, theme)
        focused, other = screen.panes
        assert screen.focused is focused and other.total > 0

        def cursor_row(pane: VirtualList) -> tuple[str, Color]:
            return row_start(pane, pane.cursor)

        (mark, ours), (other_mark, theirs) = cursor_row(focused), cursor_row(other)
        assert ours.downgrade(ColorSystem.EIGHT_BIT).number != theirs.downgrade(ColorSystem.EIGHT_BIT).number
        assert mark.strip() == "›" and not other_mark.strip()
        await press(pilot, "tab")
        assert cursor_row(other)[0].strip() == "›" and not cursor_row(focused)[0].strip()


# The ansi themes are the terminal's own colours, which it, not the app, keeps apart.
@pytest.mark.parametrize("theme", [name for name in BUILTIN_THEMES if "ansi" not in name])
async def test_the_cursor_of_a_list_without_focus_stands_out_from_its_rows_in_256_colours(app, theme):
    # rose-pine-dawn: $surface-lighten-2 over a near-white surface was white, the rows' colour in 256
    # colours, and a list without focus has no "›": its cursor did not show at all.
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_screen(app, pilot, "2", FeedbackScreen, theme)
        _, other = screen.panes
        assert screen.focused is not other and other.total > 1 and other.cursor == 0

        def background(pane: VirtualList, index: int) -> int | None:
            return row_start(pane, index)[1].downgrade(ColorSystem.EIGHT_BIT).number

        assert background(other, 0) != background(other, 1)


def test_only_the_themes_that_need_it_have_colours_of_their_own(app):
    """rose-pine-dawn gets its cursor colour (workbench/tui/themes.py); every other theme is Textual's as it is."""
    own = {name for name, theme in app.available_themes.items() if theme != BUILTIN_THEMES.get(name)}
    assert own == {"rose-pine-dawn"}
    assert app.available_themes["rose-pine-dawn"].variables["surface-lighten-2"] == "#dfdad9"


async def test_at_200_columns_names_voices_and_comments_are_whole(app):
    # Each kept its 80-column width: "Sam, cognitive-accessibility advo…" and "formal, cites crite…" were cut
    # beside 80 empty cells of focus words, a reviewer's comment at 32 cells beside a task column of 120.
    from tests.tui.conftest import screen_text

    async with app.run_test(size=(200, 50)) as pilot:
        await press(pilot, "4")
        personas = screen_text(app)
        await press(pilot, "2")
        await wait_for(pilot, lambda: "Order history" in screen_text(app))
        comments = screen_text(app)
    assert "Sam, cognitive-accessibility advocate " in personas and "formal, cites criteria" in personas
    assert "Order history should show tracking links." in comments
    assert "Update the Order history so that it will show tracking links on /account." in comments
