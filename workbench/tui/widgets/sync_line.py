"""The sync line at the bottom of every screen: the remote, the last sync, what waits and what needs a choice.

``origin · synced 3m ago · 2 pending · 1 conflict · 1 refused`` (or ``no remote — …``), and
while a sync runs, its phase and counts. The line only draws what the app holds
(``app.sync_status``, ``app.sync_progress``); the app re-reads the status on every live
refresh and after a sync, and calls ``show`` on every line.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from workbench.tui import format as fmt

NO_REMOTE = "no remote — `workbench remote add NAME URL`, then S to sync"


def sync_text(status: Any, now_ms: int, progress: tuple[str, int, int | None] | None = None, width: int | None = None) -> Text:
    """The line for a ``SyncStatus`` (None: not read yet) and, during a sync, (phase, done, total).

    Wider than ``width``, a failed sync says "sync failed" where the last sync's age was, without its
    reason: at 80 columns the line was cut in the reason, after "last sync", so it no longer said that
    the sync failed, and the "S sync" hint was gone. The notice at the failure gives the reason.
    Where most of the reason fits (at 160 columns, a refused connection's ran 2 cells over), it is
    cut with "…" instead: dropped whole, a wide terminal said "sync failed" and never why."""
    text = _line(status, now_ms, progress, reason=True)
    if width is None or text.cell_len <= width or status is None:
        return text
    said: dict[str, Any] = {"reason": True}
    if status.last_error:
        room = len(_reason(status)) - (text.cell_len - width)
        said = {"reason": room >= MIN_REASON_CELLS, "reason_cells": room}
        text = _line(status, now_ms, progress, **said)
    # Still too wide (a conflict, a refusal and changes pending at 80 columns cut "5 settle" to
    # "5 set…"): fewer words, a step at a time, before anything is cut.
    for terse in range(1, TERSEST + 1):
        if text.cell_len <= width:
            break
        text = _line(status, now_ms, progress, terse=terse, **said)
    return text


MIN_REASON_CELLS = 30  # less of the reason than this says too little: "sync failed" alone then
# How a line too wide says less: 1 leaves out the counts at zero, 2 puts the hint two cells nearer,
# 3 says the last sync's age without "synced".
TERSEST = 3


def _reason(status: Any) -> str:
    return fmt.safe(" ".join(status.last_error.split()))


def _line(status: Any, now_ms: int, progress: tuple[str, int, int | None] | None, *, reason: bool,
          reason_cells: int | None = None, terse: int = 0) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("⇅ ", style="bold #6fb3d2")
    if status is None:
        return text
    if status.remote is None:
        text.append(NO_REMOTE, style="dim")
        return text
    text.append(status.remote, style="bold")
    if progress is not None:
        phase, done, total = progress
        text.append(" · syncing ", style="bold #4aa3ff")
        text.append(phase)
        if total:
            filled, empty = fmt.progress_bar(100 * min(done, total) / total, 10)
            text.append(" ")
            text.append(filled, style="#4aa3ff on #3a3f4b")
            text.append(empty, style="on #3a3f4b")
            text.append(f" {done:,}/{total:,}")
        elif done:
            text.append(f" {done:,}")
        text.append("…")
    elif status.last_error and not reason:
        text.append(" · sync failed", style="bold #ff6e6e")  # in the place of the last sync's age: 80 columns hold it
    elif status.last_sync_at:
        text.append(f" · {'' if terse >= 3 else 'synced '}{fmt.ago(now_ms, status.last_sync_at)}")
    else:
        text.append(" · never synced", style="italic")
    counts = ((f"{status.pending:,} pending", status.pending, ""),
              (fmt.plural(status.conflicts, "conflict"), status.conflicts, "bold #ffb454"),
              (f"{status.refused:,} refused", status.refused, "bold #ff6e6e"))
    for words, n, style in counts:
        if n or terse < 1:
            text.append(" · ")
            text.append(words, style=style if n else "dim")
    if status.last_error and progress is None and reason:
        text.append(" · last sync failed: ", style="#ff6e6e")
        said = _reason(status)
        if reason_cells is not None and len(said) > reason_cells:
            said = said[: reason_cells - 1] + "…"
        text.append(said, style="dim")
    if progress is None:
        text.append(("  " if terse >= 2 else "   ") + "S sync" + (" · 5 settle" if status.conflicts or status.refused else ""),
                    style="dim")
    return text


class SyncLine(Static):
    """One line, the same on every screen; its content comes from the app."""

    DEFAULT_CSS = """
    SyncLine {
        height: 1;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        background: $boost;
        color: $text;
    }
    """

    def __init__(self) -> None:
        super().__init__("", classes="syncline")
        self._shown: tuple[Any, int, tuple[str, int, int | None] | None] = (None, 0, None)

    def on_mount(self) -> None:
        app = self.app
        now = getattr(app, "now", None)  # a bare app (widget tests) has no clock of ours
        self.show(getattr(app, "sync_status", None), now() if now is not None else 0, getattr(app, "sync_progress", None))

    def on_resize(self) -> None:
        self.show(*self._shown)

    def show(self, status: Any, now_ms: int, progress: tuple[str, int, int | None] | None = None) -> None:
        self._shown = (status, now_ms, progress)
        self.update(sync_text(status, now_ms, progress, self.content_size.width or self.app.size.width - 2))
