"""Bulk actions: choose one action for the selected rows, preview it, apply it in a worker, read the outcome.

The preview and the outcome come from ``workbench.services.inbox`` (``preview``/``apply``),
so they say exactly what the rules accept and refuse, item by item.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.widgets import Input, OptionList, ProgressBar, Static
from textual.widgets.option_list import Option

from workbench.domain.blank import is_blank
from workbench.services import bulk, inbox
from workbench.tui import format as fmt
from workbench.tui import keys
from workbench.tui.messages import BulkApplied, BulkProgressed
from workbench.tui.screens.base import Dialog, workbench_app
from workbench.tui.widgets.virtual_list import Column, VirtualList

if TYPE_CHECKING:
    from workbench.tui.app import WorkbenchApp


class ItemsSource:
    """A short in-memory list (the preview and the outcome of a bulk action)."""

    def __init__(self, items: list[bulk.BulkItem], *, done: bool) -> None:
        self.items = items
        self.done = done

    def count(self) -> int:
        return len(self.items)

    def fetch(self, offset: int, limit: int) -> Sequence[bulk.BulkItem]:
        return self.items[offset : offset + limit]

    def key(self, row: bulk.BulkItem) -> Hashable:
        return (row.source, row.id)

    def cells(self, row: bulk.BulkItem) -> list[Text | str]:
        if row.ok:
            mark = Text("✓ done" if self.done else "✓ will", style="bold #4fbf67")
        elif row.unchanged:  # already so: nothing refused it, nothing to do
            mark = Text("= as is", style="dim")
        else:
            mark = Text("✗ refused", style="bold #e05561")
        return [mark, Text(fmt.SOURCE_LABELS.get(row.source, row.source), style=fmt.SOURCE_COLORS.get(row.source, "")),
                row.label, Text(row.message, style="" if row.ok else "dim" if row.unchanged else "#e05561")]


def tally(items: list[bulk.BulkItem], done: bool) -> str:
    """The preview's or the result's count line: what will change (or changed), what is already so, what was refused."""
    ok = sum(1 for i in items if i.ok)
    same = sum(1 for i in items if i.unchanged)
    refused = len(items) - ok - same
    parts = [f"{fmt.plural(ok, 'row')} {'changed' if done else 'will change'}"]
    if same:
        parts.append(f"[dim]{fmt.plural(same, 'row')} already so[/]")
    if refused or not same:
        parts.append(f"[#e05561]{fmt.plural(refused, 'row')} refused[/]")
    return ", ".join(parts)


# At 80 columns the item gives back cells so the list fits the dialog: wider than it, a refusal's reason
# was cut by the dialog's edge with no "…" ("Test sessions are"). The highlighted row's is in full below.
ITEM_COLUMNS = [Column("", 9), Column("SRC", 4), Column("ITEM", 34, grow=1, max_width=34, min_width=16),
                Column("CHANGE / REASON", 0, min_width=30)]


def resolve_comment(app: WorkbenchApp, row: inbox.InboxRow, *, on_done: Callable[[], None]) -> None:
    """Resolve one feedback comment (from the inbox) in a worker; the refusal, if any, is shown."""
    from workbench.services import undo as recorded  # records the change for ``u``
    from workbench.tui.writes import submit_write

    def applied(item: bulk.BulkItem) -> None:
        if item.ok:
            app.notify("Comment resolved")
            on_done()
        elif item.unchanged:  # someone (a sync) resolved it meanwhile: nothing was refused
            app.notify(item.message)
            on_done()
        else:
            app.notify(item.message, title="Refused", severity="error", timeout=8, markup=False)

    submit_write(app.screen, recorded.resolve_comment_row, app.wb, app.principal, row, done=applied)


class BulkDialog(Dialog[bool]):
    """choose → (summary) → preview → running → results."""

    BINDINGS: ClassVar[list[BindingType]] = keys.BULK
    HELP_SECTION = "Bulk"

    def __init__(self, rows: list[inbox.InboxRow], facets: inbox.Facets) -> None:
        super().__init__()
        self.rows = rows
        self.facets = facets
        self.stage = "choose"
        self.summary_status = ""  # the status the summary prompt is for
        self.action: bulk.BulkAction | None = None
        self.will_change = 0  # rows the preview says the action would change
        self.applied = False
        self.choices: list[tuple[str, Any]] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide", id="bulk"):
            yield Static(f"Bulk action on {fmt.plural(len(self.rows), 'row')}", classes="title", id="bulk-title")
            yield Vertical(id="bulk-body")
            yield Static("", id="form-error", classes="error")
            yield Static("", id="bulk-hint", classes="hint")

    def on_mount(self) -> None:
        self._show_choices()

    @property
    def members(self) -> dict[str, str]:
        return dict(self.facets.members)

    def _hint(self, text: str) -> None:
        self.query_one("#bulk-hint", Static).update(self.hint_text(text))

    def _body(self) -> Vertical:
        return self.query_one("#bulk-body", Vertical)

    # -- stages ------------------------------------------------------------------------------
    def _show_choices(self) -> None:
        self.stage = "choose"
        self.choices = [(f"Set status → {fmt.status_markup(s)}", ("status", s)) for s in
                        ("new", "ack", "triaged", "in_progress", "resolved", "won_t_fix", "duplicate")]
        self.choices += [(f"Assign to [b]{fmt.esc(name)}[/]", ("assign", uid)) for uid, name in self.facets.members]
        self.choices += [("Unassign", ("assign", None))]
        body = self._body()
        body.remove_children()
        options = OptionList(*[Option(label, id=str(i)) for i, (label, _) in enumerate(self.choices)], id="bulk-actions")
        body.mount(options)
        options.focus()
        # No action is preselected: enter on an untouched list must not pick the first one ("new").
        self.call_after_refresh(setattr, options, "highlighted", None)
        self._hint("↓/↑ then enter: choose an action · {bulk.close}: cancel   (resolved also resolves selected session comments)")

    def key_enter(self) -> None:
        # Enter with nothing highlighted yet: say so, rather than nothing at all.
        if self.stage == "choose" and self.query_one("#bulk-actions", OptionList).highlighted is None:
            self.query_one("#form-error", Static).update("Choose an action first (↓/↑), then enter")
            self.app.bell()

    @on(OptionList.OptionSelected, "#bulk-actions")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#form-error", Static).update("")
        kind, value = self.choices[int(event.option.id or 0)][1]
        if kind == "assign":
            self._show_preview(bulk.BulkAction("assign", assignee_id=value))
        elif value in ("resolved", "won_t_fix", "duplicate"):
            self._ask_summary(value)
        else:
            self._show_preview(bulk.BulkAction("set_status", status=value))

    def _ask_summary(self, status: str) -> None:
        self.stage = "summary"
        body = self._body()
        body.remove_children()
        label = "Duplicate of which annotation? (its id)" if status == "duplicate" else "Summary for every row"
        body.mount(Static(label))
        box = Input(placeholder="annotation id" if status == "duplicate" else "e.g. Fixed in v2.4", id="bulk-summary")
        self.summary_status = status
        body.mount(box)
        box.focus()
        self._hint("enter: preview · {bulk.close}: cancel")

    @on(Input.Submitted, "#bulk-summary")
    def _summary(self, event: Input.Submitted) -> None:
        status = self.summary_status
        text = event.value.strip()
        if status == "duplicate":
            from workbench.services import annotations as service

            app = workbench_app(self)
            ok, reason = app.attempt(service.get, app.wb, app.principal, text, quiet=True)
            if not ok:
                self.query_one("#form-error", Static).update(Text(reason))
                return
            text = f"duplicate of {text}"
        elif status == "resolved" and is_blank(text) and any(row.source == "annotation" for row in self.rows):
            # As r on one annotation (triage.set_status); a feedback comment takes no summary.
            from workbench.domain.annotations import BLANK_RESOLVE_SUMMARY  # pydantic: not on first paint

            self.query_one("#form-error", Static).update(Text(BLANK_RESOLVE_SUMMARY))
            return
        self.query_one("#form-error", Static).update("")
        self._show_preview(bulk.BulkAction("set_status", status=status, summary=None if is_blank(text) else text))

    def _show_preview(self, action: bulk.BulkAction) -> None:
        self.stage = "preview"
        self.action = action
        items = bulk.preview(action, self.rows, self.members)
        ok = sum(1 for i in items if i.ok)
        self.will_change = ok
        body = self._body()
        body.remove_children()
        body.mount(Static(f"[b]{fmt.esc(action.describe(self.members))}[/] — {tally(items, done=False)}"))
        preview = VirtualList(ItemsSource(items, done=False), ITEM_COLUMNS, selectable=False, id="bulk-preview")
        body.mount(preview)
        body.mount(Static("", id="bulk-item"))
        preview.reload(keep_cursor=False)
        preview.focus()
        self._hint("{bulk.apply}: apply · {bulk.close}: back" if ok else "nothing to apply · {bulk.close}: back")

    def action_apply(self) -> None:
        if self.stage != "preview" or self.action is None:
            return
        if not self.will_change:  # every row refused: the hint says there is nothing to apply
            self.app.bell()
            return
        self.stage = "running"
        body = self._body()
        body.remove_children()
        body.mount(Static(Text(f"Applying: {self.action.describe(self.members)}…")))
        body.mount(ProgressBar(total=len(self.rows), show_eta=False, id="bulk-progress"))
        self._hint("working…")
        self.run_bulk(self.action)

    @work(thread=True, exclusive=True, group="bulk", exit_on_error=False)
    def run_bulk(self, action: bulk.BulkAction) -> None:
        app = workbench_app(self)
        total = len(self.rows)
        # apply reports each row's failure itself; anything escaping it is shown, never a crash.
        from workbench.services import undo as recorded  # the batch is one action for ``u``

        ok, items = app.attempt(
            recorded.bulk_apply, app.wb, app.principal, action, self.rows, progress=lambda n: self.post_message(BulkProgressed(n, total))
        )
        self.post_message(BulkApplied(items if ok else []))

    def on_bulk_progressed(self, message: BulkProgressed) -> None:
        for bar in self.query("#bulk-progress").results(ProgressBar):
            bar.update(progress=message.done)

    def on_bulk_applied(self, message: BulkApplied) -> None:
        self.stage = "results"
        self.applied = True
        items = message.items
        ok = sum(1 for i in items if i.ok)
        body = self._body()
        body.remove_children()
        body.mount(Static(f"[b]Done:[/] {tally(items, done=True)}"))
        results = VirtualList(ItemsSource(items, done=True), ITEM_COLUMNS, selectable=False, id="bulk-results")
        body.mount(results)
        body.mount(Static("", id="bulk-item"))
        results.reload(keep_cursor=False)
        results.focus()
        self._hint("{bulk.close}: close · then {app.undo} undoes the whole batch" if ok else "{bulk.close}: close")
        self.query_one("#bulk-title", Static).update("Bulk action — result")

    @on(VirtualList.Highlighted)
    def _item_highlighted(self, event: VirtualList.Highlighted) -> None:
        """The highlighted row's item and change or reason in full: the list cuts them to its columns."""
        row = event.row
        for shown in self.query("#bulk-item").results(Static):
            if row is None:
                shown.update("")
                continue
            said = fmt.plain(row.message, style="" if row.ok else "dim" if row.unchanged else "#e05561")
            said.append(f"  {fmt.cut(row.label, 60)}", style="dim")
            shown.update(said)

    def action_close(self) -> None:
        if self.stage == "running":
            return
        if self.stage in ("preview", "summary"):
            self.query_one("#form-error", Static).update("")
            self._show_choices()
            return
        self.dismiss(self.applied)
