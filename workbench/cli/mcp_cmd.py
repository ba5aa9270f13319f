"""``workbench mcp``: serve the agent tools over stdio (what ``claude mcp add`` launches)."""

from __future__ import annotations

from typing import Annotated

import typer

from workbench.cli.annotations import refusals
from workbench.cli.options import Database, DataDir, open_workbench
from workbench.services.local import local_user


def mcp(
    data_dir: DataDir = None,
    database: Database = None,
    workspace: Annotated[str | None, typer.Option(help="Workspace id [default: the store's own]")] = None,
) -> None:
    """Serve the MCP tools over stdio against the local store, as its local user.

    Claude Code: claude mcp add workbench -- workbench mcp --data-dir DIR
    """
    from workbench.mcp.stdio import serve_stdio  # the MCP SDK loads only for this command

    wb = open_workbench(data_dir, database)
    with refusals():
        principal = local_user(wb, workspace)
    serve_stdio(wb, principal)
