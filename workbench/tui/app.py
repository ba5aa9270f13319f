"""WorkbenchApp: the Textual app over one local store. Small on purpose: screens hold the features.

The app owns what every screen shares: the Workbench (store, clock, engine) and the local
principal it acts as, the keymap from ``keys.toml``, the command palette, the store watcher
(live refresh) and ``attempt``, the one place a refused use case becomes a notification
instead of a crash.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, work
from textual.app import App
from textual.binding import BindingType
from textual.screen import Screen

from workbench.tui import keys
from workbench.tui.commands import WorkbenchCommands
from workbench.tui.messages import StoreChanged

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
    from workbench.tui.screens.studies import StudiesScreen

    return StudiesScreen()


def _personas() -> Screen:
    from workbench.tui.screens.personas import PersonasScreen

    return PersonasScreen()


class Refused(Exception):
    """Raised by ``attempt(..., raise_refusal=True)``: the message was already shown."""


def refusal_text(exc: BaseException) -> str:
    """What to tell the user about an exception from a use case."""
    from workbench.domain.errors import DomainError

    if isinstance(exc, DomainError):
        return exc.message
    try:
        from pydantic import ValidationError
    except ImportError:  # pragma: no cover
        ValidationError = ()  # type: ignore[assignment,misc]  # noqa: N806
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__")
            msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
            parts.append(f"{loc}: {msg}" if loc else msg)
        return "; ".join(parts) or "Invalid input"
    return f"Unexpected error: {type(exc).__name__}: {exc}"


class WorkbenchApp(App[None]):
    """Review Workbench in the terminal."""

    TITLE = "Review Workbench"
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses elsewhere keep the look
    BINDINGS: ClassVar[list[BindingType]] = keys.APP
    COMMANDS = App.COMMANDS | {WorkbenchCommands}
    MODES: ClassVar[dict[str, Callable[[], Screen]]] = {  # type: ignore[assignment]
        "inbox": _inbox,
        "feedback": _feedback,
        "tests": _tests,
        "personas": _personas,
    }
    HELP_SECTION = "Global"

    def __init__(
        self,
        wb: Workbench,
        principal: Principal | None = None,
        *,
        watch: bool = True,
        keymap: keys.Keymap | None = None,
        initial_mode: str = "inbox",
        cursor_blink: bool = True,
    ) -> None:
        super().__init__()
        self.wb = wb
        self._principal = principal
        self.watch_enabled = watch
        self.keymap_info = keymap if keymap is not None else keys.load_keymap()
        self.initial_mode = initial_mode
        self.cursor_blink = cursor_blink
        self.store_changes = 0
        self.notices: list[tuple[str, str]] = []

    # -- shared state ----------------------------------------------------------------------
    @property
    def principal(self) -> Principal:
        if self._principal is None:
            from workbench.services.local import local_user

            self._principal = local_user(self.wb)
        return self._principal

    def notify(self, message: str, *, title: str = "", severity: str = "information", timeout: float | None = None,
               markup: bool = False) -> None:
        """Show a notification, and keep it in ``notices`` (what the user was told, newest last)."""
        self.notices.append((severity, message))
        del self.notices[:-200]
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)  # type: ignore[arg-type]

    def now(self) -> int:
        """The Workbench clock (a test injects a fixed one)."""
        return self.wb.clock()

    def attempt(self, fn: Callable[..., Any], *args: Any, quiet: bool = False, **kwargs: Any) -> tuple[bool, Any]:
        """Run a use case; a refusal becomes an error notification. Returns (ok, result or reason)."""
        try:
            return True, fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - nothing a use case raises may crash the app
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
        self.switch_mode(self.initial_mode)
        if self.watch_enabled:
            self.watch_store()

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
        if not self.cursor_blink and hasattr(event.widget, "cursor_blink"):
            event.widget.cursor_blink = False  # type: ignore[attr-defined]

    def on_store_changed(self, message: StoreChanged) -> None:
        # Every open screen of every mode refreshes; the hidden ones are cheap (one window).
        seen: set[int] = set()
        for stack in self._screen_stacks.values():
            for screen in stack:
                if id(screen) not in seen and hasattr(screen, "refresh_data"):
                    seen.add(id(screen))
                    screen.post_message(StoreChanged())

    # -- actions ---------------------------------------------------------------------------
    def action_go(self, mode: str) -> None:
        if isinstance(self.screen, Screen) and self.screen.is_modal:
            return
        self.switch_mode(mode)

    def action_help(self) -> None:
        from workbench.tui.screens.help import HelpScreen

        if self.screen.is_modal:
            return
        self.push_screen(HelpScreen(self.screen))

    def action_reload(self) -> None:
        self.post_message(StoreChanged())


def fill_demo_if_empty(wb: Workbench) -> bool:
    """Demo data when the store has nothing to triage yet (what `workbench` alone opens on)."""
    from workbench.services import inbox
    from workbench.services.demo import load_demo
    from workbench.services.local import local_user

    principal = local_user(wb)
    if inbox.count(wb, principal, inbox.InboxFilter(status=inbox.ALL)) == 0:
        return bool(load_demo(wb).get("loaded"))
    return False
