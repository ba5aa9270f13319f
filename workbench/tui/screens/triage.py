"""Triage of one annotation, shared by the inbox (the cursor row) and the detail screen.

One key per status of the taxonomy. Resolve and won't-fix ask for a summary; duplicate asks
which annotation it duplicates and records "duplicate of <id>"; assign offers the members.
Every write goes through ``workbench.services.annotations`` so the domain's rules apply, in a
worker (``workbench.tui.writes``) so a store busy with another writer never freezes the keys.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.widgets import Input, Static

from workbench.tui import format as fmt
from workbench.tui import keys
from workbench.tui.screens.base import Dialog, workbench_app
from workbench.tui.screens.forms import ChoiceDialog, text_prompt
from workbench.tui.widgets.virtual_list import Column, VirtualList
from workbench.tui.writes import submit_write

if TYPE_CHECKING:
    from workbench.tui.app import WorkbenchApp

SUMMARY_STATUSES = {"resolved": "Resolve", "won_t_fix": "Won't fix"}

def set_status(app: WorkbenchApp, annotation_id: str, status: str, *, on_done: Callable[[], None], label: str = "") -> None:
    """Set ``status``, asking first for what it needs (a summary, the duplicated annotation)."""
    from workbench.domain.annotations import AnnotationPatch, required_summary
    from workbench.services import annotations as service
    from workbench.services import undo as recorded  # records the change for ``u``

    wb, principal = app.wb, app.principal
    if status in SUMMARY_STATUSES:
        ok, ann = app.attempt(service.get, wb, principal, annotation_id)
        if not ok:
            return

        def submit(text: str) -> Any:
            if status == "resolved":
                text = required_summary(text)  # as the CLI's resolve; won't fix may stay without a reason
            patch = AnnotationPatch.model_validate({"status": status, "summary": text.strip() or None})  # validates the key's status
            return recorded.apply_patch(wb, principal, annotation_id, patch)

        def closed(result: Any) -> None:
            if result is not None and not result.changes:
                app.notify(f"Already {fmt.status_label(status)} with that summary: nothing changed")
            elif result is not None:
                # What it now is ("Resolved: …"), not the button's word ("Resolve: …" read as a question).
                app.notify(f"{fmt.status_label(status).capitalize()}: {label or fmt.first_line(ann.body)[:60]}")
                on_done()

        app.push_screen(
            text_prompt(
                f"{SUMMARY_STATUSES[status]} — {fmt.esc(fmt.first_line(ann.body)[:60])}",
                "Summary",
                submit=submit,
                value=ann.summary or "",
                placeholder="e.g. Fixed in v2.4" if status == "resolved" else "e.g. Working as intended",
                submit_label=SUMMARY_STATUSES[status],
                hint=f"enter / {{form.save}}: {SUMMARY_STATUSES[status].lower()} · {{form.cancel}}: cancel",
            ),
            closed,
        )
        return
    if status == "duplicate":
        ok, ann = app.attempt(service.get, wb, principal, annotation_id)
        if not ok:
            return

        picker = DuplicatePicker(annotation_id, fmt.first_line(ann.body))

        def chosen(target: str | None) -> None:
            if target and not picker.changed:
                app.notify(f"Already duplicate of …{fmt.short_id(target)}: nothing changed")
            elif target:
                app.notify(f"Marked duplicate of …{fmt.short_id(target)}")
                on_done()

        app.push_screen(picker, chosen)
        return

    def applied(done: Any) -> None:
        if not done.changes:
            app.notify(f"Already {fmt.status_label(status)}: nothing changed")
        else:
            app.notify(f"Status → {fmt.status_label(status)}")
            on_done()

    submit_write(app.screen, recorded.apply_patch, wb, principal, annotation_id, AnnotationPatch.model_validate({"status": status}), done=applied)


def assign(app: WorkbenchApp, annotation_id: str, *, on_done: Callable[[], None]) -> None:
    from workbench.domain.annotations import AnnotationPatch
    from workbench.services import annotations as service
    from workbench.services import inbox
    from workbench.services import undo as recorded  # records the change for ``u``

    wb, principal = app.wb, app.principal
    ok, ann = app.attempt(service.get, wb, principal, annotation_id)
    if not ok:
        return
    facets = inbox.facets(wb, principal)
    members = facets.members
    options: list[tuple[str, Any]] = [("— unassigned —", "")]
    options += [(f"{fmt.esc(name)}{'  (me)' if uid == principal.user_id else ''}", uid) for uid, name in members]
    if facets.replica and not members:
        app.notify("No members of the server's workspace are known here yet: they appear once they reply or "
                   "are assigned (sync brings them). Only unassign is offered.", title="Assign", severity="warning", timeout=10)

    changed: list[bool] = []

    def choose(value: str) -> None:
        changed.append(bool(recorded.apply_patch(wb, principal, annotation_id, AnnotationPatch(assignee_id=value or None)).changes))

    def closed(value: Any) -> None:
        if value is not None:
            name = dict(members).get(value, "nobody")
            if changed and not changed[-1]:
                app.notify(f"Already {'assigned to ' + name if value else 'unassigned'}: nothing changed")
                return
            app.notify(f"Assigned to {name}" if value else "Unassigned")
            on_done()

    app.push_screen(
        ChoiceDialog(f"Assign — {fmt.esc(fmt.first_line(ann.body)[:60])}", options, choose=choose, highlighted=ann.assignee_id or ""),
        closed,
    )


class _AnnotationSource:
    """Annotations of every status matching a search, for the duplicate picker."""

    def __init__(self, app: WorkbenchApp, exclude: str, text: str = "") -> None:
        from workbench.services import inbox

        self.app = app
        self.exclude = exclude
        self.filter = inbox.InboxFilter(sources=("annotation",), status=inbox.ALL, text=text)
        self.facets = inbox.facets(app.wb, app.principal)

    def count(self) -> int:
        from workbench.services import inbox

        return inbox.count(self.app.wb, self.app.principal, self.filter)

    def fetch(self, offset: int, limit: int) -> Sequence[Any]:
        from workbench.services import inbox

        return inbox.window(self.app.wb, self.app.principal, self.filter, offset, limit)

    def key(self, row: Any) -> Hashable:
        return row.id

    def cells(self, row: Any) -> list[Text | str]:
        me = row.id == self.exclude
        return [
            Text(fmt.status_label(row.status), fmt.status_style(row.status)),
            self.facets.place_name(row.place_id),
            Text(("(this one) " if me else "") + row.first_line, "dim" if me else ""),
            fmt.age(self.app.now(), row.created_at),
        ]


class DuplicatePicker(Dialog[str | None]):
    """Which annotation does this one duplicate? Search, move, enter; or paste an id."""

    BINDINGS: ClassVar[list[BindingType]] = keys.DUPLICATE
    HELP_SECTION = "Duplicate"

    def __init__(self, annotation_id: str, title: str) -> None:
        super().__init__()
        self.annotation_id = annotation_id
        self.title_text = title
        self.changed = False  # whether the choice changed anything (the same target again does not)
        self.saving = False  # the choice is being written in a worker

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -wide"):
            yield Static(f"Duplicate of which annotation?  [dim]({fmt.esc(self.title_text[:60])})[/]", classes="title")
            yield Input(placeholder="search words, or paste an annotation id", id="dup-search")
            yield VirtualList(
                _AnnotationSource(workbench_app(self), self.annotation_id),
                [Column("STATUS", 11), Column("SITE", 16), Column("FEEDBACK"), Column("AGE", 4, "right")],
                selectable=False,
                empty_text="No annotation matches.",
                id="dup-list",
            )
            yield Static("", id="form-error", classes="error")
            yield Static(self.hint_text("type to search · {duplicate.to_list} to the list · enter: choose · {duplicate.cancel}: cancel"),
                         classes="hint")

    def on_mount(self) -> None:
        self.query_one(VirtualList).reload(keep_cursor=False)
        self.query_one("#dup-search").focus()

    @on(Input.Changed, "#dup-search")
    def _search(self, event: Input.Changed) -> None:
        from workbench.domain.errors import Invalid
        from workbench.services import inbox

        vlist = self.query_one(VirtualList)
        source = vlist.source_as(_AnnotationSource)
        wanted = source.filter.with_(text=event.value)
        app = workbench_app(self)
        try:
            inbox.check(app.wb, app.principal, wanted)
        except Invalid as exc:  # the search language's refusal, e.g. an unknown qualifier
            self.query_one("#form-error", Static).update(Text(exc.message))
            return
        self.query_one("#form-error", Static).update("")
        source.filter = wanted
        vlist.reload(keep_cursor=False)

    @on(Input.Submitted, "#dup-search")
    def _submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if len(value) == 36 and value.count("-") == 4:
            self._choose(value)
        else:
            self.action_focus_list()

    def action_focus_list(self) -> None:
        self.query_one(VirtualList).focus()

    @on(VirtualList.Activated, "#dup-list")
    def _activated(self, event: VirtualList.Activated) -> None:
        self._choose(event.row.id)

    def _choose(self, target: str) -> None:
        """Mark the annotation a duplicate of ``target`` (in a worker); a refusal shows in the dialog."""
        from workbench.domain.annotations import AnnotationPatch
        from workbench.domain.duplicates import duplicate_summary
        from workbench.domain.errors import Invalid
        from workbench.services import annotations as service
        from workbench.services import undo as recorded  # records the change for ``u``

        if self.saving:
            return
        app = workbench_app(self)
        wb, principal, annotation_id = app.wb, app.principal, self.annotation_id

        def mark() -> Any:
            if target == annotation_id:
                raise Invalid("An annotation cannot duplicate itself")
            service.get(wb, principal, target)  # NotFound when it does not exist
            return recorded.apply_patch(wb, principal, annotation_id, AnnotationPatch(status="duplicate", summary=duplicate_summary(target)))

        def marked(done: Any) -> None:
            self.changed = bool(done.changes)
            self.dismiss(target)

        def refused(reason: str) -> None:
            self.saving = False
            self.query_one("#form-error", Static).update(Text(reason))

        self.saving = True
        submit_write(self, mark, done=marked, refused=refused)

    def action_cancel(self) -> None:
        if self.saving:  # the choice is being written; its outcome closes the dialog
            self.app.bell()
            return
        self.dismiss(None)
