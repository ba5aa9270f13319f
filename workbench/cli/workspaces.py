"""``workbench workspaces``: every workspace of the store, local and replicas, by name, with counts and ids.

What the TUI's switcher (``W``) lists, for scripts and for ``workbench mcp --workspace ID``;
the CLI's other commands act on the store's default workspace (marked here).
"""

from __future__ import annotations

import typer
from rich.console import Console

from workbench.cli.options import DataDir, JsonFlag, open_workbench
from workbench.cli.output import add_row, emit_json, listing, show_table, table
from workbench.services import workspaces
from workbench.services.local import NO_WORKSPACE

out = Console()


def workspaces_cmd(data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """List the local workspaces and each remote's replica (by the server's name), with counts."""
    wb = open_workbench(data_dir)
    views = workspaces.list_workspaces(wb)
    if as_json:
        emit_json(listing(v.to_public() for v in views))
        return
    if not views:
        # The words every command uses, each way to get one named; one line, which Rich would cut at 80 columns.
        typer.echo(f"{NO_WORKSPACE}.")
        return
    t = table("ID", "WORKSPACE", "WHERE", "HOLDS", "DEFAULT")
    for v in views:
        where = f"replica of {v.remote_url}" if v.remote else "local"
        add_row(t, v.id, v.label, where, v.counts_text, "yes" if v.is_default else "")
    # As the other listings fit a terminal: at 80 columns the counts wrapped over eight lines a
    # row. They give way first (--json has them), then the replica's URL is cut (its label names
    # the remote); the id and the name stay whole.
    show_table(t, out, shrink="WHERE", give_way=("HOLDS",))
