"""Open a page, preview or diff URL in the user's browser from the TUI (`o`), choosing first when there are several.

Only http(s) URLs without control characters are opened: a page URL comes from a visitor's
browser and could be anything.
The browser starts from a worker thread (``webbrowser`` may wait for it); with no graphical
session and no ``$BROWSER``, a console browser would fight Textual for the terminal, so the
URL is copied to the clipboard instead and the message says so.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from textual.screen import Screen

from workbench.domain.safe_text import terminal_safe
from workbench.tui import format as fmt


def _has_browser() -> bool:
    if os.environ.get("BROWSER") or sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_url(screen: Screen[Any], url: str) -> None:
    if not url.lower().startswith(("http://", "https://")):
        screen.notify(f"Not opened: only http(s) URLs are ({fmt.clean(url)[:80]})", severity="warning")
        return
    if terminal_safe(url) != url:  # not fmt.safe, which also takes emoji apart: "/❤️" is an address
        # Copied (no browser here) and pasted into a shell, an escape acts there: "\x1b[201~"
        # ends a bracketed paste early and the rest runs as typed. No real address holds one.
        screen.notify(f"Not opened: the URL holds control characters ({fmt.safe(url)[:80]})", severity="warning")
        return
    if not _has_browser():
        screen.app.copy_to_clipboard(url)
        screen.notify(f"No graphical browser here (set $BROWSER): copied {fmt.clean(url)}", timeout=8)
        return
    screen.notify(f"Opening {fmt.clean(url)}")
    screen.run_worker(lambda: _launch(url), thread=True, group="open-url")


def _launch(url: str) -> None:
    import webbrowser

    webbrowser.open(url)


def choose_and_open(screen: Screen[Any], choices: list[tuple[str, str]]) -> None:
    """``choices``: (label, url). None: a message; one: opened at once; several: a choice dialog first."""
    from workbench.tui.screens.forms import ChoiceDialog

    if not choices:
        screen.notify("Nothing to open here", severity="warning")
        return
    if len(choices) == 1:
        open_url(screen, choices[0][1])
        return
    options = [(f"{fmt.esc(label)}  [dim]{fmt.esc(fmt.clean(url))}[/]", url) for label, url in choices]

    def chosen(url: Any) -> None:
        if url is not None:
            open_url(screen, url)

    screen.app.push_screen(ChoiceDialog("Open in the browser", options), chosen)
