"""The TUI's undo and redo keys (``u`` / ``U``): run ``services.undo`` in the write queue, say what it did, refresh.

Everything else about undo is in ``workbench.services.undo``: the screens make their undoable
changes (triage, replies, bulk) through it, so they are recorded, and it undoes them. Here live
only the app's two actions, the notice, and the words that say, before a change runs, that it
cannot be undone (``before_it_runs``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.message import Message

from workbench.tui import keys
from workbench.tui.messages import StoreChanged

if TYPE_CHECKING:
    from workbench.tui.app import WorkbenchApp


class UndoFinished(Message):
    """An undo or redo ran in a worker: ``outcome`` is what it did (None: there was nothing to do)."""

    def __init__(self, redo: bool, ok: bool, outcome: Any, label: str) -> None:
        super().__init__()
        self.redo = redo
        self.ok = ok
        self.outcome = outcome
        self.label = label


class UndoKeys:
    """The app's ``undo`` and ``redo`` actions (a mixin of ``WorkbenchApp``)."""

    def _app(self) -> WorkbenchApp:
        from workbench.tui.app import WorkbenchApp  # here: the app module imports this one

        assert isinstance(self, WorkbenchApp)  # the mixin's only class
        return self

    def action_undo(self) -> None:
        self._start_undo(redo=False)

    def action_redo(self) -> None:
        self._start_undo(redo=True)

    def _start_undo(self, *, redo: bool) -> None:
        app = self._app()
        if app.sync_running:
            # The push reads the outbox an undo rewrites: one at a time.
            app.notify(f"A sync is running: {'redo' if redo else 'undo'} once it has finished", severity="warning")
            return
        # Queued behind the writes keys already asked for (workbench/tui/writes.py): "t" then "u"
        # undoes that "t" even while it is still waiting on the store's lock.

        def done(result: tuple[Any, str]) -> None:
            app.post_message(UndoFinished(redo, True, *result))

        def refused(reason: str) -> None:
            app.post_message(UndoFinished(redo, False, reason, ""))

        app.writes.submit(app, self._undo_job, redo, done=done, refused=refused)

    def _undo_job(self, redo: bool) -> tuple[Any, str]:
        """In the write worker: the undo (or redo) and the words that name what it took back."""
        from workbench.services import inbox
        from workbench.services import undo as service
        from workbench.tui import format as fmt

        app = self._app()
        outcome = (service.redo if redo else service.undo)(app.wb, app.principal)
        label = ""
        if outcome is not None:
            members = dict(inbox.facets(app.wb, app.principal).members)
            # Markup-safe: the label names stores, testers and members, and the notice reads markup.
            label = fmt.esc(service.describe(outcome, status_label=fmt.status_label, members=members))
        return outcome, label

    def on_undo_finished(self, message: UndoFinished) -> None:
        app = self._app()
        outcome = message.outcome
        if not message.ok:
            app.notify(str(outcome), title="Redo refused" if message.redo else "Undo refused", severity="error", timeout=8)
            return
        if outcome is None:
            app.notify("Nothing to redo" if message.redo else "Nothing to undo")
            return
        if outcome.final:
            key = " / ".join(keys.keys_of("app.undo", app.keymap_info.bindings))
            app.notify(f"Can't undo {message.label}: {outcome.final}. Press {key} again for the action before it.",
                       title="Cannot be undone", severity="warning", timeout=10)
        else:
            text = f"{outcome.verb}: {message.label}"
            if outcome.notes:  # "its text is back as the reply's draft"
                text += "".join(f"\n{note[:1].upper()}{note[1:]}." for note in outcome.notes)
            if outcome.skipped:  # each reason ends "left as it is"
                more = len(outcome.skipped) - 1
                text += f"\n{outcome.skipped[0]}" + (f" (and {more} more)" if more else "")
            app.notify(text, severity="warning" if outcome.skipped else "information", timeout=8 if outcome.skipped else None)
        app.post_message(StoreChanged())


def before_it_runs(app: WorkbenchApp, kind: str, status: str | None = None) -> str:
    """Whether ``u`` can take back an action of ``kind`` (a reply, a persona run, a resolution, a
    session's phase action from ``status``: ``services.undo.warning_before``), in words for its dialog."""
    from workbench.services import undo as service
    from workbench.tui import format as fmt

    ok, text = app.attempt(service.warning_before, app.wb, app.principal, kind, status, quiet=True)
    return f"[#e8a33d]{fmt.esc(text)}[/]" if ok else ""
