"""What every Workbench screen shares: access to the app's Workbench and principal, and live refresh.

Also where screens find their own stylesheets: app.tcss holds only what the first screen needs,
so dialogs (``Dialog``) and detail panes (``DETAIL_CSS``) parse theirs when first shown.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen, ScreenResultType

from workbench.tui.messages import ActionRefused, ActionSucceeded, StoreChanged

if TYPE_CHECKING:
    from workbench.domain.roles import Principal
    from workbench.services.context import Workbench
    from workbench.tui.app import WorkbenchApp


DIALOG_CSS = Path(__file__).with_name("dialogs.tcss")
DETAIL_CSS = Path(__file__).with_name("detail.tcss")


def workbench_app(node: DOMNode) -> WorkbenchApp:
    """The running app, which every screen of ours is pushed on (anything else is a bug: it raises)."""
    from workbench.tui.app import WorkbenchApp  # here: the app module imports the screens

    app = node.app
    if not isinstance(app, WorkbenchApp):
        raise TypeError(f"{type(node).__name__} runs inside a WorkbenchApp, not a {type(app).__name__}")
    return app


class Dialog(ModalScreen[ScreenResultType]):
    """A modal dialog with the shared dialog look."""

    CSS_PATH: ClassVar[Any] = DIALOG_CSS

    def hint_text(self, template: str) -> str:
        """``template`` with each ``{binding.id}`` replaced by the keys bound to it now.

        "{form.save}: save" reads "^s: save", or the user's own key after a keys.toml rebind.
        """
        from textual.binding import Binding

        from workbench.tui import keys

        overrides = getattr(getattr(self.app, "keymap_info", None), "bindings", None)

        def keys_text(match: re.Match[str]) -> str:
            try:
                bound = keys.keys_of(match.group(1), overrides)
            except KeyError:
                return match.group(0)
            return " / ".join(self.app.get_key_display(Binding(key, "")) for key in bound)

        return re.sub(r"\{([a-z_]+\.[a-z_]+)\}", keys_text, template)


class WorkbenchScreen(Screen):
    """A screen over the store. Subclasses implement ``refresh_data`` (keep selection and scroll)."""

    @property
    def wb_app(self) -> WorkbenchApp:
        return workbench_app(self)

    @property
    def wb(self) -> Workbench:
        return self.wb_app.wb

    @property
    def principal(self) -> Principal:
        return self.wb_app.principal

    def now(self) -> int:
        return self.wb_app.now()

    def attempt(self, fn: Any, *args: Any, **kwargs: Any) -> tuple[bool, Any]:
        return self.wb_app.attempt(fn, *args, **kwargs)

    def write(self, fn: Callable[..., Any], *args: Any, done: Callable[[Any], None] | None = None,
              succeeded: str = "", **kwargs: Any) -> None:
        """Run a use case that writes off the UI thread (``Writes``); then ``done(result)``, or
        ``succeeded`` shown and the screen refreshed. A refusal is shown and the screen refreshed."""
        from workbench.tui.writes import submit_write

        submit_write(self, fn, *args, done=done, succeeded=succeeded, **kwargs)

    def refresh_data(self) -> None:  # pragma: no cover - overridden
        """Re-read what is on screen from the store."""

    def on_store_changed(self, message: StoreChanged) -> None:
        message.stop()
        if self.is_mounted:
            self.refresh_data()

    def on_action_succeeded(self, message: ActionSucceeded) -> None:
        message.stop()
        if message.text:
            self.notify(message.text)
        self.refresh_data()

    def on_action_refused(self, message: ActionRefused) -> None:
        message.stop()
        self.notify(message.reason, title=message.title, severity="error", timeout=8, markup=False)
        self.refresh_data()
