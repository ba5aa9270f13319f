"""The inbox's filter form (its Status choices follow its Source) and its views dialog (built-in views plus named, saved filters)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Select, Static
from textual.widgets.option_list import Option

from workbench.services import inbox
from workbench.tui import format as fmt
from workbench.tui import keys
from workbench.tui.screens.base import Dialog
from workbench.tui.screens.forms import Field, FormDialog

if TYPE_CHECKING:
    from workbench.tui.screens.inbox import InboxScreen

_SOURCE_OPTIONS = [("all sources", ""), ("annotations", "annotation"), ("session comments", "comment"), ("test sessions", "test")]
_AUTOFIX_OPTIONS = [("any", ""), ("authorised", "yes"), ("not authorised", "no")]


def _filter_from(values: dict[str, Any]) -> inbox.InboxFilter:
    return inbox.InboxFilter(
        sources=(values["source"],) if values["source"] else (),
        status=values["status"],
        kind=values["kind"] or None,
        place=values["place"] or None,
        assignee=values["assignee"] or None,
        auto_fix={"yes": True, "no": False}.get(values["auto_fix"]),
        text=values["text"].strip(),
    )


def _status_options(screen: InboxScreen, source: str) -> list[tuple[str, str]]:
    """The Status choices for ``source`` ("": every source): a status only other sources have would match no row."""
    # A typed query looks in every status unless it names one (the filter bar says "status: any"): the
    # default's label says so, or the dialog read "awaiting attention" beside a bar saying "any".
    options = [("awaiting attention (searches: any)", inbox.AWAITING), ("any status", inbox.ALL)]
    shown = inbox.SOURCE_STATUSES[source] if source else screen.facets.statuses
    return options + [(fmt.status_label(s) + ("" if s not in ("completed", "analyzed") else f" ({s})"), s) for s in shown]


class FilterDialog(FormDialog):
    """The filter form, whose Status choices follow its Source."""

    def __init__(self, screen: InboxScreen, fields: list[Field], **kwargs: Any) -> None:
        super().__init__("Filter the inbox", fields, **kwargs)
        self.inbox_screen = screen

    @on(Select.Changed, "#field-source")
    def _source_changed(self, event: Select.Changed) -> None:
        field = next(f for f in self.fields if f.name == "status")
        field.options = _status_options(self.inbox_screen, str(event.value))
        status = self.query_one("#field-status", Select)
        chosen = status.value
        status.set_options(field.options)  # back to the first choice, "awaiting attention"
        if chosen in {value for _, value in field.options}:
            status.value = chosen


def filter_dialog(screen: InboxScreen) -> FilterDialog:
    f = screen.filter
    facets = screen.facets
    source = f.sources[0] if f.sources else ""
    statuses = _status_options(screen, source)
    # A status the source does not have (a saved view's) opens cleared, as choosing that source there would.
    status = f.status if f.status in {value for _, value in statuses} else inbox.AWAITING
    labels = {"annotation": "site", "comment": "store", "test": "study"}
    places = [("anywhere", "")] + [(f"{labels[src]}: {fmt.esc(name)}", pid) for pid, name, src in facets.places]
    members = [("anyone", ""), ("me", "me"), ("unassigned", "none")] + [(fmt.esc(name), uid) for uid, name in facets.members]
    fields = [
        Field("source", "Source", "select", source, _SOURCE_OPTIONS),
        Field("status", "Status", "select", status, statuses),
        Field("kind", "Kind (annotations)", "select", f.kind or "", [("any kind", "")] + [(k, k) for k in facets.kinds]),
        Field("place", "Site, store or study", "select", f.place or "", places),
        Field("assignee", "Assignee (annotations)", "select", f.assignee or "", members),
        Field("auto_fix", "Auto-fix", "select", "" if f.auto_fix is None else "yes" if f.auto_fix else "no", _AUTOFIX_OPTIONS),
        Field("text", "Search", "input", f.text, placeholder='words "a phrase" -word a OR b status: kind: age:<7d …'),
    ]

    def validate(values: dict[str, Any]) -> str | None:
        from workbench.domain.errors import Invalid

        try:
            n = inbox.count(screen.wb, screen.principal, _filter_from(values))
        except Invalid as exc:  # the search field's query does not read
            return exc.message
        return f"→ {n:,} matching rows"

    return FilterDialog(
        screen,
        fields,
        submit=_filter_from,
        validate=validate,
        submit_label="Apply",
        hint="{form.save} / enter in the search box: apply · {form.cancel}: cancel",
    )


class ViewsDialog(Dialog[tuple[str, inbox.InboxFilter] | None]):
    """Recall a view (enter), save the current filter under a name (s), delete a saved view (delete)."""

    BINDINGS: ClassVar[list[BindingType]] = keys.VIEWS
    HELP_SECTION = "Views"

    def __init__(self, screen: InboxScreen) -> None:
        super().__init__()
        self.inbox_screen = screen
        self.views: list[tuple[str, inbox.InboxFilter, bool]] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Views", classes="title")
            yield OptionList(id="views")
            yield Input(placeholder="name for the current filter, then enter", id="view-name")
            yield Static("", id="form-error", classes="error")
            yield Static(self.hint_text(
                "enter: show · {views.save}: save current filter as… · {views.delete}: remove a saved view · {views.cancel}: close"
            ), classes="hint")

    def on_mount(self) -> None:
        self.query_one("#view-name").display = False
        self._load()
        self.query_one("#views").focus()

    def _load(self) -> None:
        screen = self.inbox_screen
        saved = inbox.list_views(screen.wb, screen.principal)
        from workbench.tui.screens.inbox import BUILTIN_VIEWS, describe_filter

        self.views = [(name, f, False) for name, f in BUILTIN_VIEWS.items()]
        self.views += [(name, f, True) for name, f in saved.items()]
        options = self.query_one("#views", OptionList)
        options.clear_options()

        for i, (name, f, is_saved) in enumerate(self.views):
            chips = ", ".join(describe_filter(f, screen.facets)) or "awaiting attention"
            mark = "★ " if is_saved else "  "
            current = "  [b](current)[/]" if name == screen.view_name else ""
            options.add_option(Option(f"{mark}[b]{fmt.esc(name)}[/]{current}\n    [dim]{fmt.esc(chips)}[/]", id=str(i)))

    @on(OptionList.OptionSelected, "#views")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        name, f, _ = self.views[int(event.option.id or 0)]
        self.dismiss((name, f))

    def action_save(self) -> None:
        name_input = self.query_one("#view-name", Input)
        name_input.display = True
        name_input.focus()

    @on(Input.Submitted, "#view-name")
    def _save(self, event: Input.Submitted) -> None:
        screen = self.inbox_screen
        ok, reason = screen.wb_app.attempt(inbox.save_view, screen.wb, screen.principal, event.value, screen.filter, quiet=True)
        if not ok:
            self.query_one("#form-error", Static).update(Text(reason))
            return
        self.notify(f"Saved view '{event.value.strip()}'")
        self.dismiss((event.value.strip(), screen.filter))

    def action_delete(self) -> None:
        options = self.query_one("#views", OptionList)
        if options.highlighted is None:
            return
        name, _, is_saved = self.views[options.highlighted]
        if not is_saved:
            self.query_one("#form-error", Static).update(Text(f"'{name}' is built in and cannot be deleted"))
            return
        screen = self.inbox_screen
        ok, reason = screen.wb_app.attempt(inbox.delete_view, screen.wb, screen.principal, name, quiet=True)
        if not ok:
            self.query_one("#form-error", Static).update(Text(reason))
            return
        self.notify(f"Deleted view '{name}'")
        self._load()

    def action_cancel(self) -> None:
        self.dismiss(None)
