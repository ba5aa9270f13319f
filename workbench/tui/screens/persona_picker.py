"""Which personas review an annotation (``p``): every persona, the most relevant ones ticked.

The ticked ones are what a run without a choice would take (the domain's most relevant
three), so space/enter changes the choice and ctrl+s runs it; nothing runs unseen.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.widgets import SelectionList, Static

from workbench.tui import format as fmt
from workbench.tui import keys
from workbench.tui.screens.base import Dialog


class PersonaPicker(Dialog[list[str] | None]):
    """Tick personas (space/enter), run them (ctrl+s); dismisses with their ids, or None."""

    BINDINGS: ClassVar[list[BindingType]] = keys.PERSONA_PICK
    HELP_SECTION = "Personas"

    def __init__(self, ranked: list[Any], chosen: list[Any], *, warning: str = "") -> None:
        """``warning``: that a run cannot be undone, said before it runs (markup)."""
        super().__init__()
        self.ranked = ranked
        self.chosen = {p.id for p in chosen}
        self.warning = warning

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide"):
            yield Static("Run which personas? [dim](most relevant first; the default is ticked)[/]"
                         + (f"\n{self.warning}" if self.warning else ""), classes="title")
            yield SelectionList[str](
                *[(f"{fmt.esc(p.name)}  [dim]{fmt.esc(p.category)}[/]", p.id, p.id in self.chosen) for p in self.ranked],
                id="persona-choices",
            )
            yield Static("", id="form-error", classes="error")
            yield Static(self.hint_text("space / enter: tick · {pick.run}: run · {pick.cancel}: cancel"), classes="hint")

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    def action_run(self) -> None:
        picked = list(self.query_one(SelectionList).selected)
        if not picked:
            self.query_one("#form-error", Static).update("Tick at least one persona")
            self.app.bell()
            return
        self.dismiss(picked)

    def action_cancel(self) -> None:
        self.dismiss(None)
