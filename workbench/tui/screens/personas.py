"""Personas by category: create, edit, delete, reset one default or all of them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import Input

from workbench.domain.query import Search, parse_words
from workbench.tui import format as fmt
from workbench.tui import keys
from workbench.tui.screens.forms import ChoiceDialog, Field, FormDialog
from workbench.tui.screens.two_pane import RowsSource, TwoPaneScreen
from workbench.tui.widgets.virtual_list import Column, VirtualList

EMPTY_TEXT = "No personas. Press R to restore the defaults."
# At 80 columns the name gives back cells and the voice (in the preview, and enter's form) is dropped, so the screen's
# edge cuts neither the focus words nor the voice mid-word. Wider, the name and the voice grow to their longest
# defaults' length before the focus words take the rest: at 200 columns "Sam, cognitive-accessibility advo…" and
# "formal, cites crite…" were cut beside 80 empty cells of focus.
COLUMNS = [Column("CATEGORY", 15, grow=1, max_width=15, min_width=13), Column("NAME", 34, grow=1, max_width=40, min_width=30),
           Column("", 7), Column("FOCUS", 0, min_width=20), Column("VOICE", 20, grow=1, max_width=32, min_width=20, drop=1)]


class PersonaSource(RowsSource):
    def __init__(self, screen: PersonasScreen) -> None:
        super().__init__(screen)
        self.category: str | None = None
        self.search: Search | None = None  # words typed after /
        self.group_starts: set[str] = set()

    def load(self) -> Sequence[Any]:
        from workbench.services import personas as service

        rows = [p for p in service.list_mine(self.wb, self.screen.principal)
                if (self.category is None or p.category == self.category) and self._found(p)]
        # A category is named on its first row only, so the groups read as groups.
        self.group_starts = {p.id for i, p in enumerate(rows) if i == 0 or rows[i - 1].category != p.category}
        return rows

    def _found(self, p: Any) -> bool:
        if self.search is None:
            return True
        return self.search.matches_text(" ".join([p.name, p.slug, p.category, p.description or "", *p.focus, p.voice or ""]))

    def cells(self, row: Any) -> list[Text | str]:
        return [
            Text(row.category if row.id in self.group_starts else "", style="bold #6fb3d2"),
            Text(row.name, style="bold"),
            Text("default", style="dim") if row.is_default else Text("custom", style="#c792ea"),
            ", ".join(row.focus),
            Text(row.voice, style="italic dim"),
        ]


class PersonasScreen(TwoPaneScreen):
    """Personas"""

    BINDINGS: ClassVar[list[BindingType]] = keys.PERSONAS
    HELP_SECTION = "Personas"
    AUTO_FOCUS = "#persona-list"
    SEARCH_SYNTAX = "words"  # ? and the palette show the query language
    PANES = ("persona-list",)

    def compose_panes(self) -> ComposeResult:
        yield Input(placeholder='words "a phrase" -word a OR b over names, categories, focus and voice (esc: clear)',
                    id="search", classes="search")
        yield VirtualList(PersonaSource(self), COLUMNS, selectable=False, id="persona-list", empty_text=EMPTY_TEXT)

    @property
    def list(self) -> VirtualList:
        return self.query_one("#persona-list", VirtualList)

    @property
    def source(self) -> PersonaSource:
        return self.list.source_as(PersonaSource)

    def refresh_data(self) -> None:
        self.list.reload(keep_cursor=True)
        self.show_preview()
        rows = self.source.rows
        customs = sum(1 for p in rows if not p.is_default)
        categories = len({p.category for p in rows})
        cat = self.source.category
        search = self.source.search
        found = f"  [reverse] search: {fmt.esc(search.text)} [/]" if search is not None and search.text else ""
        self.query_one("#filterbar").remove_class("-refusal")
        self.set_bar("filterbar",
            f"[b]{'Category: ' + fmt.esc(cat) if cat else 'All categories'}[/]{found}  [dim]ordered by category, defaults first, then name[/]"
        )
        self.set_bar("statusbar", f"[b]{len(rows)}[/] personas  │  {categories} categories  │  {customs} custom")

    def preview_of(self, pane: VirtualList, row: Any) -> Text:
        text = Text()
        text.append(fmt.safe(row.name), style="bold")
        text.append(f"  {fmt.safe(row.category)} · {fmt.safe(row.slug)} · {'default' if row.is_default else 'custom'}\n", style="dim")
        text.append(fmt.safe(row.description or "—") + "\n")
        # The voice before the focus words: at 80×24 a long focus list pushed it past the preview's
        # last line, and the list leaves its column out there.
        text.append("voice ", style="dim")
        text.append(fmt.safe(row.voice or "—"), style="italic")
        text.append("   focus ", style="dim")
        text.append(fmt.safe(", ".join(row.focus) or "—"))
        return text

    # -- search ----------------------------------------------------------------------------
    def action_search(self) -> None:
        search = self.query_one("#search", Input)
        search.add_class("-visible")
        self.set_focus(search)

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        from workbench.domain.errors import Invalid
        from workbench.tui import search as search_ui

        try:
            parsed = parse_words(event.value, "Personas")
        except Invalid as exc:
            self.query_one("#filterbar").add_class("-refusal")  # told whole (app.tcss)
            self.set_bar("filterbar", search_ui.error_text(exc.message))
            return
        self.source.search = None if parsed.is_empty else parsed
        self.list.empty_text = search_ui.empty_text(event.value) if event.value.strip() else EMPTY_TEXT
        self.refresh_data()

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.query_one("#search").remove_class("-visible")
        self.list.focus()

    def action_clear_search(self) -> None:
        search = self.query_one("#search", Input)
        if search.value or search.has_class("-visible"):
            search.value = ""  # Changed clears the filter
            search.remove_class("-visible")
        self.list.focus()

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

        self.confirm_write("Delete persona", f"Delete [b]{fmt.esc(persona.name)}[/] ({fmt.esc(persona.category)})?", "Delete",
                           service.delete, self.wb, self.principal, persona.id, danger=True,
                           succeeded=f"Deleted {persona.name}" + (" (R restores defaults)" if persona.is_default else ""))

    def action_reset_one(self) -> None:
        from workbench.services import personas as service

        persona = self.list.current
        if persona is None:
            return

        self.confirm_write("Reset persona", f"Restore [b]{fmt.esc(persona.name)}[/] to the shipped default?", "Reset",
                           service.reset_defaults, self.wb, self.principal, persona.slug,
                           succeeded=f"Restored {persona.slug} to its default")

    def action_reset_all(self) -> None:
        from workbench.services import personas as service

        def reset(count: Any) -> None:
            self.notify(f"Reset {count} default personas (customs untouched)")
            self.refresh_data()

        self.confirm_write("Reset defaults", "Restore every default persona (re-creating deleted ones)? Custom personas stay.",
                           "Reset all", service.reset_defaults, self.wb, self.principal, None, done=reset)

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
