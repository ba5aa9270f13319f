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

from workbench.domain.safe_text import screen_safe
from workbench.tui import keys, themes
from workbench.tui.commands import WorkbenchCommands
from workbench.tui.messages import StoreChanged
from workbench.tui.sync_run import SyncRunner
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


def _sites() -> Screen:
    from workbench.tui.screens.sites import SitesScreen

    return SitesScreen()


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
    from storage.failures import StoreWriteFailed

    if isinstance(exc, StoreWriteFailed):
        return str(exc)  # a full disk: where, what to do, and that the write was rolled back
    return f"Unexpected error: {type(exc).__name__}: {exc}"


_DROP_CONTROLS = DropControlCharacters()  # one instance: Textual caches filtered lines per filter


class WorkbenchApp(UndoKeys, SyncRunner, App[None]):
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
        "sites": _sites,
    }
    # The inbox is built as the app composes, instead of a blank default screen first.
    DEFAULT_MODE = "inbox"
    HELP_SECTION = "Global"
    # Screens get "-short" under 30 rows (80×24): their panes give the lists the rows (app.tcss).
    # Ages on screen ("12m", "synced 3h ago") move with the clock, not the store.
    AGES_EVERY_S: ClassVar[float] = 60.0
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
        themes.register(self)
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
        Their control characters are shown as escapes ("\\x1b"), as everywhere else: left to the line
        filter, "Confirmed tester\\x1b[5m's session" read "tester[5m".
        """
        del markup
        self.notices.append((severity, message))
        del self.notices[:-200]
        super().notify(screen_safe(message), title=screen_safe(title), severity=severity, timeout=timeout, markup=False)

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
        self.set_interval(self.AGES_EVERY_S, self.refresh_screens)
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
        ``workbench serve`` swept those two, so offline they stayed "preparing" and unsent), and
        the upload files a killed writer left (``storage.upload_sweep``, an hour old or more)."""
        from storage import upload_sweep
        from workbench.services import feedback_sessions, resolutions, test_sessions

        ok, done = self.attempt(test_sessions.resume_local_analyses, self.wb, quiet=True)
        deployed, rounds = self.attempt(feedback_sessions.resume_local_deployments, self.wb, quiet=True)
        # A replica's pending notifications stay pending (deliver leaves them to the server).
        sent, pending = self.attempt(resolutions.deliver_pending, self.wb, quiet=True)
        self.attempt(upload_sweep.sweep, self.wb.store, quiet=True)
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
        self.refresh_screens()

    def refresh_screens(self) -> None:
        """Every open screen of every mode, and the sync line, re-read what they show: when the
        store changed, and once a minute (``AGES_EVERY_S``) so their ages keep up with the clock.
        Left open overnight, the inbox still said "now" of the morning's annotations and the sync
        line "synced just now"."""
        self.refresh_sync_status()
        # The hidden ones are cheap (one window).
        seen: set[int] = set()
        for stack in self._screen_stacks.values():
            for screen in stack:
                if id(screen) not in seen and hasattr(screen, "refresh_data"):
                    seen.add(id(screen))
                    screen.post_message(StoreChanged())

    # -- actions ---------------------------------------------------------------------------
    async def action_quit(self) -> None:
        """Quit, first asking when a form holds text not sent nor kept (ctrl+q reaches a form, where q
        is typed): a persona written at length was otherwise gone with one key. A reply is kept as
        its draft. Asked twice, it quits."""
        from workbench.tui.screens.forms import ConfirmDialog, FormDialog

        forms = [s for s in self.screen_stack if isinstance(s, FormDialog)]
        for form in forms:
            form.keep_for_later()  # on the write queue, which the quit waits for
        typed = [form for form in forms if form.unsent()]
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
