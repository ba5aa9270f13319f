"""Personas by category: create, edit, delete, reset one default or all of them."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import Header, Static

from workbench.tui import format as fmt
from workbench.tui import keys
from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.screens.forms import ChoiceDialog, ConfirmDialog, Field, FormDialog
from workbench.tui.widgets.footer import Footer
from workbench.tui.widgets.sync_line import SyncLine
from workbench.tui.widgets.virtual_list import Column, VirtualList

COLUMNS = [Column("CATEGORY", 15), Column("NAME", 34), Column("", 7), Column("FOCUS", 0, min_width=20), Column("VOICE", 20)]


class PersonaSource:
    def __init__(self, screen: PersonasScreen) -> None:
        self.screen = screen
        self.rows: list[Any] = []
        self.category: str | None = None
        self.group_starts: set[str] = set()

    def count(self) -> int:
        from workbench.services import personas as service

        rows = service.list_mine(self.screen.wb, self.screen.principal)
        self.rows = [p for p in rows if self.category is None or p.category == self.category]
        # A category is named on its first row only, so the groups read as groups.
        self.group_starts = {p.id for i, p in enumerate(self.rows) if i == 0 or self.rows[i - 1].category != p.category}
        return len(self.rows)

    def fetch(self, offset: int, limit: int) -> Sequence[Any]:
        return self.rows[offset : offset + limit]

    def key(self, row: Any) -> Hashable:
        return row.id

    def cells(self, row: Any) -> list[Text | str]:
        return [
            Text(row.category if row.id in self.group_starts else "", style="bold #6fb3d2"),
            Text(row.name, style="bold"),
            Text("default", style="dim") if row.is_default else Text("custom", style="#c792ea"),
            ", ".join(row.focus),
            Text(row.voice, style="italic dim"),
        ]


class PersonasScreen(WorkbenchScreen):
    """Personas"""

    BINDINGS: ClassVar[list[BindingType]] = keys.PERSONAS
    HELP_SECTION = "Personas"
    AUTO_FOCUS = "#persona-list"

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        yield Static("", id="filterbar", classes="bar")
        yield VirtualList(PersonaSource(self), COLUMNS, selectable=False, id="persona-list", empty_text="No personas. Press R to restore the defaults.")
        yield Static("", id="preview")
        yield Static("", id="statusbar", classes="bar")
        yield SyncLine()
        yield Footer()

    @property
    def list(self) -> VirtualList:
        return self.query_one("#persona-list", VirtualList)

    @property
    def source(self) -> PersonaSource:
        return self.list.source_as(PersonaSource)

    def on_mount(self) -> None:
        self.sub_title = "Personas"
        self.refresh_data()

    def refresh_data(self) -> None:
        self.list.reload(keep_cursor=True)
        self._preview(self.list.current)
        rows = self.source.rows
        customs = sum(1 for p in rows if not p.is_default)
        categories = len({p.category for p in rows})
        cat = self.source.category
        self.query_one("#filterbar", Static).update(
            f"[b]{'Category: ' + fmt.esc(cat) if cat else 'All categories'}[/]  [dim]ordered by category, defaults first, then name[/]"
        )
        self.query_one("#statusbar", Static).update(
            f"[b]{len(rows)}[/] personas  │  {categories} categories  │  {customs} custom"
        )

    def _preview(self, persona: Any) -> None:
        if persona is None:
            self.query_one("#preview", Static).update("")
            return
        text = Text()
        text.append(persona.name, style="bold")
        text.append(f"  {persona.category} · {persona.slug} · {'default' if persona.is_default else 'custom'}\n", style="dim")
        text.append((persona.description or "—") + "\n")
        text.append("focus ", style="dim")
        text.append(", ".join(persona.focus) or "—")
        text.append("   voice ", style="dim")
        text.append(persona.voice or "—", style="italic")
        self.query_one("#preview", Static).update(text)

    @on(VirtualList.Highlighted, "#persona-list")
    def _highlighted(self, event: VirtualList.Highlighted) -> None:
        self._preview(event.row)

    @on(VirtualList.Activated, "#persona-list")
    def _activated(self) -> None:
        self.action_edit()

    # -- actions ---------------------------------------------------------------------------
    def _form(self, title: str, persona: Any, submit: Any) -> FormDialog:
        return FormDialog(
            title,
            [
                Field("name", "Name", value=persona.name if persona else ""),
                Field("category", "Category (a-z, 0-9, -)", value=persona.category if persona else ""),
                Field("description", "Description", "text", persona.description if persona else ""),
                Field("focus", "Focus (comma-separated)", value=", ".join(persona.focus) if persona else ""),
                Field("voice", "Voice", value=persona.voice if persona else ""),
            ],
            submit=submit,
            wide=True,
        )

    @staticmethod
    def _focus(text: str) -> list[str]:
        return [w.strip() for w in text.split(",") if w.strip()]

    def action_new(self) -> None:
        from workbench.domain.personas import PersonaCreate
        from workbench.services import personas as service

        def submit(values: dict[str, Any]) -> Any:
            req = PersonaCreate(
                name=values["name"], category=values["category"].strip(), description=values["description"],
                focus=self._focus(values["focus"]), voice=values["voice"],
            )
            return service.create(self.wb, self.principal, req)

        def closed(result: Any) -> None:
            if result is not None:
                self.notify(f"Created persona {result.name}")
                self.refresh_data()
                self._move_to(result.id)

        self.app.push_screen(self._form("New persona", None, submit), closed)

    def action_edit(self) -> None:
        from workbench.domain.personas import PersonaUpdate
        from workbench.services import personas as service

        persona = self.list.current
        if persona is None:
            return

        def submit(values: dict[str, Any]) -> Any:
            changes: dict[str, Any] = {}
            for name in ("name", "description", "voice"):
                if values[name] != getattr(persona, name):
                    changes[name] = values[name]
            if values["category"].strip() != persona.category:
                changes["category"] = values["category"].strip()
            if self._focus(values["focus"]) != list(persona.focus):
                changes["focus"] = self._focus(values["focus"])
            if not changes:
                return persona
            return service.update(self.wb, self.principal, persona.id, PersonaUpdate(**changes))

        def closed(result: Any) -> None:
            if result is not None:
                self.notify(f"Saved {result.name}")
                self.refresh_data()

        self.app.push_screen(self._form(f"Edit persona — {fmt.esc(persona.name)}", persona, submit), closed)

    def action_delete(self) -> None:
        from workbench.services import personas as service

        persona = self.list.current
        if persona is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                ok, _ = self.attempt(service.delete, self.wb, self.principal, persona.id)
                if ok:
                    self.notify(f"Deleted {persona.name}" + (" (R restores defaults)" if persona.is_default else ""))
                    self.refresh_data()

        question = f"Delete [b]{fmt.esc(persona.name)}[/] ({fmt.esc(persona.category)})?"
        self.app.push_screen(ConfirmDialog("Delete persona", question, yes="Delete", danger=True), answered)

    def action_reset_one(self) -> None:
        from workbench.services import personas as service

        persona = self.list.current
        if persona is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                ok, _ = self.attempt(service.reset_defaults, self.wb, self.principal, persona.slug)
                if ok:
                    self.notify(f"Restored {persona.slug} to its default")
                    self.refresh_data()

        self.app.push_screen(ConfirmDialog("Reset persona", f"Restore [b]{fmt.esc(persona.name)}[/] to the shipped default?", yes="Reset"), answered)

    def action_reset_all(self) -> None:
        from workbench.services import personas as service

        def answered(yes: bool | None) -> None:
            if yes:
                ok, count = self.attempt(service.reset_defaults, self.wb, self.principal, None)
                if ok:
                    self.notify(f"Reset {count} default personas (customs untouched)")
                    self.refresh_data()

        self.app.push_screen(
            ConfirmDialog("Reset defaults", "Restore every default persona (re-creating deleted ones)? Custom personas stay.", yes="Reset all"),
            answered,
        )

    def action_filter(self) -> None:
        from workbench.services import personas as service

        categories = sorted({p.category for p in service.list_mine(self.wb, self.principal)})
        options: list[tuple[str, Any]] = [("All categories", "")] + [(fmt.esc(c), c) for c in categories]

        def chosen(value: Any) -> None:
            if value is not None:
                self.source.category = value or None
                self.list.reload(keep_cursor=False)
                self.refresh_data()

        self.app.push_screen(ChoiceDialog("Show category", options, highlighted=self.source.category or ""), chosen)

    def _move_to(self, persona_id: str) -> None:
        for i, p in enumerate(self.source.rows):
            if p.id == persona_id:
                self.list.move_cursor(i)
                return

    def focus_item(self, parent_id: str | None, item_id: str) -> None:
        self._move_to(item_id)
