"""Options shared by every command: where the data directory is, and how to open it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from workbench.cli.entry import default_data_dir  # defined there: the TUI path must not load Typer
from workbench.services.context import Workbench

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="WORKBENCH_DATA_DIR",
        help="Data directory holding the SQLite store and uploads [default: the platform's user data dir]",
        show_default=False,
        file_okay=False,
    ),
]

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text")]


def open_workbench(data_dir: Path | None) -> Workbench:
    path = data_dir or default_data_dir()
    try:
        return Workbench.open(str(path))
    except OSError as exc:
        raise typer.BadParameter(f"cannot use data directory {path}: {exc}", param_hint="--data-dir") from exc
