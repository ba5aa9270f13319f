"""The TUI's sync: the `s` key's run in a thread, its progress on every screen's sync line, the
report it ends with, and the credentials form when the server wants them (a mixin of ``WorkbenchApp``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import work
from textual.binding import Binding

from workbench.tui.messages import StoreChanged, SyncFinished, SyncProgressed

if TYPE_CHECKING:
    from workbench.tui.app import WorkbenchApp

log = logging.getLogger(__name__)


class SyncStopped(Exception):
    """Raised in a sync's thread at its next wait once the app quits (``SyncRunner._sync_wait``)."""


class SyncRunner:
    """The app's sync actions and handlers (a mixin of ``WorkbenchApp``)."""

    def _app(self) -> WorkbenchApp:
        from workbench.tui.app import WorkbenchApp  # here: the app module imports this one

        assert isinstance(self, WorkbenchApp)  # the mixin's only class
        return self

    def refresh_sync_status(self) -> None:
        """Re-read the sync status (a few counts) and redraw the sync line of every screen."""
        from workbench.services import sync_status

        app = self._app()
        ok, status = app.attempt(sync_status.status, app.wb, quiet=True)
        if ok:
            app.sync_status = status
        app._draw_sync_lines()

    def _draw_sync_lines(self) -> None:
        from workbench.tui.widgets.sync_line import SyncLine

        app = self._app()
        now = app.now()
        seen: set[int] = set()
        for stack in app._screen_stacks.values():
            for screen in stack:
                if id(screen) in seen or not screen.is_mounted:
                    continue
                seen.add(id(screen))
                for line in screen.query(SyncLine):
                    line.show(app.sync_status, now, app.sync_progress)

    def action_credentials(self) -> None:
        """The remote's credentials form, then a sync with what was typed (a blank field keeps the saved one)."""
        self._app().action_sync(ask=True)

    def action_sync(self, ask: bool = False) -> None:
        """Send every local change up and bring everyone else's down (in a thread); ``ask``: the
        credentials form first, even when some are saved."""
        app = self._app()
        if app.sync_running:
            app.notify("A sync is already running", severity="warning")
            return
        app.refresh_sync_status()
        status = app.sync_status
        if status is None or status.remote is None:
            app.notify("This store has no remote yet: add one with `workbench remote add NAME URL`", title="Sync",
                       severity="warning", timeout=8)
            return
        from workbench.services import first_sync
        from workbench.tui.screens.workspaces import FirstSyncDialog

        remote = status.remote
        ok, plan = app.attempt(first_sync.plan, app.wb, remote)
        if not ok:
            return

        def chosen(choice: str | None) -> None:
            if choice is None:
                app.notify("Nothing was synced", title="First sync cancelled", timeout=5)
                return
            app._sync_with_credentials(remote, choice, ask=ask)

        if plan is not None:  # a first sync over local work: say what will happen, and let the user choose
            app.push_screen(FirstSyncDialog(plan), chosen)
            return
        app._sync_with_credentials(remote, None, ask=ask)

    def _secrets(self, remote: str) -> dict[str, str | None]:
        """The remote's credentials: environment or keyring, then what was typed for this run only."""
        from workbench.services import remotes

        app = self._app()
        ok, loaded = app.attempt(remotes.load_secrets, app.wb, remote)
        values: dict[str, str | None] = dict(loaded[0]) if ok else {}
        values.update(app.session_secrets.get(remote, {}))
        return values

    def _sync_with_credentials(self, remote: str, first_sync: str | None, *, ask: bool = False) -> None:
        app = self._app()
        secrets = app._secrets(remote)
        if ask or not any(secrets.values()):
            app.ask_credentials(remote, None, first_sync)
            return
        app.start_sync(remote, secrets, first_sync)

    def start_sync(self, remote: str, credentials: dict[str, str | None] | None = None, first_sync: str | None = None) -> None:
        app = self._app()
        app.sync_stop.clear()  # a quit that a refused write kept from happening stops no later sync
        app.sync_running = True
        app.sync_progress = ("starting", 0, None)
        app._draw_sync_lines()
        transport = app.sync_options.get("transport")  # a test's in-process server
        if transport is None:
            from sync.client import StoppableTransport

            # Made here, on the UI thread as quitting is, so a quit cannot miss it; one per
            # sync: a stopped one refuses every later request.
            transport = app._sync_transport = StoppableTransport()
        app._sync_worker(remote, credentials, first_sync, transport)

    @work(thread=True, exclusive=True, group="sync", exit_on_error=False)
    def _sync_worker(
        self, remote: str, credentials: dict[str, str | None] | None, first_sync: str | None, transport: Any,
    ) -> None:
        from sync.errors import Stopped
        from workbench.services import sync as sync_service
        from workbench.tui.app import refusal_text

        app = self._app()
        def progress(phase: str, done: int, total: int | None) -> None:
            app.post_message(SyncProgressed(phase, done, total))

        options = {**app.sync_options, "sleep": app._sync_wait(app.sync_options.get("sleep")), "transport": transport}
        try:
            report = sync_service.run_sync(
                app.wb, remote, progress, credentials=credentials, first_sync=first_sync, credential_notes=False, **options)
        except (SyncStopped, Stopped):
            return  # the app is quitting: what the sync had not done waits in the outbox for the next one
        except Exception as exc:  # shown, never a crash
            reason = refusal_text(exc)
            if reason.startswith("Unexpected error"):
                log.exception("sync failed")
            app.post_message(SyncFinished(remote, error=reason, first_sync=first_sync))
            return
        # Only a run that went through pulled all it could: one that could not reach the server pulled
        # nothing, and "not synced, for want of a credential" would send the user to the wrong remedy.
        pulled = options.get("pull", True) and report.ok
        missing = sync_service.missing_credentials(credentials or {}) if pulled else []
        app.post_message(SyncFinished(remote, report=report, first_sync=first_sync, missing=missing))

    def _sync_wait(self, sleep: Callable[[float], None] | None) -> Callable[[float], None]:
        """The sync's waits (a retry's backoff, a rate limit's Retry-After, up to minutes when the
        server is down or busy), ended by quitting: the app's exit waited for the sync's thread,
        on a terminal already cleared. A sync stops only at a wait, where nothing is half-applied:
        its work so far is committed, and an unanswered write is resent with its Idempotency-Key."""
        app = self._app()

        def wait(seconds: float) -> None:
            if sleep is None:
                app.sync_stop.wait(seconds)
            elif not app.sync_stop.is_set():
                sleep(seconds)
            if app.sync_stop.is_set():
                raise SyncStopped

        return wait

    def on_sync_progressed(self, message: SyncProgressed) -> None:
        app = self._app()
        if app.sync_running:
            app.sync_progress = (message.phase, message.done, message.total)
            app._draw_sync_lines()

    def on_sync_finished(self, message: SyncFinished) -> None:
        from workbench.tui import format as fmt

        app = self._app()
        app.sync_running = False
        app.sync_progress = None
        report = message.report
        if message.error is not None:
            app.notify(message.error, title="Sync failed", severity="error", timeout=10)
        elif report.auth_failed:
            app.notify(f"{report.stopped or 'The server rejected the credentials'}", title="Sync stopped", severity="warning", timeout=10)
        else:
            counts = (
                f"sent {report.sent:,} · received {report.received:,} · {fmt.plural(report.conflicts, 'conflict')} · "
                f"{report.refused:,} refused" + (f" · {report.pending:,} still pending" if report.pending else "")
                + (f" · {fmt.plural(report.pictures, 'picture')} fetched" if report.pictures else "")
            )
            notes = "".join(f"\n{note}" for note in [*report.notes, *self._missing_note(message.missing)])
            if report.stopped:
                app.notify(f"Stopped: {report.stopped}\n{counts}{notes}", title="Sync incomplete", severity="warning", timeout=10)
            else:
                severity = "warning" if report.conflicts or report.refused else "information"
                more = "\n5: settle conflicts and refusals" if report.conflicts or report.refused else ""
                app.notify(f"{counts}{notes}{more}", title=f"Synced with {message.remote}", severity=severity, timeout=8)
            if report.notes and app._principal_derived:
                # The store may open another workspace now (a first sync's merge, or a replica
                # adopted by an empty store): every screen follows.
                before = app._principal.workspace_id if app._principal is not None else None
                app._principal = None
                if app.principal.workspace_id != before:
                    app.reopen_screens()
        app.post_message(StoreChanged())  # refreshes the sync line and every screen
        app.show_workspace_title()  # a first sync adds the replica: the header starts naming workspaces
        if message.error is None and report.auth_failed and message.remote:
            app.ask_credentials(message.remote, report.auth_failed, message.first_sync)

    def _missing_note(self, missing: list[str]) -> list[str]:
        """What went unsynced for want of a credential, and the TUI's remedy, in one short sentence
        (the CLI's names `remote login` and the environment variables: words for a shell)."""
        if not missing:
            return []
        from workbench.tui import keys

        app = self._app()
        bindings = getattr(getattr(app, "keymap_info", None), "bindings", None)
        key = app.get_key_display(Binding(keys.keys_of("app.credentials", bindings)[0], ""))
        what = " and ".join([", ".join(missing[:-1]), missing[-1]] if len(missing) > 1 else missing)
        return [f"{what[0].upper()}{what[1:]} were not synced, for want of a credential: {key} opens the credentials form."]

    def ask_credentials(self, remote: str, rejected: str | None, first_sync: str | None = None) -> None:
        """Ask for every credential of ``remote`` (the rejected one, if any, must be typed again),
        keep them (keyring, or this run only where there is none) and sync."""
        from workbench.services import remotes
        from workbench.tui.screens.workspaces import credentials_form

        app = self._app()
        problem = remotes.keyring_problem()  # known before anything is typed, and said at the top of the form
        saved = app._secrets(remote)
        if rejected is not None:
            saved[rejected] = None

        def submit(typed: dict[str, str]) -> Any:
            if problem is None:
                return remotes.save_secrets(app.wb, remote, typed)
            app.session_secrets.setdefault(remote, {}).update(typed)
            return remotes.SavedSecrets([], problem)

        def closed(result: Any) -> None:
            if result is None:
                return
            if problem is not None:
                app.notify(f"Kept for this run only ({problem}): set WORKBENCH_TOKEN, WORKBENCH_STORE_KEY or "
                           "WORKBENCH_JWT to skip typing them next time", title="Credentials", severity="warning", timeout=10)
            elif result.keyring_error:
                app.notify(f"Not kept: {result.keyring_error}", title="Credentials", severity="warning", timeout=8)
            app.start_sync(remote, app._secrets(remote), first_sync)

        url = app.sync_status.url if app.sync_status is not None and app.sync_status.remote == remote else remote
        app.push_screen(credentials_form(remote, url or "", saved, rejected=rejected, keyring_problem=problem, submit=submit), closed)
