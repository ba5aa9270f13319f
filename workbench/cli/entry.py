"""The ``workbench`` executable: the TUI straight away when no sub-command is given, else the Typer app.

``workbench`` and ``workbench --data-dir DIR`` are how people open the TUI, and loading Typer with
every sub-command's services (pydantic, sqlite-utils, the sync engine) would more than double the
time to the first painted inbox. Those two forms are recognised here; anything else, including
``--help`` and every error, goes to ``workbench.cli.main``, which parses and reports it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workbench.services.context import Workbench


# Set by the completion scripts `workbench --install-completion` installs (Typer's name for it).
COMPLETION_VAR = "_WORKBENCH_COMPLETE"


def tui_data_dir(args: list[str]) -> Path | None:
    """The data directory when ``args`` only open the TUI, else None (let Typer handle them)."""
    if COMPLETION_VAR in os.environ:
        # A shell asking Typer's completion for the words typed (passed in the environment, none
        # as arguments): `workbench` alone opened the TUI inside the shell's completion instead.
        return None
    if not args:
        explicit = os.environ.get("WORKBENCH_DATA_DIR")
        if explicit == "":
            return None  # set but empty: the CLI says so rather than use the default directory
    elif len(args) == 2 and args[0] == "--data-dir" and args[1] and not args[1].startswith("-"):
        # An empty one is Typer's to refuse (options.given_path): read here as none, it opened the
        # TUI over the default directory, not the one the caller's variable was meant to name.
        explicit = args[1]
    elif len(args) == 1 and args[0].startswith("--data-dir=") and len(args[0]) > len("--data-dir="):
        explicit = args[0].removeprefix("--data-dir=")
    else:
        return None
    return Path(explicit) if explicit else default_data_dir()


def default_data_dir() -> Path:
    """The platform's user data directory (e.g. ~/.local/share/workbench on Linux)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("workbench", appauthor=False))


def open_store(data_dir: Path) -> Workbench:
    """The Workbench over ``data_dir``. OSError: the directory cannot hold a store."""
    from workbench.services.context import Workbench

    return Workbench.open(str(data_dir))


def open_tui(wb: Workbench, *, demo_if_empty: bool = True) -> None:
    from workbench.tui.app import WorkbenchApp, fill_demo_if_empty

    if demo_if_empty:
        fill_demo_if_empty(wb)
    WorkbenchApp(wb).run()


def run() -> None:
    from storage.failures import StoreWriteFailed

    data_dir = tui_data_dir(sys.argv[1:])
    if data_dir is not None:
        try:
            wb = open_store(data_dir)
        except (OSError, StoreWriteFailed):
            pass  # Typer reports an unusable data directory (or a full disk) with its usual message
        else:
            try:
                open_tui(wb)
            except StoreWriteFailed as exc:  # filling an empty store with demo data, on a full disk
                from workbench.domain.safe_text import terminal_safe

                sys.stderr.write(terminal_safe(f"error: {exc}") + "\n")  # the CLI's fail(), without loading Typer
                raise SystemExit(2) from None
            return
    from workbench.cli.main import run as run_cli

    run_cli()
