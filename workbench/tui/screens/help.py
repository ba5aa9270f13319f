"""``?``: the keys of the screen underneath, grouped, plus where to rebind them."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from workbench.tui.help import binding_rows


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,question_mark,q", "dismiss", "Close")]
    HELP_SECTION = "Help"

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.rows = list(binding_rows(screen))
        self.screen_title = getattr(screen, "HELP_SECTION", None) or type(screen).__name__

    def compose(self) -> ComposeResult:
        from workbench.tui.keys import config_path

        table = Table(box=None, expand=True, show_header=True, header_style="bold", padding=(0, 2, 0, 0))
        table.add_column("Section", style="dim", no_wrap=True)
        table.add_column("Keys", style="bold", no_wrap=True)
        table.add_column("Action")
        last = None
        for section, key, description, _node, _action in self.rows:
            table.add_row(section if section != last else "", key, description)
            last = section
        with VerticalScroll(classes="dialog -wide"):
            yield Static(f"Keys — {self.screen_title}", classes="title")
            yield Static(table)
            yield Static(
                f"ctrl+p lists every action by name. Rebind keys in {config_path()} (ids: `workbench tui --keys`).\n"
                "esc / ? : close",
                classes="hint",
            )

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
