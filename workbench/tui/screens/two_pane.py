"""The list screens' frame: one or two lists over a preview, with the bars around them.

Feedback sessions, Test sessions, Sync and Personas have one shape: a filter bar, one or two
``VirtualList`` panes (tab moves between them), a preview of the highlighted row, a status
bar, the sync line and the footer. This module holds that shape once: the frame, pane
switching, the preview redrawn as the highlight or the focus moves, the empty preview when no
row is highlighted, and writes confirmed in a dialog before they run. A screen names its panes,
composes them and says what a row's preview reads.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from rich.console import RenderableType
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Header, Static

from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.widgets.footer import Footer
from workbench.tui.widgets.sync_line import SyncLine
from workbench.tui.widgets.virtual_list import VirtualList

if TYPE_CHECKING:
    from workbench.services.context import Workbench


class RowsSource:
    """A pane's rows, read in one go by ``load`` (small lists: a round's comments, unsent work, personas)."""

    def __init__(self, screen: WorkbenchScreen) -> None:
        self.screen = screen
        self.rows: list[Any] = []

    @property
    def wb(self) -> Workbench:
        return self.screen.wb

    def load(self) -> Sequence[Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    def count(self) -> int:
        self.rows = list(self.load())
        return len(self.rows)

    def fetch(self, offset: int, limit: int) -> Sequence[Any]:
        return self.rows[offset : offset + limit]

    def key(self, row: Any) -> Hashable:
        return row.id

    def cells(self, row: Any) -> list[Text | str]:  # pragma: no cover - overridden
        raise NotImplementedError


class TwoPaneScreen(WorkbenchScreen):
    """Bars, the panes ``PANES`` names (in tab order) and a preview of the active pane's row."""

    PANES: ClassVar[tuple[str, ...]] = ()  # the ids of the VirtualLists, in tab order

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        yield Static("", id="filterbar", classes="bar")
        yield from self.compose_panes()
        yield from self.compose_preview()
        yield Static("", id="statusbar", classes="bar")
        yield SyncLine()
        yield Footer()

    def compose_panes(self) -> ComposeResult:  # pragma: no cover - overridden
        """The panes, with their titles if they have any."""
        raise NotImplementedError

    def compose_preview(self) -> ComposeResult:
        yield Static("", id="preview")

    def on_mount(self) -> None:
        self.sub_title = getattr(self, "HELP_SECTION", "")
        self.size_panes()
        self.refresh_data()

    def size_panes(self) -> None:
        """Heights a screen gives its panes beyond its CSS (before the first refresh)."""

    # -- panes -----------------------------------------------------------------------------
    @property
    def panes(self) -> list[VirtualList]:
        return [self.query_one(f"#{pane_id}", VirtualList) for pane_id in self.PANES]

    def active_pane(self) -> VirtualList:
        """The pane the preview shows: the focused one, else the first."""
        panes = self.panes
        return next((pane for pane in panes if pane is self.focused), panes[0])

    def action_switch_pane(self) -> None:
        panes = self.panes
        index = next((i for i, pane in enumerate(panes) if pane is self.focused), -1)
        panes[(index + 1) % len(panes)].focus()

    def set_bar(self, bar_id: str, content: RenderableType) -> None:
        """Show ``content`` in the Static ``#bar_id`` (a bar or a pane's title)."""
        self.query_one(f"#{bar_id}", Static).update(content)

    # -- preview ---------------------------------------------------------------------------
    def on_resize(self) -> None:
        # A preview cuts a long page path to its width, known once the new size is laid out.
        self.call_after_refresh(self.show_preview)

    def show_preview(self) -> None:
        """Redraw the preview of the active pane's highlighted row (empty without one), and the
        footer, whose keys follow what that row allows."""
        self.refresh_bindings()
        pane = self.active_pane()
        row = pane.current
        self.set_bar("preview", "" if row is None else self.preview_of(pane, row))

    def preview_of(self, pane: VirtualList, row: Any) -> RenderableType:  # pragma: no cover - overridden
        raise NotImplementedError

    @on(VirtualList.Highlighted)
    def _pane_highlighted(self) -> None:
        self.show_preview()

    def on_descendant_focus(self) -> None:
        self.show_preview()

    # -- writes ----------------------------------------------------------------------------
    def confirm_write(self, title: str, question: str, yes: str, fn: Callable[..., Any], *args: Any, danger: bool = False,
                      succeeded: str = "", done: Callable[[Any], None] | None = None, **kwargs: Any) -> None:
        """Ask ``question``; on yes run the write off the UI thread (see ``WorkbenchScreen.write``)."""
        from workbench.tui.screens.forms import ConfirmDialog

        def answered(sure: bool | None) -> None:
            if sure:
                self.write(fn, *args, done=done, succeeded=succeeded, **kwargs)

        self.app.push_screen(ConfirmDialog(title, question, yes=yes, danger=danger), answered)
