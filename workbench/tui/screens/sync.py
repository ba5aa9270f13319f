"""Sync: conflicts to settle (keep mine / take theirs) and changes the server refused (retry / discard).

Two lists over the sync use cases (``workbench.services.sync``): the conflicts, each a field
changed both here and on the server since the last sync (base, mine and theirs side by side),
and the refusals, each a local change the server would not apply, with its reason verbatim.
Both are small (a user's own unsent work), so each list reads its rows in one go.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import Static

from workbench.tui import format as fmt
from workbench.tui import keys
from workbench.tui.screens.two_pane import RowsSource, TwoPaneScreen
from workbench.tui.widgets.fit import Fit
from workbench.tui.widgets.virtual_list import Column, VirtualList

# At 80 columns these were wider than the screen, and its edge cut THEIRS and WHEN: the base (in the preview
# too) goes first, and a refused change's summary gives back cells before its time goes. Wider, the three
# values grow (mine and theirs most; their min_width keeps them from giving cells back at 80 columns):
# at 200 columns ABOUT had 130 cells and two summaries, or a note's two edits, were cut at 18.
CONFLICT_COLUMNS = [Column("ABOUT", 0, min_width=24), Column("FIELD", 12),
                    Column("BASE", 16, drop=1, grow=1, max_width=40, min_width=16),
                    Column("MINE", 18, grow=2, max_width=60, min_width=18),
                    Column("THEIRS", 18, grow=2, max_width=60, min_width=18)]
REFUSAL_COLUMNS = [Column("CHANGE", 44, grow=1, max_width=44, min_width=30), Column("STATUS", 6, justify="right"),
                   Column("SERVER SAID", 0, min_width=20), Column("WHEN", 9, justify="right", drop=1)]

MINE_STYLE = "bold #c792ea"
THEIRS_STYLE = "bold #4aa3ff"


def _workspace_label(wb: Any, workspace_id: str) -> str:
    """The replica as the switcher names it ("origin · Acme Production"), its id if it is gone."""
    from workbench.domain.errors import NotFound
    from workbench.services import workspaces

    try:
        return workspaces.get(wb, workspace_id, with_counts=False).label
    except NotFound:
        return workspace_id


class ConflictSource(RowsSource):
    def __init__(self, screen: SyncScreen) -> None:
        super().__init__(screen)
        self.sync_screen = screen  # typed as the Sync screen: the members it names are read there

    def load(self) -> Sequence[Any]:
        from workbench.services import sync as service
        from workbench.services.inbox import member_names

        rows = service.conflicts(self.wb)
        self.sync_screen.members = member_names(self.wb, self.screen.principal) if rows else {}
        self.sync_screen.several = len(service.listed_remotes(self.wb)) > 1
        return rows

    def cells(self, row: Any) -> list[Text | str]:
        members = self.sync_screen.members
        return [
            self.sync_screen.whose(row, row.title),
            Text(fmt.field_label(row.field), style="bold"),
            Text(fmt.field_value(row.field, row.base, members), style="dim"),
            Text(fmt.field_value(row.field, row.mine, members), style=MINE_STYLE),
            Text(fmt.field_value(row.field, row.theirs, members), style=THEIRS_STYLE),
        ]


class RefusalSource(RowsSource):
    def __init__(self, screen: SyncScreen) -> None:
        super().__init__(screen)
        self.sync_screen = screen

    def load(self) -> Sequence[Any]:
        from workbench.services import sync as service

        self.sync_screen.several = len(service.listed_remotes(self.wb)) > 1
        return service.refusals(self.wb)

    def key(self, row: Any) -> Hashable:
        return row.seq

    def cells(self, row: Any) -> list[Text | str]:
        return [
            self.sync_screen.whose(row, row.summary),
            Text(str(row.http_status or "—"), style="#ff6e6e"),
            row.reason or "—",
            Text(fmt.ago(self.screen.now(), row.at), style="dim"),
        ]


def discard_says(rows: Sequence[Any]) -> str:
    """What x does to the refused changes listed, in README's words: an annotation's change is
    undone here at once, a session's stays shown until the next sync brings the server's version.
    "x discard (undo here)" said the first of every row, and read as the u key's undo."""
    from workbench.services import sync as service

    now = {service.discard_undoes_now(r.op) for r in rows} or {True, False}  # none yet: what it would do to each
    if now == {True}:
        return "x discard: undoes it here at once"
    if now == {False}:
        return "x discard: it stays shown until the next sync brings the server's version"
    return "x discard: an annotation's is undone here at once, a session's when the next sync brings the server's version"


