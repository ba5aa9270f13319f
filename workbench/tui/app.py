"""WorkbenchApp: the Textual app over one local store. Small on purpose: screens hold the features.

The app owns what every screen shares: the Workbench (store, clock, engine) and the local
principal it acts as, the keymap from ``keys.toml``, the command palette, the store watcher
(live refresh) and ``attempt``, the one place a refused use case becomes a notification
instead of a crash.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, work
from textual.app import App
from textual.binding import BindingType
from textual.filter import LineFilter
from textual.notifications import SeverityLevel
from textual.screen import Screen

from workbench.tui import keys
from workbench.tui.commands import WorkbenchCommands
from workbench.tui.messages import StoreChanged, SyncFinished, SyncProgressed
from workbench.tui.terminal_filter import DropControlCharacters
from workbench.tui.undo import UndoKeys
from workbench.tui.writes import Writes

if TYPE_CHECKING:
    from workbench.domain.roles import Principal
    from workbench.services.context import Workbench

log = logging.getLogger(__name__)


def _inbox() -> Screen:
    from workbench.tui.screens.inbox import InboxScreen

    return InboxScreen()


def _feedback() -> Screen:
    from workbench.tui.screens.feedback import FeedbackScreen

    return FeedbackScreen()


def _tests() -> Screen:
    from workbench.tui.screens.test_sessions import TestSessionsScreen

    return TestSessionsScreen()


def _personas() -> Screen:
    from workbench.tui.screens.personas import PersonasScreen

    return PersonasScreen()


def _sync() -> Screen:
    from workbench.tui.screens.sync import SyncScreen

    return SyncScreen()


# What the first actions of a session need, in the order they are likely wanted.
WARM_UP_MODULES = (
    "workbench.tui.screens.triage",
    "workbench.services.annotations",
    "workbench.tui.screens.annotation",
    "workbench.tui.screens.forms",
    "workbench.tui.screens.bulk",
    "workbench.tui.screens.inbox_dialogs",
    "workbench.tui.screens.help",
)


def refusal_text(exc: BaseException) -> str:
    """What to tell the user about an exception from a use case."""
    from workbench.domain.errors import DomainError, validation_text

    if isinstance(exc, DomainError):
        return exc.message
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        return validation_text(exc)
    from storage.db import StoreWriteFailed

    if isinstance(exc, StoreWriteFailed):
        return str(exc)  # a full disk: where, what to do, and that the write was rolled back
    return f"Unexpected error: {type(exc).__name__}: {exc}"


_DROP_CONTROLS = DropControlCharacters()  # one instance: Textual caches filtered lines per filter


class SyncStopped(Exception):
    """Raised in a sync's thread at its next wait once the app quits (``WorkbenchApp._sync_wait``)."""


