"""``workbench admin migrate-store``: copy a SQLite store into PostgreSQL and verify it, or say what it would copy."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from workbench.cli.options import JsonFlag, given_dir
from workbench.cli.output import cell, emit_json, fail, show_table
from workbench.cli.progress import Count

if TYPE_CHECKING:
    from workbench.services.migrate_store import MigrateReport

err = Console(stderr=True)
out = Console()

# Exit codes: 0 every table verified; 1 a table did not; 2 nothing was done (refused or unreachable).
MISMATCH, REFUSED = 1, 2


class _Line:
    """One rich progress line: the table being copied or read, its rows so far."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: Any = None

    def __call__(self, what: str, done: int, total: int | None) -> None:
        if self.task is None:
            self.task = self.progress.add_task(what, total=total)
        self.progress.update(self.task, description=what, completed=done, total=total)


def progress_columns() -> tuple[ProgressColumn, ...]:
    """rows/total where the count is known (copy, read, the blobs' verify), the count alone where not (a table's verify)."""
    return SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), Count(), TimeElapsedColumn()


def migrate_store(
    source: Annotated[Path, typer.Option("--from", help="The data directory of the SQLite store to copy", parser=given_dir, metavar="<dir>",
                                         show_default=False)],
    target: Annotated[str, typer.Option(
        "--to", envvar="WORKBENCH_DATABASE_URL", show_default=False,
        help="The PostgreSQL database to copy into (postgresql://user@host/db); with a password, give it in WORKBENCH_DATABASE_URL, "
        "not here, where `ps` shows it")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be copied (tables, rows, blobs) and write nothing")] = False,
    verify_only: Annotated[bool, typer.Option("--verify", help="Only compare an earlier copy with its source, table by table")] = False,
    replace: Annotated[bool, typer.Option("--replace", help="Empty a target that already holds data first (one transaction with the copy)")] = False,
    batch_rows: Annotated[int, typer.Option(help="Rows read from SQLite per batch", min=1)] = 5_000,
    as_json: JsonFlag = False,
) -> None:
    """Copy a SQLite store into a PostgreSQL database (ids, rowids, uploads), then verify counts and checksums per table."""
    import psycopg

    from storage.pg_conn import cause, redact
    from workbench.services import migrate_store as svc

    if not target.startswith(("postgresql://", "postgres://")):
        raise typer.BadParameter("expected a postgresql:// URL", param_hint="--to")
    if dry_run and verify_only:
        raise typer.BadParameter("--dry-run and --verify are two different runs: choose one", param_hint="--verify")
    try:
        if dry_run:
            report = svc.dry_run(source, target)
        elif as_json or not err.is_terminal:
            report = svc.verify(source, target) if verify_only else svc.copy(source, target, replace=replace, batch_rows=batch_rows)
        else:
            columns = progress_columns()
            with Progress(*columns, console=err, transient=True) as progress:
                line = _Line(progress)
                if verify_only:
                    report = svc.verify(source, target, line)
                else:
                    report = svc.copy(source, target, replace=replace, batch_rows=batch_rows, progress=line)
    except svc.MigrateError as exc:
        fail(str(exc), REFUSED, error=exc.code)
    except psycopg.Error as exc:
        # A database down or refusing the login: the store cannot be used, as `--database` says it
        # everywhere else, not a usage error (the command line was right).
        fail(f"PostgreSQL at {redact(target)}: {cause(exc, target)}", REFUSED, error="store_unusable")
    if as_json:
        emit_json(report.as_json())
    else:
        _print(report)
    if not report.ok:
        raise typer.Exit(MISMATCH)


def _print(report: MigrateReport) -> None:
    t = Table(box=None, header_style="bold", pad_edge=False)
    dry = report.mode == "dry-run"
    for col in ("TABLE", "ROWS", *(() if dry else ("TARGET ROWS", "CHECKSUM", "VERIFIED"))):
        t.add_column(col, justify="right" if "ROWS" in col else "left")
    for row in report.tables:
        if dry:
            t.add_row(row.name, f"{row.rows:,}")
            continue
        verdict = "[green]ok[/]" if row.ok else "[red]MISMATCH[/]"
        t.add_row(row.name, f"{row.rows:,}", f"{row.target_rows:,}", (row.checksum or "")[:16], verdict)
    show_table(t, out)
    out.print("From: ", cell(report.source))
    out.print("To:   ", cell(report.target))
    if dry:
        rows = sum(r.rows for r in report.tables if r.name != "blobs")
        out.print(f"Would copy {rows:,} rows in {len(report.tables) - 1} tables and {report.tables[-1].rows:,} blobs "
                  f"({report.blob_bytes:,} bytes). Nothing was written.")
        out.print("Target: ", cell(report.target_note))
    elif report.ok:
        what = "Copied and verified" if report.mode == "copy" else "Verified"
        out.print(f"[green]{what}[/]: {len(report.tables)} tables, counts and checksums agree.")
    else:
        out.print(f"[red]Mismatch[/] in {', '.join(report.mismatched)}: the target differs from the source there.")


def register(admin: typer.Typer) -> None:
    admin.command("migrate-store")(migrate_store)
