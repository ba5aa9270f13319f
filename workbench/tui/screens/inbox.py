"""The inbox: everything awaiting attention across annotations, session comments and test sessions.

One virtual list over ``workbench.services.inbox`` (only the visible window is read), a
filter bar, ``/`` live full-text search, saved views, a preview of the highlighted row, a
status bar with counts, and triage keys that act on the cursor row (or, with ``b``, on the
selection).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, ClassVar, Protocol, runtime_checkable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Container
from textual.timer import Timer
from textual.widgets import Header, Input, Static

from workbench.domain.duplicates import duplicate_target
from workbench.services import inbox
from workbench.tui import format as fmt
from workbench.tui import keys
from workbench.tui import search as search_ui
from workbench.tui.messages import CountsFetched, RowsCounted
from workbench.tui.screens.base import WorkbenchScreen
from workbench.tui.widgets.footer import Footer
from workbench.tui.widgets.sync_line import SyncLine
from workbench.tui.widgets.virtual_list import Column, VirtualList

# Narrow terminals drop columns, highest ``drop`` first, so FEEDBACK (the text) keeps its room:
# the assignee at 80 columns (the preview names it), then site, page, auto-fix, kind, age and
# source, the preview (or enter) showing what the row no longer does. STATUS stays.
COLUMNS = [
    Column("SRC", 4, grow=1, max_width=10, drop=1),  # "annotation" in full once there is room
    Column("STATUS", 11),
    Column("KIND", 8, grow=1, max_width=13, drop=3),
    Column("SITE", 14, grow=3, max_width=32, min_width=10, drop=6),
    Column("PAGE", 18, grow=3, max_width=60, min_width=12, drop=5),
    Column("FEEDBACK", 0, min_width=16),
    Column("AGE", 4, "right", drop=2),
    Column("ASSIGNEE", 11, grow=1, max_width=22, drop=7),
    Column("AUTO", 4, drop=4),
]

SEARCH_PLACEHOLDER = 'words "a phrase" -word a OR b status: kind: site: assignee:@me age:<7d …  (esc: clear · ? on the list: syntax)'
EMPTY_TEXT = "Nothing awaiting attention here. Press v for other views."
SEARCH_DEBOUNCE = 0.06  # seconds of quiet typing before the search runs (its window: under 1 ms at 1M)

# From this many columns the preview sits beside the list (unless the user chose "below" with L):
# the list then still has ~100 columns, enough for every column at its base width.
SIDE_PREVIEW_FROM = 160
# From this many rows the preview shows below the list (80×24 keeps it, 6 rows high).
PREVIEW_BELOW_FROM = 20

BUILTIN_VIEWS: dict[str, inbox.InboxFilter] = {
    "Awaiting attention": inbox.InboxFilter(),
    "Everything": inbox.InboxFilter(status=inbox.ALL),
    "Assigned to me": inbox.InboxFilter(assignee="me"),
    "Unassigned": inbox.InboxFilter(assignee="none", sources=("annotation",)),
    "New": inbox.InboxFilter(status="new"),
    "Auto-fix authorised": inbox.InboxFilter(auto_fix=True),
    "Session comments": inbox.InboxFilter(sources=("comment",)),
    "Test sessions to handle": inbox.InboxFilter(sources=("test",)),
}


@runtime_checkable
class FocusesItems(Protocol):
    """A screen that can select one item of a parent (the modes an inbox row opens in)."""

    def focus_item(self, parent_id: str | None, item_id: str) -> None: ...


class InboxSource:
    """The inbox filter as a VirtualList source."""

    def __init__(self, screen: InboxScreen, f: inbox.InboxFilter) -> None:
        self.screen = screen
        self.filter = f

    def count(self) -> int:
        return inbox.count(self.screen.wb, self.screen.principal, self.filter)

    def fetch(self, offset: int, limit: int) -> Sequence[inbox.InboxRow]:
        return inbox.window(self.screen.wb, self.screen.principal, self.filter, offset, limit)

    def key(self, row: inbox.InboxRow) -> Hashable:
        return row.key

    def position(self, row: inbox.InboxRow) -> int:
        return inbox.position(self.screen.wb, self.screen.principal, self.filter, row)

    def cells(self, row: inbox.InboxRow) -> list[Text | str]:
        facets = self.screen.facets
        assignee = facets.member_name(row.assignee_id) if row.assignee_id else ""
        if row.assignee_id and row.assignee_id == self.screen.principal.user_id:
            assignee = "me"
        text = row.first_line
        if row.source == "test":
            text = test_summary(row)
        wide = self.screen.list.column_width(0) >= len("annotation")
        labels = fmt.SOURCE_NAMES if wide else fmt.SOURCE_LABELS
        return [
            Text(labels.get(row.source, row.source), style=fmt.SOURCE_COLORS.get(row.source, "")),
            Text(fmt.status_label(row.status), style=fmt.status_style(row.status)),
            row.kind if self.screen.list.column_width(2) >= len("accessibility") else fmt.kind_label(row.kind),
            fmt.safe(facets.place_name(row.place_id) or ""),
            fmt.safe(fmt.page_path(row.page) if row.source != "test" else row.page),
            fmt.safe(text),
            Text(fmt.age(self.screen.now(), row.created_at), style="dim"),
            assignee,
            Text("fix", style="bold #e6c84f") if row.auto_fix else "",
        ]


def test_summary(row: inbox.InboxRow) -> str:
    minutes = (row.extra.get("duration_seconds") or 0) // 60
    # As the Test sessions screen's DURATION past 100 minutes: "4869-minute run" was hard to read.
    length = f"{minutes}-minute" if minutes < 100 else f"{minutes // 60}h{minutes % 60:02d}m"
    run = f"{length} run by {row.text}" if minutes else f"run by {row.text}"
    if row.status == "completed":
        return f"{run} finished: analyze it"
    if row.status == "analyzed":
        return f"Analysis of the {run} is ready: confirm it"
    return f"{run} ({fmt.status_label(row.status)})"


def describe_filter(f: inbox.InboxFilter, facets: inbox.Facets) -> list[str]:
    """Human chips for the non-default parts of a filter."""
    chips = []
    if f.sources:
        chips.append("source: " + ", ".join(inbox.SOURCE_LABELS.get(s, s) for s in f.sources))
    if f.status == inbox.ALL or (f.status == inbox.AWAITING and f.text.strip() and "status:" not in f.text):
        chips.append("status: any")  # a typed query looks in every status
    elif f.status != inbox.AWAITING:
        chips.append(f"status: {fmt.status_label(f.status)}")
    if f.kind:
        chips.append(f"kind: {f.kind}")
    if f.place:
        chips.append(f"site: {facets.place_name(f.place) or f.place}")
    if f.assignee:
        chips.append("assignee: " + {"me": "me", "none": "unassigned"}.get(f.assignee, facets.member_name(f.assignee)))
    if f.auto_fix is not None:
        chips.append("auto-fix: " + ("authorised" if f.auto_fix else "not authorised"))
    if f.text.strip():
        chips.append(f"search: {f.text.strip()}")
    return chips


class InboxScreen(WorkbenchScreen):
    """Inbox"""

    BINDINGS: ClassVar[list[BindingType]] = keys.INBOX
    HELP_SECTION = "Inbox"
    SEARCH_SYNTAX = "inbox"  # ? and the palette show the query language
    AUTO_FOCUS = "#inbox-list"

    def __init__(self) -> None:
        super().__init__()
        self.filter = inbox.InboxFilter()
        self.view_name: str | None = "Awaiting attention"
        self.counts: dict[str, int] = {}
        self._search_timer: Timer | None = None
        self.counting = False
        self.facets = inbox.Facets([], [], [], [])
        self.query_error: str | None = None
        self.preview_choice: str | None = None  # "side" / "below" (L, remembered); None: by width

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        yield Static("", id="filterbar", classes="bar")
        yield Input(placeholder=SEARCH_PLACEHOLDER, id="search", classes="search")
        with Container(id="inbox-body"):
            yield VirtualList(None, COLUMNS, id="inbox-list", empty_text=EMPTY_TEXT)
            yield Static("", id="preview")
        yield Static("", id="statusbar", classes="bar")
        yield SyncLine()
        yield Footer()

    @property
    def list(self) -> VirtualList:
        return self.query_one("#inbox-list", VirtualList)

    def on_mount(self) -> None:
        from workbench.services import preferences

        self.sub_title = "Inbox"
        self.preview_choice = preferences.load(self.wb, self.principal, "inbox.preview")
        self._place_preview()
        self.facets = inbox.facets(self.wb, self.principal)
        self.list.source = InboxSource(self, self.filter)
        self._show_first_window()
        self._update_bars()
        # The status-bar counts scan the whole store: after the first paint, in a thread.
        self.call_after_refresh(self.fetch_counts)

    # -- preview placement -----------------------------------------------------------------
    @property
    def preview_side(self) -> bool:
        """Whether the preview sits beside the list now: the user's choice, else the width decides."""
        if self.preview_choice is not None:
            return self.preview_choice == "side"
        return self.app.size.width >= SIDE_PREVIEW_FROM

    def _place_preview(self) -> None:
        body = self.query_one("#inbox-body")
        body.set_class(self.preview_side, "-side")
        # Below the list on a short terminal the preview would leave the list two or three rows:
        # the list keeps them, and enter shows the row in full.
        body.set_class(not self.preview_side and self.app.size.height < PREVIEW_BELOW_FROM, "-no-preview")

    def on_resize(self) -> None:
        self._place_preview()
        self._update_bars()
        # The preview cuts its lines to its width, known once the new size is laid out.
        self.call_after_refresh(lambda: self._update_preview(self.list.current))

    def action_toggle_preview(self) -> None:
        from workbench.services import preferences

        self.preview_choice = "below" if self.preview_side else "side"
        self._place_preview()
        self._update_preview(self.list.current)
        self.attempt(preferences.save, self.wb, self.principal, "inbox.preview", self.preview_choice)
        self.notify(f"Preview {'beside' if self.preview_choice == 'side' else 'below'} the list (L toggles; remembered)")

    # -- data ------------------------------------------------------------------------------
    def refresh_data(self) -> None:
        """Live refresh: same filter, cursor on the same item, that item on the same line."""
        self.facets = inbox.facets(self.wb, self.principal)
        source = self.list.source_as(InboxSource)
        if self.filter.text.strip():
            # A search's count reads every match (0.4 s for a common word at 1M): keep the old
            # total for this paint and count in the worker, as a new search does.
            self.list.reload(keep_cursor=True, position=source.position, total=self.list.total)
            self.counting = True
            self.count_rows(self.filter)
        else:
            self.list.reload(keep_cursor=True, position=source.position)
        self._update_preview(self.list.current)
        self._update_bars()
        self.fetch_counts()

    @work(thread=True, exclusive=True, group="inbox-counts", exit_on_error=False)
    def fetch_counts(self) -> None:
        ok, counts = self.attempt(inbox.summary_counts, self.wb, self.principal)  # a failure is shown, not fatal
        if ok:
            self.post_message(CountsFetched(counts))

    def on_counts_fetched(self, message: CountsFetched) -> None:
        self.counts = message.counts
        self._update_bars()

    def apply_filter(self, f: inbox.InboxFilter, view_name: str | None = None) -> None:
        if not self._query_ok(f):
            return
        self.filter = f
        self.view_name = view_name
        source = self.list.source_as(InboxSource)
        source.filter = f
        self.list.empty_text = search_ui.empty_text(f.text) if f.text.strip() else EMPTY_TEXT
        self.list.clear_selection()
        self._show_first_window()
        self._update_bars()

    def _query_ok(self, f: inbox.InboxFilter) -> bool:
        """Whether the query reads; if not, the reason replaces the filter bar and the list stays as it was."""
        from workbench.domain.errors import Invalid

        try:
            inbox.check(self.wb, self.principal, f)
        except Invalid as exc:
            self.query_error = exc.message
            self._update_bars()
            return False
        self.query_error = None
        return True

    def _show_first_window(self) -> None:
        """Paint the first window at once; count the rows in a thread (SQLite runs it off the GIL)."""
        vlist = self.list
        first = inbox.window(self.wb, self.principal, self.filter, 0, vlist.page_size)
        exact = len(first) < vlist.page_size
        vlist.reload(keep_cursor=False, first_page=first, total=len(first) if exact else vlist.page_size * 2)
        self.counting = not exact
        if not exact:
            self.count_rows(self.filter)

    @work(thread=True, exclusive=True, group="inbox-count", exit_on_error=False)
    def count_rows(self, f: inbox.InboxFilter) -> None:
        ok, total = self.attempt(inbox.count, self.wb, self.principal, f)  # a failure is shown, not fatal
        if ok:
            self.post_message(RowsCounted(f, total))

    def on_rows_counted(self, message: RowsCounted) -> None:
        if message.filter == self.filter:
            self.counting = False
            self.list.set_total(message.total)
            self._update_bars()

    def _update_bars(self) -> None:
        chips = describe_filter(self.filter, self.facets)
        only_search = f"search: {self.filter.text.strip()}" in chips and all(c.startswith("search:") or c == "status: any" for c in chips)
        view = self.view_name or ("Search" if only_search else "Custom filter" if chips else "Awaiting attention")
        everything = "[dim]open annotations · open session comments · test sessions to analyze or confirm[/]"
        chip_text = "  ".join(f"[reverse] {fmt.esc(c)} [/]" for c in chips) if chips else everything
        bar = self.query_one("#filterbar", Static).set_class(bool(self.query_error), "-refusal")
        if self.query_error:
            bar.update(search_ui.error_text(self.query_error))
        else:
            bar.update(f"[b]{fmt.esc(view)}[/]  {chip_text}")
        c = self.counts
        shown = self.list.total
        narrow = self.app.size.width < 110  # 80 columns: the same counts in fewer words
        parts = [f"[b]{shown:,}{'+' if self.counting else ''}[/] shown"]
        if c:
            by_status = (" " if narrow else "  ").join(
                f"{fmt.status_markup(s)} {c.get(f'annotation:{s}', 0):,}" for s in ("new", "ack", "triaged", "in_progress")
            )
            parts.append(by_status if narrow else f"[dim]open:[/] {by_status}")
            parts.append(
                f"[dim]cmt[/] {c.get('awaiting:comment', 0):,} [dim]tests[/] {c.get('awaiting:test', 0):,}" if narrow else
                f"[dim]comments[/] {c.get('awaiting:comment', 0):,}  [dim]tests to handle[/] {c.get('awaiting:test', 0):,}"
            )
        selected = len(self.list.selection)
        if selected:  # first where the line is short: the selection is what the next key acts on
            parts.insert(0 if narrow else len(parts), f"[b reverse] {selected:,} selected [/]")
        line = (" │ " if narrow else "  │  ").join(parts)
        if narrow:
            # The bar is one line and cuts what does not fit: at 80 columns with a selection that was the
            # tests count, at 50 the comments' too. The selection and what is shown become one part; then
            # the open statuses' breakdown gives way whole, then the comments and tests.
            lead = [f"[b reverse]{selected:,} of {shown:,}{'+' if self.counting else ''} selected[/]"] if selected else parts[:1]
            rest = parts[1 + bool(selected):]  # the breakdown, the comments and tests
            room = self.app.size.width - 2  # the bar's padding
            shorter = [" │ ".join(lead + rest), " │ ".join(lead + rest[1:]), lead[0]]
            line = next((t for t in [line, *shorter] if fmt.markup_text(t).cell_len <= room), shorter[-1])
        self.query_one("#statusbar", Static).update(line)

    def _update_preview(self, row: inbox.InboxRow | None) -> None:
        preview = self.query_one("#preview", Static)
        if row is None:
            preview.update("")
            return
        now = self.now()
        place = self.facets.place_name(row.place_id)
        head = f"{fmt.status_markup(row.status)}  [b]{fmt.esc(fmt.kind_label(row.kind))}[/]  {fmt.esc(place)}  [dim]{fmt.ago(now, row.created_at)}[/]"
        lines = [head]
        # A page or a selector is one line, cut to the preview's width: a long URL (tracking parameters,
        # a deep path) wrapped over the few lines the preview has and pushed the feedback out of sight.
        room = max((preview.content_size.width or self.size.width - 2) - 1, 20)
        if row.source == "annotation":
            # Unnamed, a stakeholder is still no anonymous visitor: it came with a stakeholder's token.
            submitter = row.extra.get("submitter") or ("a stakeholder" if row.extra.get("stakeholder") else "anonymous")
            after = f"   [dim]by[/] {fmt.esc(fmt.cut(submitter, room // 3))}" + ("   [b #e6c84f]auto-fix authorised[/]" if row.auto_fix else "")
            page = fmt.cut(row.page, room - len("page ") - fmt.markup_text(after).cell_len)
            lines.append(f"[dim]page[/] {fmt.esc(page)}{after}")
            if row.assignee_id:
                # The assignee column is the first to go at 80 columns: the preview names them.
                who = "me" if row.assignee_id == self.principal.user_id else self.facets.member_name(row.assignee_id)
                lines.append(f"[dim]assigned to[/] {fmt.esc(fmt.cut(who, room - len('assigned to ')))}")
            if row.extra.get("selector"):
                lines.append(f"[dim]selector[/] {fmt.esc(fmt.cut(row.extra['selector'], room - len('selector ')))}")
            if row.extra.get("summary"):
                summary = row.extra["summary"]
                if duplicate_target(summary):  # the id means nothing here: enter, then g, opens it
                    summary = f"duplicate of …{fmt.short_id(duplicate_target(summary))} (enter, then g opens it)"
                lines.append(f"[dim]summary[/] {fmt.esc(summary)}")
        elif row.source == "comment":
            session = f"   [dim]session[/] {fmt.status_label(row.extra.get('session_status', ''))}"
            lines.append(f"[dim]page[/] {fmt.esc(fmt.cut(row.page, room - len('page ') - fmt.markup_text(session).cell_len))}{session}")
            if row.extra.get("task_instruction"):
                lines.append(f"[dim]task[/] {fmt.esc(row.extra['task_instruction'])}")
        else:
            lines.append(f"[dim]study[/] {fmt.esc(row.extra.get('study', ''))}   [dim]tester[/] {fmt.esc(row.text)}   {fmt.esc(row.page)}")
            lines.append("[dim]enter opens it on the test sessions screen (3), where z analyzes and C confirms[/]")
        body = fmt.plain((test_summary(row) if row.source == "test" else row.text).strip().replace("\n", " "))
        if self.preview_side:  # a tall pane: as much of the text as its lines hold
            body.truncate(max(preview.size.width - 2, 20) * max(preview.size.height - len(lines) - 1, 3), overflow="ellipsis")
        else:
            body.truncate(max(self.size.width - 4, 20) * 3, overflow="ellipsis")
        text = fmt.markup_text("\n".join(lines))  # Textual's parser: no emoji codes, ":x:" stays ":x:"
        text.append("\n")
        text.append_text(body)
        preview.update(text)

    # -- list events -----------------------------------------------------------------------
    @on(VirtualList.Highlighted, "#inbox-list")
    def _highlighted(self, event: VirtualList.Highlighted) -> None:
        self._update_preview(event.row)

    @on(VirtualList.SelectionChanged, "#inbox-list")
    def _selection(self) -> None:
        self._update_bars()

    @on(VirtualList.Activated, "#inbox-list")
    def _activated(self, event: VirtualList.Activated) -> None:
        self.open_row(event.row)

    def open_row(self, row: inbox.InboxRow) -> None:
        if row.source == "annotation":
            from workbench.tui.screens.annotation import AnnotationScreen

            self.app.push_screen(AnnotationScreen(row.id, neighbours=self._neighbours))
        elif row.source == "comment":
            self.wb_app.switch_mode("feedback")
            self._focus_in_mode("feedback", row)
        else:
            self.wb_app.switch_mode("tests")
            self._focus_in_mode("tests", row)

    def _focus_in_mode(self, mode: str, row: inbox.InboxRow) -> None:
        def focus() -> None:
            screen = self.app.screen
            if isinstance(screen, FocusesItems):
                screen.focus_item(row.parent_id, row.id)

        self.app.call_after_refresh(focus)

    def _neighbours(self, annotation_id: str, step: int) -> str | None:
        """The annotation ``step`` rows away in the inbox (for [ and ] on the detail screen)."""
        vlist = self.list
        index = vlist.cursor
        current = vlist.current
        if current is None or current.id != annotation_id:
            return None
        i = index + step
        while 0 <= i < vlist.total:
            row = vlist.row_at(i)
            if row is not None and row.source == "annotation":
                vlist.move_cursor(i)
                return row.id
            i += step
        return None

    # -- search ----------------------------------------------------------------------------
    def action_search(self) -> None:
        search = self.query_one("#search", Input)
        search.add_class("-visible")
        if self.query_error is None:  # a refused query stays in the box, to be edited
            search.value = self.filter.text
        self.set_focus(search)  # at once: the next keystrokes already belong to the search

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        value = event.value
        self._search_timer = self.set_timer(SEARCH_DEBOUNCE, lambda: self._apply_search(value))

    def _apply_search(self, text: str) -> None:
        if text != self.filter.text:
            self.apply_filter(self.filter.with_(text=text), self.view_name if not text else None)
        elif self.query_error is not None:  # edited back to the query in force: it reads again
            self.query_error = None
            self._update_bars()

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._apply_search(event.value)
        if self.query_error is not None:
            # Refused: the box keeps the text and the keys, so what is typed next edits the
            # query instead of reaching the list's hotkeys (a "q" would quit).
            return
        if not event.value.strip():
            self.query_one("#search").remove_class("-visible")
        self.list.focus()

    def action_clear(self) -> None:
        search = self.query_one("#search", Input)
        if search.has_class("-visible") and (search.has_focus or self.filter.text):
            search.value = ""
            search.remove_class("-visible")
            if self._search_timer is not None:
                self._search_timer.stop()
            if self.query_error is not None:  # the refused query is gone with the text
                self.query_error = None
                self._update_bars()
            if self.filter.text:
                self.apply_filter(self.filter.with_(text=""), self.view_name)
            self.list.focus()
        elif self.list.selection:
            self.list.clear_selection()
            self._update_bars()
        else:
            self.list.focus()

    # -- filter and views ------------------------------------------------------------------
    def action_filter(self) -> None:
        from workbench.tui.screens.inbox_dialogs import filter_dialog

        def closed(result: Any) -> None:
            if result is not None:
                self.apply_filter(result, None)
                search = self.query_one("#search", Input)
                search.value = result.text
                search.set_class(bool(result.text), "-visible")

        self.app.push_screen(filter_dialog(self), closed)

    def action_views(self) -> None:
        from workbench.tui.screens.inbox_dialogs import ViewsDialog

        def closed(result: tuple[str, inbox.InboxFilter] | None) -> None:
            if result is not None:
                name, f = result
                self.apply_filter(f, name)
                search = self.query_one("#search", Input)
                search.value = f.text
                search.set_class(bool(f.text), "-visible")

        self.app.push_screen(ViewsDialog(self), closed)

    # -- selection and bulk ----------------------------------------------------------------
    def action_select_all(self) -> None:
        limit = 5_000
        rows = inbox.window(self.wb, self.principal, self.filter, 0, limit)
        self.list.select_rows(rows)
        if self.list.total > limit:
            self.notify(f"Selected the first {limit:,} of {self.list.total:,} rows")
        self._update_bars()

    def action_bulk(self) -> None:
        from workbench.tui.screens.bulk import BulkDialog

        rows = self.list.selected_rows
        if not rows and self.list.current is not None:
            rows = [self.list.current]
        if not rows:
            self.notify("Nothing selected: space selects rows, ctrl+a selects all", severity="warning")
            return

        def closed(applied: Any) -> None:
            if applied:
                self.list.clear_selection()
            self.refresh_data()

        self.app.push_screen(BulkDialog(rows, self.facets), closed)

    # -- triage of the cursor row ----------------------------------------------------------
    def _annotation_row(self, action: str) -> inbox.InboxRow | None:
        row = self.list.current
        if row is None:
            return None
        if row.source != "annotation":
            noun = "session comments" if row.source == "comment" else "test sessions"
            self.notify(f"{action} applies to annotations; open {noun} with enter", severity="warning")
            return None
        return row

    def action_set_status(self, status: str) -> None:
        from workbench.tui.screens import triage

        row = self.list.current
        if row is not None and row.source == "comment" and status == "resolved":
            from workbench.tui.screens.bulk import resolve_comment

            resolve_comment(self.wb_app, row, on_done=self.refresh_data)
            return
        row = self._annotation_row("Status")
        if row is not None:
            triage.set_status(self.wb_app, row.id, status, on_done=self.refresh_data, label=row.first_line[:60])

    def action_assign(self) -> None:
        from workbench.tui.screens import triage

        row = self._annotation_row("Assign")
        if row is not None:
            triage.assign(self.wb_app, row.id, on_done=self.refresh_data)