class WorkbenchApp(UndoKeys, App[None]):
    """Review Workbench in the terminal."""

    TITLE = "Review Workbench"
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses elsewhere keep the look
    BINDINGS: ClassVar[list[BindingType]] = keys.APP
    COMMANDS = App.COMMANDS | {WorkbenchCommands}
    MODES: ClassVar[dict[str, str | Callable[[], Screen]]] = {
        "inbox": _inbox,
        "feedback": _feedback,
        "tests": _tests,
        "personas": _personas,
        "sync": _sync,
    }
    # The inbox is built as the app composes, instead of a blank default screen first.
    DEFAULT_MODE = "inbox"
    HELP_SECTION = "Global"
    # Screens get "-short" under 30 rows (80×24): their panes give the lists the rows (app.tcss).
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]  # noqa: RUF012 - Textual declares it without ClassVar

    def __init__(
        self,
        wb: Workbench,
        principal: Principal | None = None,
        *,
        watch: bool = True,
        resume_jobs: bool = True,
        keymap: keys.Keymap | None = None,
        cursor_blink: bool = True,
        sync_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.wb = wb
        self._principal = principal
        self._principal_derived = principal is None
        self.watch_enabled = watch
        self.resume_jobs = resume_jobs
        self.keymap_info = keymap if keymap is not None else keys.load_keymap()
        self.cursor_blink = cursor_blink
        self.store_changes = 0
        self.notices: list[tuple[str, str]] = []
        # Sync: the status every screen's sync line shows, the running sync's progress, and
        # extra arguments of ``run_sync`` (tests pass an in-process transport).
        self.sync_status: Any = None
        self.sync_progress: tuple[str, int, int | None] | None = None
        self.sync_running = False
        self.sync_options = dict(sync_options or {})
        # Set when the app quits: a running sync stops at its next wait (sync_wait), and its
        # request in flight, if any, ends at once (``_sync_transport.stop()``).
        self.sync_stop = threading.Event()
        self._sync_transport: Any = None
        # Credentials typed where no keyring can keep them: this run's only, never written anywhere.
        self.session_secrets: dict[str, dict[str, str]] = {}
        # Every write a key starts runs here, off the UI thread (workbench/tui/writes.py).
        self.writes = Writes(self, wb.store)

    # -- shared state ----------------------------------------------------------------------
    @property
    def principal(self) -> Principal:
        if self._principal is None:
            from workbench.services.workspaces import opened

            self._principal = opened(self.wb)
        return self._principal

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information", timeout: float | None = None,
               markup: bool = False) -> None:
        """Show a notification, and keep it in ``notices`` (what the user was told, newest last).

        Always as text, ``markup`` whatever: notices quote user and server text (a tester id, a
        persona's or a store's name, a page URL), and a screen's ``notify`` (Textual's
        Widget.notify) asks for markup by default, where "[@click=…]" would be a clickable action.
        """
        del markup
        self.notices.append((severity, message))
        del self.notices[:-200]
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters plus ours: no control character of user text reaches the terminal."""
        return [*super().get_line_filters(), _DROP_CONTROLS]

    def now(self) -> int:
        """The Workbench clock (a test injects a fixed one)."""
        return self.wb.clock()

    def attempt(self, fn: Callable[..., Any], *args: Any, quiet: bool = False, **kwargs: Any) -> tuple[bool, Any]:
        """Run a use case; a refusal becomes an error notification. Returns (ok, result or reason)."""
        try:
            return True, fn(*args, **kwargs)
        except Exception as exc:  # nothing a use case raises may crash the app
            reason = refusal_text(exc)
            if reason.startswith("Unexpected error"):
                log.exception("use case failed")
            if not quiet:
                self.notify(reason, title="Refused", severity="error", timeout=8, markup=False)
            return False, reason

    # -- lifecycle -------------------------------------------------------------------------
    def on_mount(self) -> None:
        if self.keymap_info.bindings:
            self.set_keymap(self.keymap_info.bindings)
        for problem in self.keymap_info.problems:
            self.notify(problem, title="keys.toml", severity="warning", timeout=10)
        # After the first frame: the sync status loads the sync engine (~100 ms of imports) and the
        # warm-up loads what the first action will need, neither of which the first paint shows.
        self.call_after_refresh(self._after_first_paint)

    def _after_first_paint(self) -> None:
        self.refresh_sync_status()
        self.show_workspace_title()
        if self.watch_enabled:
            self.watch_store()
        if self.resume_jobs:
            self.resume_unfinished()
        self.warm_up()

    @work(thread=True, exclusive=True, group="resume", exit_on_error=False)
    def resume_unfinished(self) -> None:
        """Finish what a stopped process left half-done: the test-session analyses it left running
        (the offline engine), the previews of rounds it started but did not deploy, and the
        submitter notifications of resolutions it committed but was killed before sending (only
        ``workbench serve`` swept those two, so offline they stayed "preparing" and unsent)."""
        from workbench.services import feedback_sessions, resolutions, test_sessions

        ok, done = self.attempt(test_sessions.resume_local_analyses, self.wb, quiet=True)
        deployed, rounds = self.attempt(feedback_sessions.resume_local_deployments, self.wb, quiet=True)
        # A replica's pending notifications stay pending (deliver leaves them to the server).
        sent, pending = self.attempt(resolutions.deliver_pending, self.wb, quiet=True)
        if (ok and done) or (deployed and rounds) or (sent and pending):
            self.post_message(StoreChanged())

    @work(thread=True, exclusive=True, group="warm-up", exit_on_error=False)
    def warm_up(self) -> None:
        """Import the use cases and screens behind the first keys while the user reads the inbox,
        so the first triage action does not pay ~150 ms of imports (pydantic models, services)."""
        import importlib

        for name in WARM_UP_MODULES:
            importlib.import_module(name)

    @work(exclusive=True, group="store-watch", exit_on_error=False)
    async def watch_store(self) -> None:
        """Post StoreChanged when the database or its WAL changes (any process's commit)."""
        from watchfiles import awatch

        path = self.wb.store.path
        names = {path.name, path.name + "-wal"}

        def only_db(_change: object, changed: str) -> bool:
            return Path(changed).name in names

        for polling in (False, True):
            try:
                async for _changes in awatch(
                    path.parent, watch_filter=only_db, debounce=120, step=40, recursive=False, force_polling=polling,
                    poll_delay_ms=250,
                ):
                    self.store_changes += 1
                    self.post_message(StoreChanged())
            except OSError as exc:  # no inotify (e.g. some network file systems): poll instead
                log.warning("watching %s failed (%s); %s", path.parent, exc, "polling" if not polling else "giving up")
                continue
            return

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        # Snapshot tests turn blinking off so a text cursor is always drawn the same way.
        if self.cursor_blink:
            return
        from textual.widgets import Input, TextArea  # Textual's only blinking cursors; only snapshot tests get here

        if isinstance(event.widget, (Input, TextArea)):
            event.widget.cursor_blink = False

    def on_store_changed(self, message: StoreChanged) -> None:
        self.refresh_sync_status()
        # Every open screen of every mode refreshes; the hidden ones are cheap (one window).
        seen: set[int] = set()
        for stack in self._screen_stacks.values():
            for screen in stack:
                if id(screen) not in seen and hasattr(screen, "refresh_data"):
                    seen.add(id(screen))
                    screen.post_message(StoreChanged())

    # -- actions ---------------------------------------------------------------------------
    async def action_quit(self) -> None:
        """Quit, first asking when a form holds text not sent (ctrl+q reaches a form, where q is
        typed): a reply written at length was otherwise gone with one key. Asked twice, it quits."""
        from workbench.tui.screens.forms import ConfirmDialog, FormDialog

        typed = [s for s in self.screen_stack if isinstance(s, FormDialog) and s.unsent()]
        if not typed or (isinstance(self.screen, ConfirmDialog) and self.screen.id == "quit-unsent"):
            self.quit_after_writes()
            return
        # A form's title is markup whose first words name it ("Reply", "Resolve — <its text>").
        names = ", ".join(f"“{form.title_text.splitlines()[0].split(' — ')[0]}”" for form in typed)
        ask = ConfirmDialog("Quit?", f"What you typed in {names} is not sent. Quit and lose it?", yes="Quit", danger=True)
        ask.id = "quit-unsent"
        self.push_screen(ask, lambda quit_: self.quit_after_writes() if quit_ else None)

    def quit_after_writes(self) -> None:
        """Quit once the writes already asked for have landed. Exiting at once cancelled a write
        whose worker had not started its thread yet and dropped those queued behind it: a `t`
        then `q` lost the change the screen had just acknowledged."""
        if not self.writes.idle:
            self.notify("Saving your changes, then quitting…", timeout=30)
        self.sync_stop.set()
        if self._sync_transport is not None:
            self._sync_transport.stop()
        self.writes.when_idle(self.exit)

    def action_go(self, mode: str) -> None:
        if isinstance(self.screen, Screen) and self.screen.is_modal:
            return
        self.switch_mode(mode)

    def action_help(self) -> None:
        """The keys of the screen on top, a dialog's too; ``?`` over the help screen closes it."""
        from workbench.tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss(None)
            return
        self.push_screen(HelpScreen(self.screen))

    def action_reload(self) -> None:
        self.post_message(StoreChanged())

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None, time_format: str | None = None) -> str | None:
        """The palette's "Screenshot" (and ``action_screenshot``), into a folder that exists.

        Textual writes to the Downloads folder and fails ("Failed to save screenshot") where
        there is none (servers, containers, fresh accounts): then the store's own
        ``screenshots`` folder is used, and the notification names the file.
        """
        if path is None:
            from platformdirs import user_downloads_path

            downloads = user_downloads_path()
            if downloads.is_dir():
                path = str(downloads)
            else:
                folder = self.wb.store.path.parent / "screenshots"
                folder.mkdir(parents=True, exist_ok=True)
                path = str(folder)
        return super().deliver_screenshot(filename, path, time_format)

    # -- sync ------------------------------------------------------------------------------
    def refresh_sync_status(self) -> None:
        """Re-read the sync status (a few counts) and redraw the sync line of every screen."""
        from workbench.services import sync as sync_service

        ok, status = self.attempt(sync_service.status, self.wb, quiet=True)
        if ok:
            self.sync_status = status
        self._draw_sync_lines()

    def _draw_sync_lines(self) -> None:
        from workbench.tui.widgets.sync_line import SyncLine

        now = self.now()
        seen: set[int] = set()
        for stack in self._screen_stacks.values():
            for screen in stack:
                if id(screen) in seen or not screen.is_mounted:
                    continue
                seen.add(id(screen))
                for line in screen.query(SyncLine):
                    line.show(self.sync_status, now, self.sync_progress)

    def action_sync(self) -> None:
        """Send every local change up and bring everyone else's down (in a thread)."""

        if self.sync_running:
            self.notify("A sync is already running", severity="warning")
            return
        self.refresh_sync_status()
        status = self.sync_status
        if status is None or status.remote is None:
            self.notify("This store has no remote yet: add one with `workbench remote add NAME URL`", title="Sync",
                        severity="warning", timeout=8)
            return
        from workbench.services import first_sync
        from workbench.tui.screens.workspaces import FirstSyncDialog

        remote = status.remote
        ok, plan = self.attempt(first_sync.plan, self.wb, remote)
        if not ok:
            return

        def chosen(choice: str | None) -> None:
            if choice is None:
                self.notify("Nothing was synced", title="First sync cancelled", timeout=5)
                return
            self._sync_with_credentials(remote, choice)

        if plan is not None:  # a first sync over local work: say what will happen, and let the user choose
            self.push_screen(FirstSyncDialog(plan), chosen)
            return
        self._sync_with_credentials(remote, None)

    def _secrets(self, remote: str) -> dict[str, str | None]:
        """The remote's credentials: environment or keyring, then what was typed for this run only."""
        from workbench.services import remotes

        ok, loaded = self.attempt(remotes.load_secrets, self.wb, remote)
        values: dict[str, str | None] = dict(loaded[0]) if ok else {}
        values.update(self.session_secrets.get(remote, {}))
        return values

    def _sync_with_credentials(self, remote: str, first_sync: str | None) -> None:
        secrets = self._secrets(remote)
        if not any(secrets.values()):
            self.ask_credentials(remote, None, first_sync)
            return
        self.start_sync(remote, secrets, first_sync)

    def start_sync(self, remote: str, credentials: dict[str, str | None] | None = None, first_sync: str | None = None) -> None:
        self.sync_stop.clear()  # a quit that a refused write kept from happening stops no later sync
        self.sync_running = True
        self.sync_progress = ("starting", 0, None)
        self._draw_sync_lines()
        transport = self.sync_options.get("transport")  # a test's in-process server
        if transport is None:
            from sync.client import StoppableTransport

            # Made here, on the UI thread as quitting is, so a quit cannot miss it; one per
            # sync: a stopped one refuses every later request.
            transport = self._sync_transport = StoppableTransport()
        self._sync_worker(remote, credentials, first_sync, transport)

    @work(thread=True, exclusive=True, group="sync", exit_on_error=False)
    def _sync_worker(
        self, remote: str, credentials: dict[str, str | None] | None, first_sync: str | None, transport: Any,
    ) -> None:
        from sync.errors import Stopped
        from workbench.services import sync as sync_service

        def progress(phase: str, done: int, total: int | None) -> None:
            self.post_message(SyncProgressed(phase, done, total))

        options = {**self.sync_options, "sleep": self._sync_wait(self.sync_options.get("sleep")), "transport": transport}
        try:
            report = sync_service.run_sync(self.wb, remote, progress, credentials=credentials, first_sync=first_sync, **options)
        except (SyncStopped, Stopped):
            return  # the app is quitting: what the sync had not done waits in the outbox for the next one
        except Exception as exc:  # shown, never a crash
            reason = refusal_text(exc)
            if reason.startswith("Unexpected error"):
                log.exception("sync failed")
            self.post_message(SyncFinished(remote, error=reason, first_sync=first_sync))
            return
        self.post_message(SyncFinished(remote, report=report, first_sync=first_sync))

    def _sync_wait(self, sleep: Callable[[float], None] | None) -> Callable[[float], None]:
        """The sync's waits (a retry's backoff, a rate limit's Retry-After, up to minutes when the
        server is down or busy), ended by quitting: the app's exit waited for the sync's thread,
        on a terminal already cleared. A sync stops only at a wait, where nothing is half-applied:
        its work so far is committed, and an unanswered write is resent with its Idempotency-Key."""
        def wait(seconds: float) -> None:
            if sleep is None:
                self.sync_stop.wait(seconds)
            elif not self.sync_stop.is_set():
                sleep(seconds)
            if self.sync_stop.is_set():
                raise SyncStopped

        return wait

    def on_sync_progressed(self, message: SyncProgressed) -> None:
        if self.sync_running:
            self.sync_progress = (message.phase, message.done, message.total)
            self._draw_sync_lines()

    def on_sync_finished(self, message: SyncFinished) -> None:
        from workbench.tui import format as fmt

        self.sync_running = False
        self.sync_progress = None
        report = message.report
        if message.error is not None:
            self.notify(message.error, title="Sync failed", severity="error", timeout=10)
        elif report.auth_failed:
            self.notify(f"{report.stopped or 'The server rejected the credentials'}", title="Sync stopped", severity="warning", timeout=10)
        else:
            counts = (
                f"sent {report.sent:,} · received {report.received:,} · {fmt.plural(report.conflicts, 'conflict')} · "
                f"{report.refused:,} refused" + (f" · {report.pending:,} still pending" if report.pending else "")
            )
            notes = "".join(f"\n{note}" for note in report.notes)
            if report.stopped:
                self.notify(f"Stopped: {report.stopped}\n{counts}{notes}", title="Sync incomplete", severity="warning", timeout=10)
            else:
                severity = "warning" if report.conflicts or report.refused else "information"
                more = "\n5: resolve conflicts and refusals" if report.conflicts or report.refused else ""
                self.notify(f"{counts}{notes}{more}", title=f"Synced with {message.remote}", severity=severity, timeout=8)
            if report.notes and self._principal_derived:
                # The store may open another workspace now (a first sync's merge, or a replica
                # adopted by an empty store): every screen follows.
                before = self._principal.workspace_id if self._principal is not None else None
                self._principal = None
                if self.principal.workspace_id != before:
                    self.reopen_screens()
        self.post_message(StoreChanged())  # refreshes the sync line and every screen
        self.show_workspace_title()  # a first sync adds the replica: the header starts naming workspaces
        if message.error is None and report.auth_failed and message.remote:
            self.ask_credentials(message.remote, report.auth_failed, message.first_sync)

    def ask_credentials(self, remote: str, rejected: str | None, first_sync: str | None = None) -> None:
        """Ask for every credential of ``remote`` (the rejected one, if any, must be typed again),
        keep them (keyring, or this run only where there is none) and sync."""
        from workbench.services import remotes
        from workbench.tui.screens.workspaces import credentials_form

        problem = remotes.keyring_problem()  # known before anything is typed, and said at the top of the form
        saved = self._secrets(remote)
        if rejected is not None:
            saved[rejected] = None

        def submit(typed: dict[str, str]) -> Any:
            if problem is None:
                return remotes.save_secrets(self.wb, remote, typed)
            self.session_secrets.setdefault(remote, {}).update(typed)
            return remotes.SavedSecrets([], problem)

        def closed(result: Any) -> None:
            if result is None:
                return
            if problem is not None:
                self.notify(f"Kept for this run only ({problem}): set WORKBENCH_TOKEN, WORKBENCH_STORE_KEY or "
                            "WORKBENCH_JWT to skip typing them next time", title="Credentials", severity="warning", timeout=10)
            elif result.keyring_error:
                self.notify(f"Not kept: {result.keyring_error}", title="Credentials", severity="warning", timeout=8)
            self.start_sync(remote, self._secrets(remote), first_sync)

        url = self.sync_status.url if self.sync_status is not None and self.sync_status.remote == remote else remote
        self.push_screen(credentials_form(remote, url or "", saved, rejected=rejected, keyring_problem=problem, submit=submit), closed)

    # -- workspaces ------------------------------------------------------------------------
    def action_workspaces(self) -> None:
        """The switcher: every local workspace and each remote's replica; the one chosen opens on every screen."""
        from workbench.services import workspaces
        from workbench.tui.screens.workspaces import WorkspaceSwitcher

        if isinstance(self.screen, WorkspaceSwitcher):
            return
        ok, views = self.attempt(workspaces.list_workspaces, self.wb)
        if not ok:
            return
        current = self.principal.workspace_id

        def chosen(workspace_id: str | None) -> None:
            if workspace_id is None or workspace_id == current:
                return
            ok, principal = self.attempt(workspaces.choose, self.wb, workspace_id)
            if ok:
                self._principal = principal
                self.reopen_screens()
                label = next((v.label for v in views if v.id == workspace_id), workspace_id)
                self.notify(f"Now showing {label}", title="Workspace", timeout=5)

        self.push_screen(WorkspaceSwitcher(views, current), chosen)

    @work(exclusive=True, group="workspace", exit_on_error=False)
    async def reopen_screens(self) -> None:
        """Build every screen again over the principal's workspace (filters, cursors and detail
        screens belong to the workspace they were opened in), staying in the current mode."""
        current = self.current_mode
        for mode in [m for m in list(self._screen_stacks) if m != current]:
            await self.remove_mode(mode)
            self.add_mode(mode, self.MODES[mode])
        spare = next(m for m in self.MODES if m != current)
        await self.switch_mode(spare)
        await self.remove_mode(current)
        self.add_mode(current, self.MODES[current])
        await self.switch_mode(current)
        self.show_workspace_title()
        self.refresh_sync_status()

    def show_workspace_title(self) -> None:
        """The header names the workspace shown once the store holds several (one needs no name)."""
        from workbench.services import workspaces

        ok, views = self.attempt(workspaces.list_workspaces, self.wb, with_counts=False, quiet=True)
        here = self.principal.workspace_id
        label = next((v.label for v in views if v.id == here), None) if ok and len(views) > 1 else None
        base = type(self).TITLE or ""
        self.title = f"{base} — {label}" if label else base


def fill_demo_if_empty(wb: Workbench) -> bool:
    """Demo data when the store has nothing to triage yet (what `workbench` alone opens on)."""
    from workbench.services import inbox
    from workbench.services.local import local_user

    principal = local_user(wb)
    # One row is enough to know (a count would scan every annotation before the first paint).
    if not inbox.window(wb, principal, inbox.InboxFilter(status=inbox.ALL), 0, 1):
        from workbench.services.demo import load_demo

        return bool(load_demo(wb).get("loaded"))
    return False
