"""``?``: the keys of the screen underneath, grouped, plus where to rebind them."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Static

from workbench.tui.help import binding_rows
from workbench.tui.screens.base import Dialog


def _home(path: Path) -> str:
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)


class HelpScreen(Dialog[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,question_mark,q", "dismiss", "Close")]
    HELP_SECTION = "Help"
    # Side by side under 70 columns, each description kept four letters ("Sear…"): stacked there
    # (dialogs.tcss), on the narrow terminals where `? Keys` is about all the footer still shows.
    HORIZONTAL_BREAKPOINTS = [(0, "-stacked"), (70, "-side-by-side")]  # noqa: RUF012 - Textual declares it without ClassVar

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.rows = list(binding_rows(screen))
        self.screen_title = getattr(screen, "HELP_SECTION", None) or type(screen).__name__
        self.search_syntax = bool(getattr(screen, "SEARCH_SYNTAX", None))  # a screen with a / search

    def _table(self, rows: list[tuple[str, str, str, DOMNode, str]]) -> Table:
        table = Table(box=None, show_header=False, padding=(0, 2, 0, 0))
        table.add_column(style="bold #e8a33c", no_wrap=True, min_width=10)
        table.add_column()
        last = None
        for section, key, description, _node, _action in rows:
            if section != last:
                if last is not None:
                    table.add_row("", "")
                table.add_row(Text(section, style="bold underline"), "")
                last = section
            table.add_row(key, description)
        return table

    def compose(self) -> ComposeResult:
        from workbench.tui.keys import config_path

        general = {"List", "Scrolling", "Global"}
        own = [r for r in self.rows if r[0] not in general]
        shared = [r for r in self.rows if r[0] in general]
        with VerticalScroll(classes="dialog -wide"):
            yield Static(f"Keys — {self.screen_title}", classes="title")
            with Horizontal(classes="help-columns"):
                yield Static(self._table(own), classes="help-column")
                yield Static(self._table(shared), classes="help-column")
            if self.search_syntax:
                from workbench.tui.search import syntax_table

                yield Static(syntax_table(), id="search-syntax")
            yield Static(
                Text(f"ctrl+p finds any action by name. Rebind keys in {_home(config_path())}\n"
                     "(the ids: `workbench tui --keys`).   esc / ? : close"),
                classes="hint",
            )

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
