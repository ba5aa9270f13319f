"""Options shared by every command: where the data directory is, how to open it, and what a
store that cannot be opened or written says."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from storage.db import StoreUnusable, StoreWriteFailed
from workbench.cli.entry import default_data_dir  # defined there: the TUI path must not load Typer
from workbench.cli.output import fail
from workbench.services.context import Workbench

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="WORKBENCH_DATA_DIR",
        help="Data directory holding the SQLite store and uploads",
        show_default="the platform's user data dir",
        file_okay=False,
    ),
]

Database = Annotated[
    str | None,
    typer.Option(
        "--database",
        envvar="WORKBENCH_DATABASE_URL",
        help="A team server's PostgreSQL database (postgresql://user@host/db) instead of the data directory's SQLite store",
        show_default=False,
    ),
]

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text")]


def open_workbench(data_dir: Path | None, database: str | None = None) -> Workbench:
    """The store of ``data_dir`` (or of ``database``, a PostgreSQL URL), or one ``error:`` line and exit 2."""
    if data_dir is None and os.environ.get("WORKBENCH_DATA_DIR") == "":
        # Click reads an empty variable as unset: the default directory would be used in silence.
        fail("WORKBENCH_DATA_DIR is set but empty: name a directory, or unset it for the default one", 2)
    path = data_dir or default_data_dir()
    if database is not None:
        return _open_database(path, database)
    try:
        return Workbench.open(str(path))
    except StoreUnusable as exc:
        fail(str(exc), 2)
    except OSError as exc:
        fail(f"cannot open the store in {path}: {exc.strerror or exc}", 2)


class StoreErrors(TyperGroup):
    """The ``workbench`` command group: a write the disk refuses (full, an I/O error), in any
    command and at any step, is one ``error:`` line naming the data directory, and exit 2. The
    store rolled that write back (storage.db ``Store.write``), so the line can say what is left."""

    def invoke(self, ctx: Any) -> Any:  # Click's Context, which Typer 0.29 vendors privately
        try:
            return super().invoke(ctx)
        except StoreWriteFailed as exc:
            fail(str(exc), 2)


def _open_database(path: Path, database: str) -> Workbench:
    if not database.startswith(("postgresql://", "postgres://")):
        raise typer.BadParameter("expected a postgresql:// URL", param_hint="--database")
    import psycopg

    from storage.pg import redact

    try:
        return Workbench.open(str(path), database=database)
    except psycopg.Error as exc:
        # The driver's message may quote the URL: the password is never printed.
        reason = str(exc).replace(database, redact(database)).strip().splitlines()[0]
        raise typer.BadParameter(f"cannot use database {redact(database)}: {reason}", param_hint="--database") from exc