class SyncScreen(TwoPaneScreen):
    """Sync"""

    BINDINGS: ClassVar[list[BindingType]] = keys.SYNC
    HELP_SECTION = "Sync"
    AUTO_FOCUS = "#sync-conflicts"
    PANES = ("sync-conflicts", "sync-refusals")
    DEFAULT_CSS = """
    SyncScreen #sync-conflicts { height: 1fr; }
    SyncScreen #sync-refusals { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.members: dict[str, str] = {}  # user id → name, read with the conflicts (assignee values)
        # Whether the lists mix the rows of several remotes (each lists every remote's): an id or a
        # title alone does not say which server a conflict is with or which one refused a change.
        self.several = False

    def whose(self, row: Any, text: str) -> Text | str:
        """A row's first cell, led by its remote's name when the lists hold several remotes' rows."""
        return Text.assemble((f"{row.remote} · ", "dim"), text) if self.several else text

    def compose_panes(self) -> ComposeResult:
        yield Static("", id="conflicts-title", classes="pane-title")
        yield VirtualList(ConflictSource(self), CONFLICT_COLUMNS, selectable=False, openable=False, id="sync-conflicts",
                          empty_text="No conflicts: every field changed on both sides has been settled.")
        yield Static("", id="refusals-title", classes="pane-title")
        yield VirtualList(RefusalSource(self), REFUSAL_COLUMNS, selectable=False, openable=False, id="sync-refusals",
                          empty_text="No refused changes.")

    @property
    def conflict_list(self) -> VirtualList:
        return self.query_one("#sync-conflicts", VirtualList)

    @property
    def refusal_list(self) -> VirtualList:
        return self.query_one("#sync-refusals", VirtualList)

    def refresh_data(self) -> None:
        from workbench.services import sync as service

        self.conflict_list.reload(keep_cursor=True)
        self.refusal_list.reload(keep_cursor=True)
        n_conflicts, n_refused = self.conflict_list.total, self.refusal_list.total
        keep = f"[{MINE_STYLE}]m[/] keep mine · [{THEIRS_STYLE}]t[/] take theirs"
        self.set_bar("conflicts-title", Fit(
            f"Conflicts ({n_conflicts})  [dim]changed here and on the server since the last sync · {keep}[/]",
            f"Conflicts ({n_conflicts})  [dim]{keep}[/]",
        ))
        discard = discard_says(self.refusal_list.source_as(RefusalSource).rows)
        self.set_bar("refusals-title", Fit(
            f"Refused changes ({n_refused})  [dim]the server would not apply them · r retry on the next sync · {discard}[/]",
            f"Refused changes ({n_refused})  [dim]r retry on the next sync · {discard}[/]",
            f"Refused changes ({n_refused})  [dim]r retry · x discard[/]",
        ))
        ok, status = self.attempt(service.status, self.wb, quiet=True)
        if ok and status.remote is not None:
            when = fmt.ago(self.now(), status.last_sync_at) if status.last_sync_at else "never"
            remote, synced = f"[b]{fmt.esc(status.remote)}[/]", f"[dim]last sync:[/] {when}"
            workspace = (f"  [dim]workspace[/] {fmt.esc(_workspace_label(self.wb, status.workspace_id))}"
                         if status.workspace_id else "")
            # At 80 columns the line wrapped and its one row showed "workspace origin · Acme": the
            # URL (in `workbench remote list`) gives its cells before the replica's name does.
            self.set_bar("filterbar", Fit(
                f"{remote}  {fmt.esc(status.url or '')}  {synced}{workspace}",
                f"{remote}  {synced}{workspace}",
                f"{remote}  {synced}",
            ))
            pending = status.pending
        else:
            self.set_bar("filterbar", "[b]No remote[/]  [dim]add one with `workbench remote add NAME URL`[/]")
            pending = 0
        self.set_bar("statusbar",
            f"[b]{fmt.plural(n_conflicts, 'conflict')}[/]  │  [b]{n_refused}[/] refused  │  {pending} pending  │  [dim]tab: other list[/]"
        )
        self.show_preview()

    # -- preview ---------------------------------------------------------------------------
    def active_pane(self) -> VirtualList:
        """The refusals when focused, or when nothing is focused and there is no conflict; else the conflicts."""
        focused = self.focused
        if focused is self.refusal_list or (focused is not self.conflict_list and self.conflict_list.total == 0):
            return self.refusal_list
        return self.conflict_list

    def preview_of(self, pane: VirtualList, row: Any) -> Text:
        text = Text()
        if pane is self.conflict_list:
            text.append(fmt.safe(row.title or row.entity_id), style="bold")
            kind = row.entity_type.replace("_", " ")  # "test note", not the stored "test_note"
            text.append(f"  field {fmt.field_label(row.field)} · {kind} {fmt.short_id(row.entity_id)} · with {fmt.safe(row.remote)}\n",
                        style="dim")
            for label, value, style in (("base  ", row.base, "dim"), ("mine  ", row.mine, MINE_STYLE), ("theirs", row.theirs, THEIRS_STYLE)):
                text.append(f"{label}  ", style="dim")
                text.append(fmt.safe(fmt.field_value(row.field, value, self.members)) + "\n", style=style)
        else:
            text.append(fmt.safe(row.summary), style="bold")
            text.append(f"  {row.op} · {fmt.ago(self.now(), row.at)} · refused by {fmt.safe(row.remote)}\n", style="dim")
            text.append(f"server said ({row.http_status or 'no status'}): ", style="dim")
            text.append(fmt.safe(row.reason or "—") + "\n", style="#ff6e6e")
        return text

    # -- actions ---------------------------------------------------------------------------
    def _row_of(self, pane: VirtualList, missing: str) -> Any:
        """The highlighted row of ``pane``, which takes the focus (so the preview shows it); None: said why."""
        row = pane.current
        if row is None:
            self.notify(missing, severity="warning")
            return None
        pane.focus()
        return row

    def _settled(self, text: str) -> Callable[[Any], None]:
        def settled(_: Any) -> None:
            self.notify(text)
            # The sync line (pending, conflicts, refused) changes with every choice.
            self.wb_app.refresh_sync_status()
            self.refresh_data()

        return settled

    def action_keep_mine(self) -> None:
        from workbench.services import sync as service

        if (row := self._row_of(self.conflict_list, "No conflict to settle")) is not None:
            mine = fmt.field_value(row.field, row.mine, self.members)
            self.write(service.keep_mine, self.wb, row.id,
                       done=self._settled(f"Kept mine for {fmt.field_label(row.field)}: {mine} (sent on the next sync)"))

    def action_take_theirs(self) -> None:
        from workbench.services import sync as service

        if (row := self._row_of(self.conflict_list, "No conflict to settle")) is not None:
            theirs = fmt.field_value(row.field, row.theirs, self.members)
            self.write(service.take_theirs, self.wb, row.id, done=self._settled(f"Took theirs for {fmt.field_label(row.field)}: {theirs}"))

    def action_retry(self) -> None:
        from workbench.services import sync as service

        if (row := self._row_of(self.refusal_list, "No refused change to retry")) is not None:
            self.write(service.retry, self.wb, row.seq, done=self._settled(f"Will send again on the next sync: {row.summary}"))

    def action_discard(self) -> None:
        from workbench.services import sync as service

        if (row := self._row_of(self.refusal_list, "No refused change to discard")) is not None:
            # A session's change is not put back here: the next sync's pull brings the server's version.
            now = service.discard_undoes_now(row.op)
            then = ("It is undone here, so this store matches the server again." if now
                    else "It is dropped; the next sync brings the server's version here.")
            self.confirm_write(
                "Discard refused change",
                f"Discard [b]{fmt.esc(row.summary)}[/]? {then}\n[dim]The server said:[/] {fmt.esc(row.reason or '—')}",
                "Discard", service.discard, self.wb, row.seq, danger=True,
                done=self._settled(f"Discarded: {row.summary}" + ("" if now else " (the next sync brings the server's version)")),
            )
