"""``workbench admin sweep-uploads``: remove the uploads a killed writer left (files, or a PostgreSQL store's blobs), and say what was removed."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from workbench.cli.options import Database, DataDir, JsonFlag, open_workbench
from workbench.cli.output import echo, emit_json

err = Console(stderr=True)


def sweep_uploads(
    data_dir: DataDir = None,
    database: Database = None,
    older_than: Annotated[int, typer.Option(
        "--older-than", metavar="<minutes>", min=1,
        help="Only uploads untouched this long: a writer in another process writes its bytes before its row commits",
    )] = 60,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be removed, remove nothing")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Remove unfinished uploads (.part files) and evidence no row names, left by a killed process.

    On PostgreSQL (--database or WORKBENCH_DATABASE_URL), the blobs no upload row names.
    `workbench serve` does the same when it starts. Younger ones are left (and counted): they
    may be a write another process is finishing.
    """
    from storage import upload_sweep

    wb = open_workbench(data_dir, database)
    swept = upload_sweep.sweep(wb.store, older_than_s=older_than * 60, dry_run=dry_run)
    if as_json:
        emit_json({**swept.to_public(), "dry_run": dry_run})
        return
    # What was removed is the result, on stdout, as --json's is (`… | grep`, `> swept.txt` read it);
    # the uploads left for being young are a notice, on stderr.
    verb = "Would remove" if dry_run else "Removed"
    for key in swept.removed:
        echo(f"{verb.lower()} {key}")
    echo(f"{verb} {len(swept.removed)} leftover upload(s), {swept.freed_bytes:,} bytes.")
    if swept.too_young:
        err.print(f"Left {len(swept.too_young)} younger than {older_than} min: another process may still be writing them.", soft_wrap=True)


def register(admin: typer.Typer) -> None:
    admin.command("sweep-uploads")(sweep_uploads)
